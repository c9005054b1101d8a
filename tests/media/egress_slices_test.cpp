// Every slice of every keyframe reaches a WHEP viewer. The publisher's x264
// cuts each picture into four slices (threads=4, tune=zerolatency) and its
// payloader repeats SPS/PPS before each slice, as GStreamer publishers do; a
// real webrtcbin viewer, served by either WHEP engine, must get each keyframe
// as one access unit with all four slices, parameter sets in front, and
// decode it.

#include <gtest/gtest.h>

#include <ctime>
#include <fstream>

#include "core/jwt.h"
#include "media/whip_client.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/whep_client.h"

namespace jobcast::test {
namespace {

using namespace std::chrono_literals;

const char kSecret[] = "test-secret-0123456789abcdef-0123456789";

std::string employerToken() {
  Claims c;
  c.sub = "emp1";
  c.role = Role::Employer;
  c.rooms = {"r1"};
  c.iat = static_cast<int64_t>(std::time(nullptr));
  c.exp = c.iat + 3600;
  return Jwt(kSecret).sign(c);
}

// Both ways a node serves WHEP viewers: a webrtcbin each, or the egress engine.
class EgressSlices : public ::testing::TestWithParam<std::string> {};

TEST_P(EgressSlices, ViewerReceivesAndDecodesEverySliceOfEachKeyframe) {
  RedisServer redis;
  redis.start();
  redis.command({"HSET", "jc:{r:r1}:room", "id", "r1", "status", "live", "employer_id", "emp1"});
  TempDir dir{"jobcast-egress-slices"};
  std::string config = dir.path() + "/jobcast.yaml";
  std::ofstream(config) << "whep:\n  ice_addresses: \"127.0.0.1\"\n  engine: " << GetParam()
                        << "\n";
  Jobcastd node({.args = {"--config", config}, .redis = redis.address()});
  node.start();

  constexpr int kSlices = 4;
  media::WhipClient publisher(
      {.width = 640, .height = 360, .key_int_max = 15, .encoder_threads = kSlices});
  auto offer = publisher.createOffer();
  ASSERT_TRUE(offer) << offer.error().message;
  HttpRequest post{.method = "POST", .url = node.url("/whip/r1"), .body = offer.value()};
  post.headers = {{"Content-Type", "application/sdp"},
                  {"Authorization", "Bearer " + employerToken()}};
  post.timeout_ms = 30000;
  auto published = http(post);
  ASSERT_EQ(published.status, 201) << published.body;
  ASSERT_TRUE(publisher.setAnswer(published.body));
  ASSERT_TRUE(publisher.waitConnected(20s));

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
