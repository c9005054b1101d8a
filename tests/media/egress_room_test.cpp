// WHEP through the egress engine (whep.engine: udp), end to end through
// jobcastd: an in-process WHIP publisher goes on air, a real webrtcbin WHEP
// viewer is answered ICE-lite, completes DTLS with the engine and decodes
// the programme from its one UDP socket, is removed by DELETE, and a second
// viewer is released when the publisher leaves.

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

const char kSecret[] =
    "test-secret-0123456789abcdef-0123456789";  // the fixture's JOBCAST_JWT_SECRET

std::string employerToken() {
  Claims c;
  c.sub = "emp1";
  c.role = Role::Employer;
  c.rooms = {"r1"};
  c.iat = static_cast<int64_t>(std::time(nullptr));
  c.exp = c.iat + 3600;
  return Jwt(kSecret).sign(c);
}

TEST(EgressRoom, ViewerWatchesThroughTheUdpEngine) {
  RedisServer redis;
  redis.start();
  redis.command({"HSET", "jc:{r:r1}:room", "id", "r1", "status", "live", "employer_id", "emp1"});
  TempDir dir{"jobcast-whep-room"};
  std::string config = dir.path() + "/jobcast.yaml";
  std::ofstream(config) << "media:\n  publisher_timeout_ms: 1500\n"
                           "whep:\n  ice_addresses: \"127.0.0.1\"\n  engine: udp\n";
  Jobcastd node({.args = {"--config", config}, .redis = redis.address()});
  node.start();

  media::WhipClient publisher({.width = 640, .height = 360, .tone_hz = 440});
  auto offer = publisher.createOffer();
  ASSERT_TRUE(offer) << offer.error().message;
  HttpRequest post{.method = "POST", .url = node.url("/whip/r1"), .body = offer.value()};
  post.headers = {{"Content-Type", "application/sdp"},
                  {"Authorization", "Bearer " + employerToken()}};
  post.timeout_ms = 30000;
  auto published = http(post);
  ASSERT_EQ(published.status, 201) << published.body;
  ASSERT_TRUE(publisher.setAnswer(published.body));
  publisher.resource = published.header("location");
  ASSERT_TRUE(publisher.waitConnected(20s));

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
  HttpRequest del{.method = "DELETE", .url = node.url(publisher.resource)};
  del.headers = {{"Authorization", "Bearer " + employerToken()}};
  EXPECT_LT(http(del).status, 300);
  EXPECT_TRUE(eventually(
      [&] {
        return httpGet(node.url("/metrics")).body.find("jobcast_whep_viewers 0") !=
               std::string::npos;
      },
      10s));
}

}  // namespace
}  // namespace jobcast::test
