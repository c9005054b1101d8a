// Every slice of every keyframe reaches a WHEP viewer. The publisher's x264
// cuts each picture into four slices (threads=4, tune=zerolatency) and its
// payloader repeats SPS/PPS before each slice, as GStreamer publishers do; a
// real webrtcbin viewer, served by either WHEP engine, must get each keyframe
// as one access unit with all four slices, parameter sets in front, and
// decode it.

#include <gtest/gtest.h>

#include <fstream>

#include "media/whip_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/on_air.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/whep_client.h"

namespace jobcast::test {
namespace {

using namespace std::chrono_literals;

// Both ways a node serves WHEP viewers: a webrtcbin each, or the egress engine.
class EgressSlices : public ::testing::TestWithParam<std::string> {};

TEST_P(EgressSlices, ViewerReceivesAndDecodesEverySliceOfEachKeyframe) {
  RedisServer redis;
  redis.start();
  seedLiveRoom(redis);
  TempDir dir{"jobcast-egress-slices"};
  std::string config = dir.path() + "/jobcast.yaml";
  std::ofstream(config) << "whep:\n  ice_addresses: \"127.0.0.1\"\n  engine: " << GetParam()
                        << "\n";
  Jobcastd node({.args = {"--config", config}, .redis = redis.address()});
  node.start();

  constexpr int kSlices = 4;
  media::WhipClient publisher(
      {.width = 640, .height = 360, .key_int_max = 15, .encoder_threads = kSlices});
  ASSERT_EQ(goOnAir(publisher, node.url("/whip/r1")), "");

  WhepClient viewer;
  ASSERT_EQ(viewer.connect(node.url("/whep/r1")), 201);
  ASSERT_TRUE(eventually([&] { return viewer.keyframes().size() >= 4; }, 20s))
      << "keyframes " << viewer.keyframes().size();
  for (const auto& keyframe : viewer.keyframes()) {
    EXPECT_EQ(keyframe.slices, kSlices) << keyframe.bytes << " bytes";
    EXPECT_TRUE(keyframe.starts_at_top);
    EXPECT_TRUE(keyframe.ordered);
  }
  ASSERT_TRUE(eventually([&] { return viewer.videoFrames() >= 30; }, 10s));
  auto frame = viewer.lastFrame();
  EXPECT_EQ(frame.width, 640);
  EXPECT_EQ(frame.height, 360);
}

INSTANTIATE_TEST_SUITE_P(Engines, EgressSlices, ::testing::Values("webrtcbin", "udp"));

}  // namespace
}  // namespace jobcast::test
