// WHEP through the egress engine (whep.engine: udp), end to end through
// jobcastd: an in-process WHIP publisher goes on air, a real webrtcbin WHEP
// viewer is answered ICE-lite, completes DTLS with the engine and decodes
// the programme from its one UDP socket, is removed by DELETE, and a second
// viewer is released when the publisher leaves.

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

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

// The udp engine is the default: with no whep.engine in the config the
// node serves WHEP from its one UDP socket. The answer offers a host
// candidate for each configured public address, in order; the viewer
// reaches the engine on the one that works (192.0.2.7 is a documentation
// address nobody answers on), through two sender threads.
TEST(EgressRoom, TheUdpEngineIsTheDefaultAndOffersEveryPublicAddress) {
  RedisServer redis;
  redis.start();
  seedLiveRoom(redis);
  TempDir dir{"jobcast-whep-default"};
  std::string config = dir.path() + "/jobcast.yaml";
  std::ofstream(config) << "media:\n  publisher_timeout_ms: 1500\n"
                           "whep:\n  ice_addresses: \"127.0.0.1\"\n"
                           "  public_address: \"192.0.2.7, 127.0.0.1\"\n  send_threads: 2\n";
  Jobcastd node({.args = {"--config", config}, .redis = redis.address()});
  node.start();
  EXPECT_NE(node.log().find("\"engine\":\"udp\""), std::string::npos);
  EXPECT_NE(node.log().find("\"send_threads\":2"), std::string::npos);

  media::WhipClient publisher({.width = 320, .height = 180});
  ASSERT_EQ(goOnAir(publisher, node.url("/whip/r1")), "");
  WhepClient viewer;
  HttpRequest post{.method = "POST", .url = node.url("/whep/r1"), .body = viewer.offer()};
  post.headers.emplace_back("Content-Type", "application/sdp");
  auto answered = http(post);
  ASSERT_EQ(answered.status, 201) << answered.body;
  std::regex candidate("a=candidate:\\S+ 1 udp (\\d+) (\\S+) (\\d+) typ host");
  std::vector<std::pair<long long, std::string>> found;
  for (std::sregex_iterator it(answered.body.begin(), answered.body.end(), candidate), end;
       it != end; ++it) {
    found.emplace_back(std::stoll((*it)[1]), (*it)[2]);
  }
  ASSERT_GE(found.size(), 2u) << answered.body;
  EXPECT_EQ(found[0].second, "192.0.2.7");
  EXPECT_EQ(found[1].second, "127.0.0.1");
  EXPECT_GT(found[0].first, found[1].first);  // the first listed is preferred
  EXPECT_NE(answered.body.find("c=IN IP4 192.0.2.7"), std::string::npos);
  ASSERT_TRUE(viewer.setAnswer(answered.body));
  ASSERT_TRUE(eventually([&] { return viewer.videoFrames() >= 15; }, 20s))
      << "frames " << viewer.videoFrames();
  EXPECT_EQ(viewer.lastFrame().width, 320);
  EXPECT_LT(goOffAir(node, publisher), 300);
  EXPECT_TRUE(whepViewersBecome(node, 0));
}

// The WHEP "360p" variant: the HLS ladder's 360p encode, for viewers on weak
// networks, beside the source picture, through the udp engine; a DELETE of
// one leaves the other playing, and an unknown variant is refused.
TEST(EgressRoom, TheThreeSixtyPVariantPlaysBesideTheSource) {
  RedisServer redis;
  redis.start();
  seedLiveRoom(redis);
  TempDir dir{"jobcast-whep-360p"};
  std::string config = dir.path() + "/jobcast.yaml";
  std::ofstream(config) << "media:\n  publisher_timeout_ms: 1500\n"
                           "whep:\n  ice_addresses: \"127.0.0.1\"\n";
  Jobcastd node({.args = {"--config", config}, .redis = redis.address()});
  node.start();
  media::WhipClient publisher({.width = 960, .height = 540, .tone_hz = 440});
  ASSERT_EQ(goOnAir(publisher, node.url("/whip/r1")), "");

  WhepClient low;
  std::string low_location;
  ASSERT_EQ(low.connect(node.url("/whep/r1?variant=360p"), &low_location), 201);
  WhepClient source;
  ASSERT_EQ(source.connect(node.url("/whep/r1")), 201);
  ASSERT_TRUE(
      eventually([&] { return low.videoFrames() >= 15 && source.videoFrames() >= 15; }, 20s))
      << "360p frames " << low.videoFrames() << ", source frames " << source.videoFrames();
  EXPECT_EQ(low.lastFrame().width, 640);
  EXPECT_EQ(low.lastFrame().height, 360);
  EXPECT_EQ(source.lastFrame().width, 960);
  EXPECT_TRUE(eventually([&] { return low.audioRms() > 500; }, 5s)) << low.audioRms();

  HttpRequest end_low{.method = "DELETE", .url = node.url(low_location)};
  EXPECT_LT(http(end_low).status, 300);
  uint64_t frames = source.videoFrames();
  EXPECT_TRUE(eventually([&] { return source.videoFrames() >= frames + 15; }, 10s));

  WhepClient odd;
  HttpRequest post{
      .method = "POST", .url = node.url("/whep/r1?variant=1080p"), .body = odd.offer()};
  post.headers.emplace_back("Content-Type", "application/sdp");
  auto refused = http(post);
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.json()["error"]["code"], "bad_variant");
  EXPECT_LT(goOffAir(node, publisher), 300);
  EXPECT_TRUE(whepViewersBecome(node, 0));
}

}  // namespace
}  // namespace jobcast::test
