// WHEP through the egress engine (whep.engine: udp), end to end through
// jobcastd: an in-process WHIP publisher goes on air, a real webrtcbin WHEP
// viewer is answered ICE-lite, completes DTLS with the engine and decodes
// the programme from its one UDP socket, is removed by DELETE, and a second
// viewer is released when the publisher leaves.

#include <gtest/gtest.h>

#include <fstream>

#include "media/whip_client.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/on_air.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/whep_client.h"

namespace jobcast::test {
namespace {

using namespace std::chrono_literals;

TEST(EgressRoom, ViewerWatchesThroughTheUdpEngine) {
  RedisServer redis;
  redis.start();
  seedLiveRoom(redis);
  TempDir dir{"jobcast-whep-room"};
  std::string config = dir.path() + "/jobcast.yaml";
  std::ofstream(config) << "media:\n  publisher_timeout_ms: 1500\n"
                           "whep:\n  ice_addresses: \"127.0.0.1\"\n  engine: udp\n";
  Jobcastd node({.args = {"--config", config}, .redis = redis.address()});
  node.start();

  media::WhipClient publisher({.width = 640, .height = 360, .tone_hz = 440});
  ASSERT_EQ(goOnAir(publisher, node.url("/whip/r1")), "");

  WhepClient viewer;
  std::string location;
  ASSERT_EQ(viewer.connect(node.url("/whep/r1"), &location), 201);
  EXPECT_NE(node.log().find("\"engine\":\"udp\""), std::string::npos);
  ASSERT_TRUE(eventually([&] { return viewer.videoFrames() >= 15; }, 20s))
      << "frames " << viewer.videoFrames();
  ASSERT_TRUE(eventually([&] { return viewer.audioBuffers() >= 10; }, 10s));
  auto frame = viewer.lastFrame();
  EXPECT_EQ(frame.width, 640);  // the programme's size: the publisher's, passed through
  EXPECT_EQ(frame.height, 360);
  EXPECT_TRUE(eventually([&] { return viewer.audioRms() > 500; }, 5s)) << viewer.audioRms();
  EXPECT_NE(httpGet(node.url("/metrics")).body.find("jobcast_whep_viewers 1"), std::string::npos);

  // DELETE ends this viewer; a second one is released with the programme.
  HttpRequest end_viewer{.method = "DELETE", .url = node.url(location)};
  EXPECT_LT(http(end_viewer).status, 300);
  EXPECT_NE(httpGet(node.url("/metrics")).body.find("jobcast_whep_viewers 0"), std::string::npos);
  WhepClient second;
  ASSERT_EQ(second.connect(node.url("/whep/r1")), 201);
  ASSERT_TRUE(eventually([&] { return second.videoFrames() >= 5; }, 20s));

  // The publisher leaves (WHIP DELETE): the stage goes idle, viewers are released.
  EXPECT_LT(goOffAir(node, publisher), 300);
  EXPECT_TRUE(whepViewersBecome(node, 0));
}

}  // namespace
}  // namespace jobcast::test
