// SIGTERM drains a node: two jobcastd nodes on one Redis, a publisher and a
// live-channel client on node A. A leaves the load balancer (/readyz 503),
// closes its WebSockets with 1012, refuses new publishers, gives up the
// room's media lease long before it would run out, so the publisher
// republishing to node B is taken there, and exits 0 once its publisher has
// gone. The times from the signal to B serving the room and to A's exit are
// printed (docs/operations.md quotes them).

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <fstream>

#include "media/whip_client.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tokens.h"
#include "tests/support/two_nodes.h"
#include "tests/support/whep_client.h"
#include "tests/support/ws_client.h"

namespace jobcast::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

long long msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// A lease of a minute: a room that moves within the test moved because A
// gave its lease up, not because the lease ran out.
class DrainTest : public TwoNodesTest {
 protected:
  void startNodes(int drain_timeout_ms) {
    TwoNodesTest::startNodes("server:\n  drain_timeout_ms: " + std::to_string(drain_timeout_ms) +
                             "\nmedia:\n  publisher_timeout_ms: 1500\n  owner_lease_ms: 60000\n"
                             "whep:\n  ice_addresses: \"127.0.0.1\"\n");
  }
};

TEST_F(DrainTest, SigtermHandsTheRoomToAnotherNodeAndExitsZero) {
  startNodes(30000);
  media::WhipClient publisher({.width = 320, .height = 180});
  ASSERT_NO_FATAL_FAILURE(publish(publisher, a));
  ASSERT_EQ(leaseUrl(), a.url());
  auto page = WsClient::connect(a.httpPort());
  ASSERT_TRUE(page);
  ASSERT_EQ(page->hello("r1", signToken(Role::Jobseeker, "js1", {"r1"}))["type"], "welcome");
  ASSERT_EQ(httpGet(a.url("/readyz")).status, 200);

  auto signalled = Clock::now();
  a.signal(SIGTERM);

  // The page is told to move: error frame node_draining, then close 1012.
  EXPECT_EQ(page->waitClosed(10s), 1012);
  bool told = false;
  for (const auto& frame : page->received())
    told = told || (frame["type"] == "error" && frame["code"] == "node_draining");
  EXPECT_TRUE(told) << "no node_draining frame before the close";
  page->sendClose(1012);  // as a browser answers a close
  // A new page is turned away the same way.
  auto late = WsClient::connect(a.httpPort());
  ASSERT_TRUE(late);
  EXPECT_EQ(late->waitClosed(10s), 1012);

  // Out of the load balancer while it drains; B stays in.
  auto ready = httpGet(a.url("/readyz"));
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ready.json()["error"]["code"], "node_draining");
  EXPECT_EQ(httpGet(b.url("/readyz")).status, 200);

  // The lease is given up at once (it would last a minute).
  EXPECT_TRUE(eventually(
      [&] {
        return redis.command({"EXISTS", kR1LeaseKey}) == "0";
      },
      10s))
      << "lease still held by " << leaseUrl();
  EXPECT_TRUE(a.running()) << "A left while its publisher is still on air";

  // A takes no new publisher or viewer while nobody else has the room.
  media::WhipClient again;
  auto offer = again.createOffer();
  ASSERT_TRUE(offer);
  auto refused = postSdp(a.url("/whip/r1"), offer.value(), true);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.json()["error"]["code"], "node_draining");
  EXPECT_FALSE(refused.header("retry-after").empty());
  WhepClient viewer;
  std::string view_offer = viewer.offer();
  ASSERT_FALSE(view_offer.empty());
  EXPECT_EQ(postSdp(a.url("/whep/r1"), view_offer, false).status, 503);

  // The publisher republishes to B, which takes the room.
  auto published = postSdp(b.url("/whip/r1"), offer.value(), true);
  ASSERT_EQ(published.status, 201) << published.body;
  long long to_b_ms = msSince(signalled);
  ASSERT_TRUE(again.setAnswer(published.body));
  EXPECT_TRUE(again.waitConnected(20s));
  EXPECT_EQ(leaseUrl(), b.url());

  // Now A sends publishers and viewers to B (once its one-second memory of
  // "nobody has the room" has passed).
  HttpResponse sent;
  EXPECT_TRUE(eventually(
      [&] {
        sent = postSdp(a.url("/whip/r1"), offer.value(), true);
        return sent.status == 307;
      },
      10s))
      << sent.status << " " << sent.body;
  EXPECT_EQ(sent.header("location"), b.url("/whip/r1"));
  auto watch = postSdp(a.url("/whep/r1"), view_offer, false);
  EXPECT_EQ(watch.status, 307) << watch.body;
  EXPECT_EQ(watch.header("location"), b.url("/whep/r1"));

  // The old session's media stops (the page moved): A is drained and exits.
  publisher.stop();
  EXPECT_EQ(a.wait(30s), 0) << a.log();
  long long exit_ms = msSince(signalled);
  EXPECT_NE(a.log().find("\"msg\":\"drained\""), std::string::npos) << a.log();
  EXPECT_EQ(leaseUrl(), b.url());
  std::printf("drain: SIGTERM -> room published on B %lld ms; SIGTERM -> A exited %lld ms\n",
              to_b_ms, exit_ms);
}

TEST_F(DrainTest, IdleNodeDrainsAndExitsZero) {
  startNodes(30000);
  EXPECT_EQ(a.stop(SIGTERM, 10s), 0) << a.log();
  EXPECT_NE(a.log().find("\"msg\":\"drained\""), std::string::npos) << a.log();
}

TEST_F(DrainTest, DrainEndsAfterItsTimeoutOrASecondSignal) {
  startNodes(2000);
  media::WhipClient stays({.width = 320, .height = 180});
  ASSERT_NO_FATAL_FAILURE(publish(stays, a));
  // A publisher that never leaves: the drain ends at server.drain_timeout_ms.
  a.signal(SIGTERM);
  EXPECT_TRUE(eventually([&] { return httpGet(a.url("/readyz")).status == 503; }, 10s));
  EXPECT_EQ(a.wait(30s), 0) << a.log();
  EXPECT_NE(a.log().find("drain timed out"), std::string::npos) << a.log();
  EXPECT_EQ(redis.command({"EXISTS", kR1LeaseKey}), "0");

  // A node whose drain would last ten minutes: a second signal stops it now.
  std::ofstream(config) << "server:\n  drain_timeout_ms: 600000\n";
  Jobcastd c{{.args = {"--config", config}, .redis = redis.address()}};
  c.start();
  media::WhipClient on_c({.width = 320, .height = 180});
  ASSERT_NO_FATAL_FAILURE(publish(on_c, c));
  c.signal(SIGTERM);
  EXPECT_TRUE(eventually([&] { return httpGet(c.url("/readyz")).status == 503; }, 10s));
  EXPECT_TRUE(c.running());
  c.signal(SIGINT);
  EXPECT_EQ(c.wait(30s), 0) << c.log();
  EXPECT_NE(c.log().find("stopping now"), std::string::npos) << c.log();
}

}  // namespace
}  // namespace jobcast::test
