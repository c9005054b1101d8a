// The low-latency cutter on a synthetic programme at 30 frames/s with a
// keyframe every second: where parts and segments begin, which part carries
// an initialization segment, and where the sound goes.

#include "media/cmaf/ll_cutter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace jobcast::media::cmaf {
namespace {

constexpr int64_t kMs = 1000000;
constexpr int64_t kFrameNs = 1000000000 / 30;

std::string nal(uint8_t header, size_t size, char fill) {
  return std::string("\0\0\0\1", 4) + static_cast<char>(header) + std::string(size, fill);
}

// An access unit in Annex B; a keyframe carries its parameter sets.
std::string accessUnit(bool keyframe, char sps_tag = 'a') {
  if (!keyframe)
    return nal(0x41, 200, 'p');
  return nal(0x67, 8, sps_tag) + nal(0x68, 3, 'q') + nal(0x65, 2000, 'i');
}

AudioConfig aac() {
  AudioConfig a;
  a.asc = std::string("\x11\x90", 2);  // AAC-LC, 48 kHz, stereo
  a.sample_rate = 48000;
  a.channels = 2;
  return a;
}

struct Feed {
  LlCutter cutter{250 * kMs, 1000 * kMs};
  std::vector<Part> parts;
  int64_t audio_ns = 0;

  // Frames [from, to) with their sound, keyframes every 30 frames.
  void run(int from, int to, char sps_tag = 'a', int keyframe_every = 30) {
    for (int i = from; i < to; ++i) {
      int64_t t = i * kFrameNs;
      while (audio_ns < t + kFrameNs) {
        cutter.pushAudio(std::string(180, 'a'), audio_ns, aac());
        audio_ns += 1024 * 1000000000LL / 48000;
      }
      bool key = i % keyframe_every == 0;
      if (auto p = cutter.pushVideo(accessUnit(key, sps_tag), t, t, key))
        parts.push_back(std::move(*p));
    }
  }
};

TEST(LlCutter, PartsStayWithinTheTargetAndSegmentsBeginAtKeyframes) {
  Feed f;
  f.run(0, 91);  // three seconds and the first frame of the fourth
  ASSERT_FALSE(f.parts.empty());
  EXPECT_TRUE(f.parts[0].init) << "the first part brings the initialization segment";
  EXPECT_TRUE(f.parts[0].segment_start);
  EXPECT_TRUE(f.parts[0].independent);
  int segments = 0;
  double in_segment = 0;
  for (size_t i = 0; i < f.parts.size(); ++i) {
    const Part& p = f.parts[i];
    EXPECT_LE(p.duration, 0.25 + 1e-9) << "part " << i;
    EXPECT_GT(p.duration, 0.0);
    EXPECT_EQ(p.segment_start, p.independent) << "part " << i;
    if (i > 0) {
      EXPECT_FALSE(p.init) << "part " << i;
    }
    if (p.segment_start) {
      if (i > 0) {
        EXPECT_NEAR(in_segment, 1.0, 1e-4) << "a segment is one keyframe interval";
      }
      ++segments;
      in_segment = 0;
    }
    in_segment += p.duration;
    // moof first, then the mdat with the picture and the sound of the part.
    ASSERT_GT(p.bytes->size(), 16u);
    EXPECT_EQ(p.bytes->substr(4, 4), "moof");
    EXPECT_NE(p.bytes->find("mdat"), std::string::npos);
  }
  EXPECT_EQ(segments, 3);
}

TEST(LlCutter, SoundGoesWithThePictureOfTheSameTime) {
  Feed f;
  f.run(0, 31);
  ASSERT_GE(f.parts.size(), 2u);
  // Each part has two track fragments: picture and sound.
  for (const Part& p : f.parts) {
    size_t first = p.bytes->find("traf");
    ASSERT_NE(first, std::string::npos);
    EXPECT_NE(p.bytes->find("traf", first + 4), std::string::npos) << "no sound in a part";
  }
}

TEST(LlCutter, NewParameterSetsStartASegmentWithTheirOwnInitialization) {
  Feed f;
  f.run(0, 45);
  size_t before = f.parts.size();
  // A switch of source: a keyframe with other parameter sets at frame 45,
  // half a second into the second segment.
  f.run(45, 46, 'b', 1);
  f.run(46, 60, 'b', 1000);
  // The part closed by the switch's keyframe is the old source's; the next
  // one is the new source's.
  ASSERT_GT(f.parts.size(), before + 1);
  EXPECT_FALSE(f.parts[before].init);
  const Part& switched = f.parts[before + 1];
  EXPECT_TRUE(switched.segment_start);
  EXPECT_TRUE(switched.init);
  EXPECT_TRUE(switched.independent);
  EXPECT_NE(*switched.init, *f.parts[0].init);
}

TEST(LlCutter, WaitsForAKeyframeAndAsksForOneWhenASegmentRunsLong) {
  Feed f;
  // Frames before the first keyframe have nothing to decode from.
  for (int i = 0; i < 5; ++i)
    EXPECT_FALSE(f.cutter.pushVideo(accessUnit(false), i * kFrameNs, i * kFrameNs, false));
  f.audio_ns = 5 * kFrameNs;
  f.run(5, 6, 'a', 1);
  f.run(6, 40, 'a', 1000);  // no keyframe after the first
  EXPECT_TRUE(f.cutter.takeKeyframeRequest()) << "past the segment target without a keyframe";
  EXPECT_FALSE(f.cutter.takeKeyframeRequest()) << "asked once per segment";
  ASSERT_FALSE(f.parts.empty());
  for (const Part& p : f.parts)
    EXPECT_EQ(&p == &f.parts[0], p.segment_start);
}

TEST(LlCutter, SplitsAtTheNextKeyframeWhenTheSourceSwitches) {
  Feed f;
  f.run(0, 40);
  f.cutter.splitAtNextKeyframe();
  size_t before = f.parts.size();
  f.run(40, 50, 'a', 5);  // keyframes at 40 and 45: the split takes the first
  bool split = false;
  for (size_t i = before; i < f.parts.size(); ++i)
    split = split || f.parts[i].segment_start;
  EXPECT_TRUE(split);
}

}  // namespace
}  // namespace jobcast::media::cmaf
