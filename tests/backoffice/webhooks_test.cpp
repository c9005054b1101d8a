// Signed webhooks through a real jobcastd and redis-server to a real HTTP
// receiver in this process: every event once with a valid signature, retries
// of a failing receiver across a node that dies mid-delivery (every event
// type, reminder.due and the room's included), dead letters and their
// replay, and who may manage endpoints.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tokens.h"
#include "tests/support/webhook_receiver.h"

namespace jobcast::test {
namespace {

using nlohmann::json;

class Webhooks : public ::testing::Test {
 protected:
  void startNode(const std::string& extra_config = "") {
    std::ofstream(config) << "webhooks:\n  backoff_ms: 20\n  backoff_max_ms: 100\n"
                             "  claim_idle_ms: 1000\n  timeout_ms: 3000\n  sweep_ms: 20\n"
                          << extra_config;
    node = std::make_unique<Jobcastd>(
        Jobcastd::Options{.args = {"--config", config}, .redis = redis.address()});
    node->start();
  }

  HttpResponse call(const std::string& method, const std::string& path, const std::string& bearer,
                    const json& body = nullptr) {
    HttpRequest request;
    request.method = method;
    request.url = node->url("/api/v1" + path);
    if (!body.is_null()) {
      request.body = body.dump();
      request.headers.emplace_back("content-type", "application/json");
    }
    request.headers.emplace_back("authorization", "Bearer " + bearer);
    return http(request);
  }

  // Registers `url` for every event type; returns the signing secret.
  std::string registerEndpoint(const std::string& url) {
    auto r = call("POST", "/admin/webhooks", admin,
                  {{"url", url},
                   {"events",
                    {"application.created", "application.status_changed", "room.scheduled",
                     "room.started", "room.ended"}}});
    EXPECT_EQ(r.status, 201) << r.body;
    endpoint_id = r.json().value("id", "");
    return r.json().value("secret", "");
  }

  // A verified employer and a room with one job; answers the room id.
  std::string seedRoom() {
    call("POST", "/employers", admin, {{"id", "acme"}, {"name", "Acme"}});
    call("POST", "/employers/acme/verify", admin);
    auto room =
        call("POST", "/rooms", acme,
             {{"title", "Spring fair"}, {"region_code", "150200"}, {"scheduled_at", 1767225600}});
    EXPECT_EQ(room.status, 201) << room.body;
    room_id = room.json().value("id", "");
    auto job = call("POST", "/rooms/" + room_id + "/jobs", acme,
                    {{"title", "Driller"},
                     {"wage_min", 6000},
                     {"wage_max", 9000},
                     {"wage_unit", "month"},
                     {"hours", "8h"},
                     {"location", "Baotou"},
                     {"headcount", 1}});
    EXPECT_EQ(job.status, 201) << job.body;
    job_id = job.json().value("id", "");
    return room_id;
  }

  // Nothing is left to deliver: no room outbox entry, no delivery queued,
  // read or waiting for a retry.
  bool drained() {
    return redis.command({"XLEN", "jc:{r:" + room_id + "}:outbox"}) == "0" &&
           redis.command({"XLEN", "jc:{webhooks}:deliveries"}) == "0" &&
           redis.command({"ZCARD", "jc:{webhooks}:retries"}) == "0";
  }

  RedisServer redis;
  TempDir dir{"jobcast-webhooks"};
  std::string config = dir.path() + "/jobcast.yaml";
  std::unique_ptr<Jobcastd> node;
  std::string admin = signToken(Role::Admin, "root", {"*"});
  std::string acme = signToken(Role::Employer, "acme", {"*"});
  std::string seeker = signToken(Role::Jobseeker, "seeker-1", {"*"});
  std::string endpoint_id, room_id, job_id;
};

TEST_F(Webhooks, EveryEventArrivesOnceWithAValidSignature) {
  startNode();
  Receiver receiver([](const Delivery&, int) { return 200; });
  const std::string secret = registerEndpoint(receiver.url());
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u);
  // At rest the secret is sealed: its text is nowhere in Redis.
  EXPECT_EQ(redis.command({"HGET", "jc:{webhooks}:secrets", endpoint_id}).find(secret),
            std::string::npos);

  seedRoom();
  ASSERT_EQ(call("POST", "/rooms/" + room_id + "/start", acme).status, 200);
  ASSERT_EQ(call("PUT", "/me/profile", seeker,
                 {{"name", "Bayar"}, {"phone", "13800138000"}, {"cv", "CV"}})
                .status,
            200);
  auto app = call("POST", "/rooms/" + room_id + "/jobs/" + job_id + "/apply", seeker);
  ASSERT_EQ(app.status, 201) << app.body;
  ASSERT_EQ(
      call("PATCH", "/applications/" + app.json().value("id", ""), acme, {{"status", "viewed"}})
          .status,
      200);
  ASSERT_EQ(call("POST", "/rooms/" + room_id + "/end", acme).status, 200);

  ASSERT_TRUE(receiver.waitFor([](const auto& got) { return countAccepted(got) >= 5; }))
      << node->log();
  ASSERT_TRUE(eventually([&] { return drained(); }));
  auto got = receiver.got();
  ASSERT_EQ(got.size(), 5u);
  std::set<std::string> ids;
  std::vector<std::string> types;
  for (const auto& d : got) {
    EXPECT_TRUE(validSignature(d, secret)) << d.headers.at("jobcast-signature");
    EXPECT_FALSE(validSignature(d, secret + "x"));
    json p = d.payload();
    ASSERT_FALSE(p.is_discarded()) << d.body;
    EXPECT_EQ(p["id"], d.headers.at("jobcast-event-id"));
    EXPECT_EQ(p["type"], d.headers.at("jobcast-event-type"));
    ids.insert(p["id"].get<std::string>());
    types.push_back(p["type"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), 5u);  // each event once
  EXPECT_EQ(types,
            (std::vector<std::string>{"room.scheduled", "room.started", "application.created",
                                      "application.status_changed", "room.ended"}));
  EXPECT_EQ(got[2].payload()["data"]["application"]["job_id"], job_id);
  EXPECT_EQ(got[3].payload()["data"]["status"], "viewed");
}

TEST_F(Webhooks, AReceiverFailingTwiceGetsTheEventOnceAcrossANodeThatDied) {
  startNode();
  // The first request is held until the node that sent it is gone, then
  // answered 500; the second is 500 too; the third 200.
  std::mutex gate_mutex;
  std::condition_variable gate_cv;
  bool first_arrived = false, release = false;
  Receiver receiver([&](const Delivery&, int nth) {
    if (nth == 1) {
      std::unique_lock lock(gate_mutex);
      first_arrived = true;
      gate_cv.notify_all();
      gate_cv.wait(lock, [&] { return release; });
    }
    return nth <= 2 ? 500 : 200;
  });
  const std::string secret = registerEndpoint(receiver.url());
  seedRoom();  // room.scheduled
  {
    std::unique_lock lock(gate_mutex);
    ASSERT_TRUE(gate_cv.wait_for(lock, std::chrono::seconds(20), [&] { return first_arrived; }));
  }
  // The node dies with the delivery read but not settled.
  node->stop(SIGKILL);
  {
    std::lock_guard lock(gate_mutex);
    release = true;
  }
  gate_cv.notify_all();
  startNode();  // another node (its own consumer name) takes the delivery over

  ASSERT_TRUE(receiver.waitFor([](const auto& got) { return countAccepted(got) == 1; }))
      << node->log();
  ASSERT_TRUE(eventually([&] { return drained(); }));
  auto got = receiver.got();
  ASSERT_EQ(got.size(), 3u);
  for (const auto& d : got) {
    EXPECT_EQ(d.headers.at("jobcast-event-id"), got[0].headers.at("jobcast-event-id"));
    EXPECT_TRUE(validSignature(d, secret));
  }
  EXPECT_EQ(got[2].status, 200);
  EXPECT_EQ(got[2].payload()["type"], "room.scheduled");
}

// Every event type, the newer ones included (reminder.due, room.started,
// room.ended), crosses a node that dies while a receiver fails each event
// twice: the reminder's first try is held until its node is gone, the room
// events made meanwhile wait in the room's outbox, room.scheduled in the
// retries. The next node delivers each of them once, signed.
TEST_F(Webhooks, EveryEventTypeOnceAcrossANodeRestartWithAReceiverFailingTwice) {
  const std::string reminders = "reminders:\n  sweep_ms: 20\n";
  startNode(reminders);
  std::mutex gate_mutex;
  std::condition_variable gate_cv;
  bool held = false, release = false;
  Receiver receiver([&](const Delivery& d, int nth) {
    if (nth == 1 && d.payload().value("type", "") == "reminder.due") {
      std::unique_lock lock(gate_mutex);
      held = true;
      gate_cv.notify_all();
      gate_cv.wait(lock, [&] { return release; });
    }
    return nth <= 2 ? 500 : 200;
  });
  auto endpoint = call("POST", "/admin/webhooks", admin,
                       {{"url", receiver.url()},
                        {"events",
                         {"application.created", "application.status_changed", "room.scheduled",
                          "room.started", "room.ended", "reminder.due"}}});
  ASSERT_EQ(endpoint.status, 201) << endpoint.body;
  const std::string secret = endpoint.json().value("secret", "");
  seedRoom();  // room.scheduled; it starts in the past, so a follower is reminded at once
  ASSERT_EQ(call("PUT", "/rooms/" + room_id + "/follow", seeker).status, 200);
  {
    std::unique_lock lock(gate_mutex);
    ASSERT_TRUE(gate_cv.wait_for(lock, std::chrono::seconds(20), [&] { return held; }))
        << node->log();
  }
  // The dispatcher is held; the control loop is not: the room goes live, gets
  // an application that moves, and ends.
  ASSERT_EQ(call("POST", "/rooms/" + room_id + "/start", acme).status, 200);
  ASSERT_EQ(call("PUT", "/me/profile", seeker,
                 {{"name", "Bayar"}, {"phone", "13800138000"}, {"cv", "CV"}})
                .status,
            200);
  auto app = call("POST", "/rooms/" + room_id + "/jobs/" + job_id + "/apply", seeker);
  ASSERT_EQ(app.status, 201) << app.body;
  ASSERT_EQ(
      call("PATCH", "/applications/" + app.json().value("id", ""), acme, {{"status", "viewed"}})
          .status,
      200);
  ASSERT_EQ(call("POST", "/rooms/" + room_id + "/end", acme).status, 200);
  node->stop(SIGKILL);
  {
    std::lock_guard lock(gate_mutex);
    release = true;
  }
  gate_cv.notify_all();
  startNode(reminders);

  ASSERT_TRUE(receiver.waitFor([](const auto& got) { return countAccepted(got) >= 6; }))
      << node->log();
  ASSERT_TRUE(eventually([&] { return drained(); }));
  std::map<std::string, std::vector<Delivery>> by_event;
  for (const auto& d : receiver.got()) {
    EXPECT_TRUE(validSignature(d, secret)) << d.body;
    by_event[d.headers.at("jobcast-event-id")].push_back(d);
  }
  std::multiset<std::string> accepted;
  for (const auto& [id, tries] : by_event) {
    ASSERT_EQ(tries.size(), 3u) << id;  // 500, 500, 200: once taken, never again
    EXPECT_EQ(tries[2].status, 200) << id;
    for (const auto& d : tries)
      EXPECT_EQ(d.payload()["type"], tries[0].payload()["type"]) << id;
    accepted.insert(tries[2].payload().value("type", ""));
  }
  EXPECT_EQ(accepted, (std::multiset<std::string>{"room.scheduled", "reminder.due", "room.started",
                                                  "application.created",
                                                  "application.status_changed", "room.ended"}));
  const auto& reminder = *std::find_if(by_event.begin(), by_event.end(), [](const auto& e) {
    return e.second[0].payload().value("type", "") == "reminder.due";
  });
  EXPECT_EQ(reminder.second[2].payload()["data"]["user"], "seeker-1");
  EXPECT_EQ(reminder.second[2].payload()["data"]["room_id"], room_id);
}

TEST_F(Webhooks, DeadLetteredAfterMaxAttemptsAndReplayedByAnAdmin) {
  startNode("  max_attempts: 3\n");
  std::atomic<bool> healthy{false};
  Receiver receiver([&](const Delivery&, int) { return healthy ? 200 : 503; });
  const std::string secret = registerEndpoint(receiver.url());
  seedRoom();

  json dead;
  ASSERT_TRUE(eventually(
      [&] {
        dead = call("GET", "/admin/webhooks/dead", admin).json();
        return dead["deliveries"].size() == 1;
      },
      std::chrono::seconds(20)))
      << dead.dump();
  const json entry = dead["deliveries"][0];
  EXPECT_EQ(entry["attempts"], 3);
  EXPECT_EQ(entry["type"], "room.scheduled");
  EXPECT_EQ(entry["endpoint"], endpoint_id);
  EXPECT_EQ(entry["error"], "HTTP 503");
  EXPECT_EQ(receiver.got().size(), 3u);
  EXPECT_EQ(call("GET", "/admin/webhooks/dead", acme).status, 403);
  EXPECT_EQ(call("POST", "/admin/webhooks/dead/1-1/replay", admin).status, 404);

  healthy = true;
  auto replay =
      call("POST", "/admin/webhooks/dead/" + entry["id"].get<std::string>() + "/replay", admin);
  ASSERT_EQ(replay.status, 200) << replay.body;
  ASSERT_TRUE(receiver.waitFor([](const auto& got) { return countAccepted(got) == 1; }));
  ASSERT_TRUE(eventually([&] { return drained(); }));
  EXPECT_EQ(receiver.got().size(), 4u);
  EXPECT_TRUE(validSignature(receiver.got().back(), secret));
  EXPECT_EQ(receiver.got().back().headers.at("jobcast-event-id"), entry["event"]);
  EXPECT_TRUE(call("GET", "/admin/webhooks/dead", admin).json()["deliveries"].empty());
}

TEST_F(Webhooks, OnlyAdminsManageEndpointsAndBadOnesAreRefused) {
  startNode();
  json good = {{"url", "http://127.0.0.1:9/x"}, {"events", {"room.started"}}};
  EXPECT_EQ(call("POST", "/admin/webhooks", acme, good).status, 403);
  EXPECT_EQ(call("POST", "/admin/webhooks", seeker, good).status, 403);
  EXPECT_EQ(call("GET", "/admin/webhooks", acme).status, 403);
  auto bad_type = call("POST", "/admin/webhooks", admin,
                       {{"url", "http://x.example/"}, {"events", {"room.x"}}});
  EXPECT_EQ(bad_type.status, 400);
  EXPECT_EQ(bad_type.json()["error"]["code"], "invalid_field") << bad_type.body;
  auto bad_url = call("POST", "/admin/webhooks", admin,
                      {{"url", "ftp://x.example/"}, {"events", {"room.started"}}});
  EXPECT_EQ(bad_url.status, 400);
  EXPECT_EQ(bad_url.json()["error"]["code"], "invalid_field");

  auto created = call("POST", "/admin/webhooks", admin, good);
  ASSERT_EQ(created.status, 201);
  auto list = call("GET", "/admin/webhooks", admin).json();
  ASSERT_EQ(list["webhooks"].size(), 1u);
  EXPECT_FALSE(list["webhooks"][0].contains("secret"));  // shown once, at registration
  std::string id = created.json()["id"];
  EXPECT_EQ(call("DELETE", "/admin/webhooks/" + id, admin).status, 200);
  EXPECT_EQ(call("DELETE", "/admin/webhooks/" + id, admin).status, 404);
  EXPECT_TRUE(call("GET", "/admin/webhooks", admin).json()["webhooks"].empty());
}

}  // namespace
}  // namespace jobcast::test
