// HlsStore: playlists from segments held in memory.

#include "media/hls_store.h"

#include <gtest/gtest.h>

namespace jobcast::media {
namespace {

std::shared_ptr<const std::string> bytes(size_t n) {
  return std::make_shared<const std::string>(n, 'x');
}

HlsStore ladder() {
  HlsStore store(1, 6, "ep");
  store.add({.name = "source", .width = 640, .height = 360, .video_codec = "avc1.42e01f"});
  store.add({.name = "audio", .has_video = false, .nominal_kbps = 64});
  return store;
}

TEST(HlsStore, InterpreterIsAVideoGroupOfTheSourceOnceItHasASegment) {
  HlsStore store = ladder();
  store.find("source")->add(1.0, bytes(1000), store.keep());
  store.find("audio")->add(1.0, bytes(100), store.keep());
  store.add({.name = "interpreter", .width = 1280, .height = 720, .alternate = true});
  // Not ready to list yet, but the master is complete without it.
  EXPECT_TRUE(store.ready());
  EXPECT_EQ(store.masterPlaylist().find("interpreter"), std::string::npos);

  store.find("interpreter")->add(1.0, bytes(2000), store.keep());
  std::string master = store.masterPlaylist();
  EXPECT_NE(master.find("#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID=\"programme\",NAME=\"Sign language\","
                        "DEFAULT=NO,AUTOSELECT=NO,URI=\"interpreter/index.m3u8\""),
            std::string::npos)
      << master;
  // The group hangs off the source variant only; the interpreter is no variant of its own.
  EXPECT_NE(master.find("CODECS=\"avc1.42e01f,mp4a.40.2\",VIDEO=\"programme\",SUBTITLES=\"subs\"\n"
                        "source/index.m3u8"),
            std::string::npos)
      << master;
  EXPECT_EQ(master.find("\ninterpreter/index.m3u8"), std::string::npos) << master;
  EXPECT_EQ(master.find("CODECS=\"mp4a.40.2\",VIDEO"), std::string::npos) << master;

  store.remove("interpreter");
  EXPECT_EQ(store.find("interpreter"), nullptr);
  EXPECT_EQ(store.masterPlaylist().find("programme"), std::string::npos);
}

TEST(HlsStore, ADiscontinuityCanSkipTheSegmentInProgress) {
  HlsStore store = ladder();
  HlsRendition& source = *store.find("source");
  source.add(1.0, bytes(10), store.keep());
  store.markDiscontinuity(1);
  source.add(1.0, bytes(10), store.keep());  // still the old source
  source.add(1.0, bytes(10), store.keep());  // the new one starts here
  source.add(1.0, bytes(10), store.keep());
  ASSERT_EQ(source.segments().size(), 4u);
  EXPECT_FALSE(source.segments()[1].discontinuity);
  EXPECT_TRUE(source.segments()[2].discontinuity);
  EXPECT_FALSE(source.segments()[3].discontinuity);
  std::string playlist = source.playlist(6, 1, "ep");
  EXPECT_NE(playlist.find("#EXT-X-DISCONTINUITY\n#EXTINF:1.000,\nep-2.ts"), std::string::npos)
      << playlist;
}

}  // namespace
}  // namespace jobcast::media
