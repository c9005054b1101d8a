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

// Packed audio segments are ".aac" in the playlist and by name; the master
// gives each variant its measured mean beside the peak.
TEST(HlsStore, PackedAudioRenditionAndAverageBandwidth) {
  HlsStore store(1, 6, "ep");
  store.add({.name = "source", .width = 640, .height = 360, .video_codec = "avc1.42e01f"});
  store.add({.name = "audio",
             .has_video = false,
             .nominal_kbps = 48,
             .container = RenditionInfo::Container::PackedAac});
  store.find("source")->add(1.0, bytes(100000), store.keep());
  store.find("audio")->add(1.0, bytes(6000), store.keep());
  store.find("audio")->add(1.0, bytes(7000), store.keep());
  auto playlist = store.mediaPlaylist("audio");
  ASSERT_TRUE(playlist);
  EXPECT_NE(playlist->find("\nep-1.aac\n"), std::string::npos) << *playlist;
  EXPECT_NE(store.segmentByName("audio", "ep-1.aac"), nullptr);
  EXPECT_EQ(store.segmentByName("audio", "ep-1.ts"), nullptr);
  EXPECT_EQ(store.segmentByName("source", "ep-0.aac"), nullptr);
  EXPECT_NE(store.segmentByName("source", "ep-0.ts"), nullptr);
  EXPECT_EQ(std::string(store.find("audio")->info().contentType()), "audio/aac");
  std::string master = store.masterPlaylist();
  // Peak 56,000 b/s; nominal 48,000 + 10% = 52,800; mean 52,000.
  EXPECT_NE(master.find("#EXT-X-STREAM-INF:BANDWIDTH=56000,AVERAGE-BANDWIDTH=52000,CODECS="
                        "\"mp4a.40.2\",SUBTITLES=\"subs\"\naudio/index.m3u8"),
            std::string::npos)
      << master;
  EXPECT_NE(master.find("BANDWIDTH=800000,AVERAGE-BANDWIDTH=800000,RESOLUTION=640x360"),
            std::string::npos)
      << master;
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

// The stage can go live before the first segment of the programme is out:
// that first segment still ends with the old source, the next one is marked.
TEST(HlsStore, ASwitchBeforeTheFirstSegmentIsStillMarked) {
  HlsStore store = ladder();
  HlsRendition& source = *store.find("source");
  store.markDiscontinuity(1);
  source.add(1.0, bytes(10), store.keep());  // the old source, then the switch
  source.add(1.0, bytes(10), store.keep());  // the new one starts here
  ASSERT_EQ(source.segments().size(), 2u);
  EXPECT_FALSE(source.segments()[0].discontinuity);
  EXPECT_TRUE(source.segments()[1].discontinuity);
  // A new publisher before anything is listed has nothing to break from.
  HlsStore fresh = ladder();
  fresh.markDiscontinuity();
  fresh.find("source")->add(1.0, bytes(10), fresh.keep());
  EXPECT_FALSE(fresh.find("source")->segments()[0].discontinuity);
}

}  // namespace
}  // namespace jobcast::media
