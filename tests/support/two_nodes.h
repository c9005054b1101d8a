#pragma once
// Two jobcastd nodes on one real redis-server, sharing one config file, and
// room r1 (live, employer emp1) for a synthetic camera to publish into: the
// set-up of the tests where a room's media moves between nodes.

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "media/whip_client.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tokens.h"

namespace jobcast::test {

// Where room r1's media lease lives ({"node","url"}).
inline constexpr char kR1LeaseKey[] = "jc:{r:r1}:media_node";

inline std::string r1EmployerToken() {
  return signToken(Role::Employer, "emp1", {"r1"});
}

// POSTs an SDP offer, with the employer's token when `token`.
inline HttpResponse postSdp(const std::string& url, const std::string& sdp, bool token) {
  HttpRequest post{.method = "POST", .url = url, .body = sdp};
  post.headers = {{"Content-Type", "application/sdp"}};
  if (token)
    post.headers.emplace_back("Authorization", "Bearer " + r1EmployerToken());
  post.timeout_ms = 30000;
  return http(post);
}

class TwoNodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis.start();
    redis.command({"HSET", "jc:{r:r1}:room", "id", "r1", "status", "live", "employer_id", "emp1"});
  }
  // Writes the nodes' config and starts both.
  void startNodes(const std::string& yaml) {
    std::ofstream(config) << yaml;
    a.start();
    b.start();
  }
  // Publishes a synthetic camera to `node`; the 201's Location is kept.
  void publish(media::WhipClient& publisher, Jobcastd& node) {
    auto offer = publisher.createOffer();
    ASSERT_TRUE(offer) << offer.error().message;
    auto published = postSdp(node.url("/whip/r1"), offer.value(), true);
    ASSERT_EQ(published.status, 201) << published.body;
    ASSERT_TRUE(publisher.setAnswer(published.body));
    publisher.resource = published.header("location");
    ASSERT_TRUE(publisher.waitConnected(std::chrono::seconds(20)));
  }
  // The URL of the node holding r1's media lease, "" when none does.
  std::string leaseUrl() const {
    auto lease = nlohmann::json::parse(redis.command({"GET", kR1LeaseKey}), nullptr, false);
    return lease.is_object() ? lease.value("url", "") : "";
  }

  RedisServer redis;
  TempDir dir{"jobcast-two-nodes"};
  std::string config = dir.path() + "/jobcast.yaml";
  Jobcastd a{{.args = {"--config", config}, .redis = redis.address()}};
  Jobcastd b{{.args = {"--config", config}, .redis = redis.address()}};
};

}  // namespace jobcast::test
