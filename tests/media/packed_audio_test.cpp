#include "media/packed_audio.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace jobcast::media {
namespace {

// The tag is what RFC 8216 section 3.4 and hls.js's ID3 reader expect:
// ID3v2.4, one PRIV frame owned by Apple's timestamp name, 8 bytes of PTS.
TEST(PackedAudio, TimestampTagIsTheSpecsId3Priv) {
  std::string tag = packedAudioTimestampTag(0x1ABCDEF01LL);
  ASSERT_EQ(tag.size(), 73u);
  EXPECT_EQ(tag.substr(0, 5), std::string("ID3\x04\x00", 5));
  EXPECT_EQ(tag.substr(6, 4), std::string("\x00\x00\x00\x3f", 4));  // 63, syncsafe
  EXPECT_EQ(tag.substr(10, 4), "PRIV");
  EXPECT_EQ(tag.substr(20, 44), "com.apple.streaming.transportStreamTimestamp");
  EXPECT_EQ(tag[64], '\0');
  EXPECT_EQ(tag.substr(65), std::string("\x00\x00\x00\x01\xAB\xCD\xEF\x01", 8));
  EXPECT_EQ(packedAudioTimestamp(tag + "\xff\xf1"), 0x1ABCDEF01LL);
  // 33 bits: a PTS past 2^33 wraps as in MPEG-TS.
  EXPECT_EQ(packedAudioTimestamp(packedAudioTimestampTag((1LL << 33) + 5)), 5);
  EXPECT_FALSE(packedAudioTimestamp("\xff\xf1 no tag"));
  EXPECT_FALSE(packedAudioTimestamp(tag.substr(0, 40)));
}

// Frames of 1024 samples at 48 kHz, cut on whole seconds of running time;
// each segment's tag carries its first frame's time on mpegtsmux's origin.
TEST(PackedAudio, CutsOnTargetBoundariesWithContinuousTimestamps) {
  PackedAudioCutter cutter(1);
  const int64_t frame_ns = 1024LL * 1000000000 / 48000;  // 21.33 ms
  std::vector<PackedSegment> out;
  const int64_t start = 400000000;  // the stream starts 0.4 s in
  for (int i = 0; i < 200; ++i) {
    auto closed = cutter.push(std::string(100, 'a'), start + i * frame_ns, frame_ns);
    if (closed)
      out.push_back(std::move(*closed));
  }
  if (auto rest = cutter.flush())
    out.push_back(std::move(*rest));
  ASSERT_GE(out.size(), 4u);
  // 0.4 s .. 1 s, then whole seconds.
  EXPECT_NEAR(out[0].seconds, 0.6, 0.03);
  EXPECT_NEAR(out[1].seconds, 1.0, 0.03);
  EXPECT_NEAR(out[2].seconds, 1.0, 0.03);
  size_t frames = 0;
  double next_pts = -1;
  for (const auto& s : out) {
    auto pts = packedAudioTimestamp(s.bytes);
    ASSERT_TRUE(pts);
    if (next_pts >= 0) {
      EXPECT_NEAR(static_cast<double>(*pts), next_pts, 1.0);  // no gap, no overlap
    }
    next_pts = static_cast<double>(*pts) + s.seconds * 90000.0;
    frames += (s.bytes.size() - 73) / 100;
  }
  EXPECT_EQ(frames, 200u);
  EXPECT_EQ(*packedAudioTimestamp(out[0].bytes), kTsPtsOrigin90k + start * 9 / 100000);
  EXPECT_FALSE(cutter.flush());
}

}  // namespace
}  // namespace jobcast::media
