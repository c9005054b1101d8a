// The HLS subtitle rendition and recording captions: which cues a segment
// carries, where they sit (X-TIMESTAMP-MAP against the segment's first PTS),
// and the playlists that tie them to the video segments.

#include "media/hls_subtitles.h"

#include <gtest/gtest.h>

#include "media/hls_store.h"

namespace jobcast::media {
namespace {

// One 188-byte TS packet starting a PES with the given PTS (90 kHz).
std::string pesPacket(int64_t pts, uint16_t pid = 0x100) {
  std::string p(188, '\xff');
  p[0] = 0x47;
  p[1] = static_cast<char>(0x40 | ((pid >> 8) & 0x1f));
  p[2] = static_cast<char>(pid & 0xff);
  p[3] = 0x10;  // payload only
  const unsigned char pes[] = {0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5};
  for (size_t i = 0; i < sizeof pes; ++i)
    p[4 + i] = static_cast<char>(pes[i]);
  p[13] = static_cast<char>(0x21 | ((pts >> 29) & 0x0e));
  p[14] = static_cast<char>((pts >> 22) & 0xff);
  p[15] = static_cast<char>(0x01 | ((pts >> 14) & 0xfe));
  p[16] = static_cast<char>((pts >> 7) & 0xff);
  p[17] = static_cast<char>(0x01 | ((pts << 1) & 0xfe));
  return p;
}

std::string patPacket() {
  std::string p(188, '\xff');
  p[0] = 0x47;
  p[1] = 0x40;
  p[2] = 0x00;
  p[3] = 0x10;
  p[4] = 0x00;  // pointer field, then a table (not a PES)
  p[5] = 0x00;
  return p;
}

TEST(HlsSubtitles, FirstPtsIsTheLowestPesTimestamp) {
  std::string ts = patPacket() + pesPacket(8'589'000'000) + pesPacket(8'588'990'000, 0x101);
  EXPECT_EQ(tsFirstPts(ts), 8'588'990'000);
  EXPECT_EQ(tsFirstPts(patPacket()), -1);
  EXPECT_EQ(tsFirstPts("not a transport stream"), -1);
}

TEST(HlsSubtitles, CuesLastUntilTheNextOrSevenSecondsAndCorrectionsKeepTheirPlace) {
  CaptionTrack track;
  track.set("c1", 10'000, "one");
  track.set("c2", 12'000, "two");
  track.set("c3", 30'000, "three");
  track.set("c1", 99'000, "ONE");  // a correction: same start, new text
  auto cues = track.cues();
  ASSERT_EQ(cues.size(), 3u);
  EXPECT_EQ(cues[0].text, "ONE");
  EXPECT_EQ(cues[0].start_ms, 10'000);
  EXPECT_EQ(cues[0].end_ms, 12'000);
  EXPECT_EQ(cues[1].end_ms, 19'000);
  EXPECT_EQ(cues[2].end_ms, 37'000);
  // Overlap with [from, to): touching ends do not count.
  auto some = track.overlapping(19'000, 30'000);
  EXPECT_TRUE(some.empty());
  some = track.overlapping(18'999, 30'001);
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0].id, "c2");
  EXPECT_EQ(some[1].id, "c3");
}

TEST(HlsSubtitles, SegmentMapsLocalZeroToTheSegmentsPtsAndPlacesCuesRelativeToIt) {
  CaptionTrack track;
  track.set("c1", 9'000, "before & <after>");
  track.set("c2", 11'500, "inside");
  track.set("c3", 13'000, "later");
  // A 2 s segment from 10 s on the node clock, first PTS 900000, in a
  // rendition whose first segment began at 5 s.
  std::string vtt = vttSegment(track.overlapping(10'000, 12'000), 10'000, 2.0, 900'000, 5'000);
  EXPECT_EQ(vtt.rfind("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:05.000\n", 0), 0u) << vtt;
  // c1 began before the segment and ends at c2's start; times count from 5 s.
  EXPECT_NE(vtt.find("c1\n00:00:04.000 --> 00:00:06.500\nbefore &amp; &lt;after&gt;\n"),
            std::string::npos)
      << vtt;
  EXPECT_NE(vtt.find("c2\n00:00:06.500 --> 00:00:08.000\ninside\n"), std::string::npos) << vtt;
  EXPECT_EQ(vtt.find("later"), std::string::npos) << vtt;
}

TEST(HlsSubtitles, TextCannotEndACueOrInjectTiming) {
  EXPECT_EQ(vttText("a\n\nb"), "a\nb");
  EXPECT_EQ(vttText("x --> y"), "x --&gt; y");
  EXPECT_EQ(vttText("\n"), " ");
  EXPECT_EQ(vttTime(3'723'004), "01:02:03.004");
  EXPECT_EQ(vttTime(-5), "00:00:00.000");
}

TEST(HlsSubtitles, RecordingFileIsTimedFromThePiecesStart) {
  CaptionTrack track;
  track.set("c1", 1'000, "too early");
  track.set("c2", 65'000, "in the piece");
  track.set("c3", 200'000, "after it");
  std::string vtt = vttFile(track.cues(), 60'000, 120'000);
  EXPECT_EQ(vtt.rfind("WEBVTT\n", 0), 0u);
  EXPECT_NE(vtt.find("00:00:05.000 --> 00:00:12.000\nin the piece"), std::string::npos) << vtt;
  EXPECT_EQ(vtt.find("too early"), std::string::npos);
  EXPECT_EQ(vtt.find("after it"), std::string::npos);
}

TEST(HlsSubtitles, SubtitlePlaylistMirrorsTheVideoSegmentsAndTheMasterOffersIt) {
  HlsStore store(2, 3, "ep");
  store.add({.name = "source", .width = 640, .height = 360, .video_codec = "avc1.42e01f"});
  store.add({.name = "audio", .has_video = false, .nominal_kbps = 64});
  auto seg = std::make_shared<const std::string>(1000, 'x');
  for (int i = 0; i < 5; ++i) {
    store.find("source")->add(2.0, seg, store.keep(), 100'000 + i * 2'000, 900'000 + i * 180'000);
    store.find("audio")->add(2.0, seg, store.keep());
  }
  store.setCaption("c1", 107'000, "hello");
  std::string master = store.masterPlaylist();
  EXPECT_NE(master.find("#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",LANGUAGE=\"zh\","),
            std::string::npos)
      << master;
  EXPECT_NE(master.find("DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI=\"subs.m3u8\""),
            std::string::npos);
  size_t variants = 0;
  for (size_t at = master.find("#EXT-X-STREAM-INF"); at != std::string::npos;
       at = master.find("#EXT-X-STREAM-INF", at + 1)) {
    ++variants;
    EXPECT_NE(master.substr(at, master.find('\n', at) - at).find("SUBTITLES=\"subs\""),
              std::string::npos);
  }
  EXPECT_EQ(variants, 2u);

  auto subs = store.subtitlePlaylist();
  ASSERT_TRUE(subs);
  std::string video = *store.mediaPlaylist("source");
  // Same target duration, media sequence and segment durations; .vtt URIs.
  std::string expected = video;
  for (size_t at = expected.find(".ts"); at != std::string::npos; at = expected.find(".ts", at))
    expected.replace(at, 3, ".vtt");
  for (size_t at = expected.find("ep-"); at != std::string::npos; at = expected.find("ep-", at + 8))
    expected.insert(at, "subs/");
  EXPECT_EQ(*subs, expected);
  EXPECT_NE(subs->find("#EXT-X-MEDIA-SEQUENCE:2\n"), std::string::npos) << *subs;

  // The segment at 106-108 s carries the caption (7 s from 107 s), its LOCAL
  // time (6 s after the first segment) mapped to its PTS.
  const HlsSegment* third = store.find("source")->segment(3);
  ASSERT_TRUE(third);
  std::string vtt = store.subtitleSegment(*third);
  EXPECT_NE(vtt.find("X-TIMESTAMP-MAP=MPEGTS:1440000,LOCAL:00:00:06.000"), std::string::npos)
      << vtt;
  EXPECT_NE(vtt.find("c1\n00:00:07.000 --> 00:00:14.000\nhello"), std::string::npos) << vtt;
  // The next one carries the same cue, written the same way.
  std::string next = store.subtitleSegment(*store.find("source")->segment(4));
  EXPECT_NE(next.find("LOCAL:00:00:08.000"), std::string::npos) << next;
  EXPECT_NE(next.find("c1\n00:00:07.000 --> 00:00:14.000\nhello"), std::string::npos) << next;
  std::string earlier = store.subtitleSegment(*store.find("source")->segment(2));
  EXPECT_EQ(earlier.find("hello"), std::string::npos);
}

}  // namespace
}  // namespace jobcast::media
