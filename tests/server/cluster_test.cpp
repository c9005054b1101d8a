// A jobcastd node on a real Redis Cluster (3 masters, 3 replicas on
// loopback, redis.cluster): a room created, jobs added, jobseekers applying,
// the live channel's events arriving; then the master of the room's slot
// killed during steady applies: applications continue once its replica is
// promoted, and none that was acknowledged (201) is lost.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "core/redis_slots.h"
#include "rooms/keys.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/tokens.h"
#include "tests/support/ws_client.h"

namespace jobcast::test {
namespace {

using nlohmann::json;

class OnCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    node = std::make_unique<Jobcastd>(
        Jobcastd::Options{.env = {{"JOBCAST_REDIS_CLUSTER", cluster.seeds()}}});
    node->start();
  }

  HttpResponse call(const std::string& method, const std::string& path, const std::string& bearer,
                    const json& body = nullptr) {
    return httpJson(method, node->url("/api/v1" + path), body, bearer);
  }

  // A live room of a verified employer, with one job; {room, job}.
  std::pair<std::string, std::string> liveRoomWithAJob() {
    EXPECT_EQ(call("POST", "/employers", admin, {{"id", "acme"}, {"name", "Acme"}}).status, 201);
    EXPECT_EQ(call("POST", "/employers/acme/verify", admin).status, 200);
    auto room = call("POST", "/rooms", acme,
                     {{"title", "Harbour jobs"},
                      {"region_code", "150203"},
                      {"scheduled_at", std::time(nullptr) + 3600}});
    EXPECT_EQ(room.status, 201) << room.body;
    std::string id = room.json().value("id", "");
    auto job = call("POST", "/rooms/" + id + "/jobs", acme,
                    {{"title", "Welder"},
                     {"wage_min", 6000},
                     {"wage_max", 9000},
                     {"wage_unit", "month"},
                     {"hours", "8h"},
                     {"location", "Baotou"},
                     {"headcount", 3}});
    EXPECT_EQ(job.status, 201) << job.body;
    auto started = call("POST", "/rooms/" + id + "/start", acme);
    EXPECT_EQ(started.status, 200) << started.body;
    return {id, job.json().value("id", "")};
  }

  // A jobseeker with a profile; the profile's status in `status`.
  std::string seeker(int i, long* status = nullptr) {
    std::string tok = signToken(Role::Jobseeker, "seeker-" + std::to_string(i), {"*"});
    auto p = call("PUT", "/me/profile", tok, {{"name", "Ama"}, {"phone", "13800138000"}});
    if (status)
      *status = p.status;
    else
      EXPECT_EQ(p.status, 200) << p.body;
    return tok;
  }

  // Every application id of the room, as its employer lists them.
  std::set<std::string> listed(const std::string& room) {
    long failed = 0;
    auto ids = listApplicationIds(node->url(""), room, acme, &failed);
    EXPECT_EQ(failed, 0) << "a page of the room's applications answered " << failed;
    return ids;
  }

  RedisCluster cluster;
  std::unique_ptr<Jobcastd> node;
  std::string admin = signToken(Role::Admin, "root", {"*"});
  std::string acme = signToken(Role::Employer, "acme", {"*"});
};

TEST_F(OnCluster, RoomJobsAppliesAndLiveEvents) {
  EXPECT_TRUE(eventually([&] { return httpGet(node->url("/readyz")).status == 200; }));
  auto [room, job] = liveRoomWithAJob();
  ASSERT_FALSE(room.empty());
  ASSERT_FALSE(job.empty());

  std::string error;
  auto viewer = WsClient::connect(node->httpPort(), {}, &error);
  ASSERT_TRUE(viewer) << error;
  json welcome = viewer->hello(room);
  ASSERT_EQ(welcome["type"], "welcome") << welcome.dump();

  const int kSeekers = 12;
  std::set<std::string> acknowledged;
  for (int i = 0; i < kSeekers; ++i) {
    std::string tok = seeker(i);
    auto r = call("POST", "/rooms/" + room + "/jobs/" + job + "/apply", tok);
    ASSERT_EQ(r.status, 201) << r.body;
    acknowledged.insert(r.json().value("id", ""));
    // Applying twice is one application.
    if (i == 0)
      EXPECT_EQ(call("POST", "/rooms/" + room + "/jobs/" + job + "/apply", tok).status, 200);
  }
  // The live channel carries the count, over the room's notify channel.
  json last = viewer->waitEvent(
      "application.count", [&](const json& e) { return e["data"].value("total", 0) == kSeekers; },
      10s);
  EXPECT_FALSE(last.is_null()) << "no application.count reached " << kSeekers;
  EXPECT_EQ(listed(room), acknowledged);
  // Room notifications are sharded (SSUBSCRIBE/SPUBLISH): the node listens to
  // this room's channel on the room's shard only, while it has a viewer.
  const std::string notify = rooms::keys::notify(room);
  const int owner = cluster.masterOf(keySlot(notify));
  for (size_t n = 0; n < cluster.nodes().size(); ++n) {
    EXPECT_EQ(cluster.command(n, {"PUBSUB", "SHARDNUMSUB", notify}),
              notify + "\n" + (static_cast<int>(n) == owner ? "1" : "0"))
        << "node " << n;
  }
  // The jobseeker's own list reads across slots ({u:SUB} and the room's).
  auto mine = call("GET", "/me/applications", signToken(Role::Jobseeker, "seeker-3", {"*"}));
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.json()["items"].size(), 1u) << mine.body;
  // Ending the room counts it in the regions' reports, each in its own slot.
  auto ended = call("POST", "/rooms/" + room + "/end", acme);
  EXPECT_EQ(ended.status, 200) << ended.body;
  EXPECT_EQ(node->log().find("CROSSSLOT"), std::string::npos) << node->log();
  // The last viewer gone, the node stops listening to the room.
  viewer.reset();
  EXPECT_TRUE(eventually(
      [&] {
        return cluster.command(static_cast<size_t>(owner), {"PUBSUB", "SHARDNUMSUB", notify}) ==
               notify + "\n0";
      },
      10s));
}

TEST_F(OnCluster, AMasterKilledDuringAppliesLosesNoAcknowledgedApplication) {
  auto [room, job] = liveRoomWithAJob();
  ASSERT_FALSE(room.empty());
  const int victim = cluster.masterOf(keySlot("r:" + room));
  ASSERT_GE(victim, 0);

  std::set<std::string> acknowledged;
  int refused = 0;
  long last_status = 0;
  std::string last_body;
  std::optional<std::chrono::steady_clock::time_point> killed, back;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; !back || acknowledged.size() < 60; ++i) {
    ASSERT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(45))
        << "applications did not resume after the failover: " << acknowledged.size()
        << " acknowledged, " << refused << " refused, killed " << (killed ? "yes" : "no")
        << ", last answer " << last_status << " " << last_body;
    if (!killed && acknowledged.size() == 30) {
      killed = std::chrono::steady_clock::now();
      cluster.kill(static_cast<size_t>(victim));
    }
    long profiled = 0;
    std::string tok = seeker(i, &profiled);
    // The profile lives in the jobseeker's slot, which may be the killed master's too.
    auto r = profiled == 200 ? call("POST", "/rooms/" + room + "/jobs/" + job + "/apply", tok)
                             : HttpResponse{.status = profiled};
    last_status = r.status;
    last_body = r.body.substr(0, 200);
    if (r.status == 201) {
      acknowledged.insert(r.json().value("id", ""));
      if (killed && !back)
        back = std::chrono::steady_clock::now();
    } else {
      // While the slot has no master: an error, never a false success.
      EXPECT_TRUE(r.status == 503 || r.status == 500 || r.status == 422 || r.status == 0)
          << r.status << " " << r.body;
      ++refused;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  std::printf(
      "[cluster] master killed during applies: first 201 after %.2f s; %d refused meanwhile\n",
      std::chrono::duration<double>(*back - *killed).count(), refused);
  EXPECT_NE(cluster.masterOf(keySlot("r:" + room)), victim);
  std::set<std::string> stored = listed(room);
  for (const auto& id : acknowledged)
    EXPECT_TRUE(stored.count(id)) << "acknowledged application " << id << " lost";
}

}  // namespace
}  // namespace jobcast::test
