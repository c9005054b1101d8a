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

// A low-latency rendition fed four parts of 0.25 s per one-second segment.
HlsStore lowLatency(int segments, int parts_in_open) {
  HlsStore store(1, 6, "ep");
  store.add({.name = "source", .width = 640, .height = 360, .video_codec = "avc1.42e01f"});
  store.add({.name = "ll",
             .width = 640,
             .height = 360,
             .video_codec = "avc1.42e01f",
             .container = RenditionInfo::Container::Fmp4});
  HlsRendition& ll = *store.find("ll");
  auto init = std::make_shared<const std::string>("init");
  for (int s = 0; s <= segments; ++s) {
    int parts = s < segments ? 4 : parts_in_open;
    for (int p = 0; p < parts; ++p)
      ll.addPart(0.25, p == 0, p == 0, bytes(100), s == 0 && p == 0 ? init : nullptr, 30);
  }
  return store;
}

TEST(HlsStore, LowLatencyPlaylistListsRecentPartsAndHintsTheNext) {
  HlsStore store = lowLatency(5, 2);
  auto text = store.llPlaylist("ll", false);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("#EXT-X-VERSION:9\n"), std::string::npos);
  EXPECT_NE(text->find("#EXT-X-TARGETDURATION:1\n"), std::string::npos);
  EXPECT_NE(text->find("#EXT-X-PART-INF:PART-TARGET=0.250\n"), std::string::npos);
  EXPECT_NE(text->find("CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.750,CAN-SKIP-UNTIL=6.0"),
            std::string::npos);
  EXPECT_NE(text->find("#EXT-X-MAP:URI=\"ep-init-1.mp4\"\n#EXTINF:1.00000,\nep-0.m4s\n"),
            std::string::npos)
      << *text;
  // Parts of the last three closed segments (8..19) and of the open one
  // (20, 21); the next part is hinted.
  EXPECT_EQ(text->find("ep-p7.m4s"), std::string::npos) << *text;
  EXPECT_NE(text->find("#EXT-X-PART:DURATION=0.25000,URI=\"ep-p8.m4s\",INDEPENDENT=YES\n"),
            std::string::npos);
  EXPECT_NE(text->find("#EXT-X-PART:DURATION=0.25000,URI=\"ep-p9.m4s\"\n"), std::string::npos);
  EXPECT_NE(text->find("URI=\"ep-p21.m4s\"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"ep-p22.m4s\"\n"),
            std::string::npos)
      << *text;
  LlPosition at = store.find("ll")->position();
  EXPECT_TRUE(at.any);
  EXPECT_EQ(at.sequence, 5u);
  EXPECT_EQ(at.parts, 2u);
  EXPECT_EQ(at.next_part, 22u);
  // The segment is the concatenation of its parts.
  EXPECT_EQ(store.find("ll")->segments().back().bytes->size(), 400u);
  // The plain master and the subtitle timing ignore it; ll.m3u8 lists it alone.
  store.find("source")->add(1.0, bytes(1000), store.keep());
  EXPECT_EQ(store.masterPlaylist().find("ll/"), std::string::npos);
  EXPECT_EQ(store.subtitleTiming()->info().name, "source");
  auto master = store.llMasterPlaylist();
  ASSERT_TRUE(master);
  EXPECT_NE(master->find("RESOLUTION=640x360,CODECS=\"avc1.42e01f,mp4a.40.2\"\nll/index.m3u8\n"),
            std::string::npos)
      << *master;
}

TEST(HlsStore, LowLatencyDeltaUpdateSkipsWhatIsOlderThanCanSkipUntil) {
  HlsStore store = lowLatency(12, 1);
  auto full = store.llPlaylist("ll", false);
  auto delta = store.llPlaylist("ll", true);
  ASSERT_TRUE(full && delta);
  // 12 closed segments of 1 s and 0.25 s open: those ending more than 6 s
  // before the end are skipped (0..5).
  EXPECT_NE(delta->find("#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n"), std::string::npos) << *delta;
  EXPECT_EQ(delta->find("\nep-5.m4s\n"), std::string::npos);
  EXPECT_NE(delta->find("\nep-6.m4s\n"), std::string::npos);
  EXPECT_NE(full->find("\nep-0.m4s\n"), std::string::npos);
  EXPECT_EQ(full->find("EXT-X-SKIP"), std::string::npos);
}

TEST(HlsStore, LowLatencyNewPublisherIsADiscontinuityWithItsOwnInitialization) {
  HlsStore store = lowLatency(2, 2);
  HlsRendition& ll = *store.find("ll");
  store.markDiscontinuity();
  ll.addPart(0.25, true, true, bytes(100), std::make_shared<const std::string>("init2"), 30);
  auto text = store.llPlaylist("ll", false);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("ep-2.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"ep-init-2.mp4\"\n"),
            std::string::npos)
      << *text;
  EXPECT_EQ(ll.maps().size(), 2u);
  // A part before any initialization segment is not playable: dropped.
  HlsStore fresh(1, 6, "ep");
  fresh.add({.name = "ll", .container = RenditionInfo::Container::Fmp4});
  fresh.find("ll")->addPart(0.25, true, true, bytes(100), nullptr, 30);
  EXPECT_FALSE(fresh.llPlaylist("ll", false));
}

TEST(HlsStore, LowLatencyTargetDurationNeverGoesDown) {
  HlsStore store(1, 6, "ep");
  store.add({.name = "ll", .container = RenditionInfo::Container::Fmp4});
  HlsRendition& ll = *store.find("ll");
  auto init = std::make_shared<const std::string>("init");
  ll.addPart(2.0, true, true, bytes(10), init, 30);  // a late keyframe: a two-second segment
  for (int i = 0; i < 30; ++i)
    ll.addPart(1.0, true, true, bytes(10), nullptr, 30);
  auto text = store.llPlaylist("ll", false);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("#EXT-X-TARGETDURATION:2\n"), std::string::npos) << *text;
}

}  // namespace
}  // namespace jobcast::media
