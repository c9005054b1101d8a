// The rooms REST API through the real jobcastd and a real redis-server: tokens,
// every authorization rule, validation, idempotent apply (also across a Redis
// crash), encryption at rest, audit, deletion, body and rate limits.

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "core/jwt.h"
#include "rooms/store.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

namespace jobcast::test {
namespace {

using nlohmann::json;

const char kSecret[] = "test-secret-0123456789abcdef-0123456789";

int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string token(Role role, const std::string& sub, std::vector<std::string> rooms = {"*"},
                  int64_t ttl = 3600) {
  Claims c;
  c.role = role;
  c.sub = sub;
  c.name = sub;
  c.rooms = std::move(rooms);
  c.iat = nowSeconds();
  c.exp = c.iat + ttl;
  return Jwt(kSecret).sign(c);
}

json goodJob(const std::string& title = "Driller") {
  return {{"title", title},       {"wage_min", 6000},      {"wage_max", 9000},
          {"wage_unit", "month"}, {"hours", "12h shifts"}, {"location", "Baotou"},
          {"headcount", 5}};
}

json profileBody() {
  return {{"name", "Bayar"},
          {"phone", "13800138000"},
          {"cv", "Five years underground."},
          {"key_group", "veteran"},
          {"key_group_consent", true}};
}

class RoomsApi : public ::testing::Test {
 protected:
  explicit RoomsApi(std::vector<std::string> args = {})
      : node({.args = std::move(args), .redis = redis.address()}) {
    node.start();
  }

  HttpResponse call(const std::string& method, const std::string& path,
                    const std::string& bearer = "", const std::string& body = "") {
    HttpRequest request;
    request.method = method;
    request.url = node.url("/api/v1" + path);
    request.body = body;
    if (!body.empty())
      request.headers.emplace_back("content-type", "application/json");
    if (!bearer.empty())
      request.headers.emplace_back("authorization", "Bearer " + bearer);
    return http(request);
  }
  HttpResponse call(const std::string& method, const std::string& path, const std::string& bearer,
                    const json& body) {
    return call(method, path, bearer, body.dump());
  }

  // A verified employer "acme" with a room (counsellor coach-1) and one job.
  void seed() {
    ASSERT_EQ(call("POST", "/employers", admin, json{{"id", "acme"}, {"name", "Acme"}}).status,
              201);
    ASSERT_EQ(call("POST", "/employers/acme/verify", admin).status, 200);
    ASSERT_EQ(call("POST", "/employers", admin, json{{"id", "rival"}, {"name", "Rival"}}).status,
              201);
    auto room = call("POST", "/rooms", acme,
                     json{{"title", "Spring fair"},
                          {"region_code", "150200"},
                          {"scheduled_at", 1767225600},
                          {"counsellors", {"coach-1"}}});
    ASSERT_EQ(room.status, 201) << room.body;
    room_id = room.json()["id"];
    auto job = call("POST", "/rooms/" + room_id + "/jobs", acme, goodJob());
    ASSERT_EQ(job.status, 201) << job.body;
    job_id = job.json()["id"];
  }

  std::string applyPath() const { return "/rooms/" + room_id + "/jobs/" + job_id + "/apply"; }

  RedisServer redis;
  Jobcastd node;
  std::string admin = token(Role::Admin, "root");
  std::string acme = token(Role::Employer, "acme");
  std::string rival = token(Role::Employer, "rival");
  std::string seeker = token(Role::Jobseeker, "seeker-1");
  std::string room_id;
  std::string job_id;
};

TEST_F(RoomsApi, TokensAreRequiredAndChecked) {
  seed();
  auto none = call("POST", "/rooms", "", json{{"title", "x"}});
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.json()["error"]["code"], "unauthorized");
  EXPECT_EQ(call("POST", "/rooms", token(Role::Admin, "root", {"*"}, -10)).status, 401);
  EXPECT_EQ(call("POST", "/rooms",
                 Jwt("another-secret-0123456789")
                     .sign({.sub = "root", .role = Role::Admin, .exp = nowSeconds() + 60}))
                .status,
            401);
  EXPECT_EQ(call("POST", "/rooms", "not.a.token").status, 401);
  // alg "none": header {"alg":"none","typ":"JWT"}, no signature.
  std::string unsigned_token =
      base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
      base64UrlEncode(
          json({{"sub", "root"}, {"role", "admin"}, {"exp", nowSeconds() + 60}}).dump()) +
      ".";
  EXPECT_EQ(call("POST", "/employers", unsigned_token, json{{"name", "x"}}).status, 401);
  // A bad token on an open route is refused too, not silently ignored.
  EXPECT_EQ(call("GET", "/rooms/" + room_id, "garbage").status, 401);
  EXPECT_EQ(call("GET", "/rooms/" + room_id).status, 200);
}

TEST_F(RoomsApi, RoomLifecycleJobsAndListing) {
  seed();
  auto room = call("GET", "/rooms/" + room_id);
  ASSERT_EQ(room.status, 200);
  auto body = room.json();
  EXPECT_EQ(body["status"], "scheduled");
  EXPECT_EQ(body["region_name"], "Baotou");
  ASSERT_EQ(body["jobs"].size(), 1u);
  EXPECT_EQ(body["jobs"][0]["title"], "Driller");
  EXPECT_TRUE(body["pinned"].is_null());
  EXPECT_EQ(body["counts"]["applications"], 0);

  EXPECT_EQ(call("POST", "/rooms/" + room_id + "/end", acme).status, 409);
  EXPECT_EQ(call("POST", "/rooms/" + room_id + "/jobs/" + job_id + "/pin", acme).status, 200);
  EXPECT_EQ(call("GET", "/rooms/" + room_id).json()["pinned"]["id"], job_id);
  auto live = call("POST", "/rooms/" + room_id + "/start", acme);
  ASSERT_EQ(live.status, 200) << live.body;
  EXPECT_EQ(live.json()["status"], "live");
  EXPECT_EQ(call("POST", "/rooms/" + room_id + "/start", acme).json()["error"]["code"],
            "illegal_transition");

  // A second room elsewhere, to filter on.
  auto other = call("POST", "/rooms", admin,
                    json{{"title", "Hohhot fair"},
                         {"employer_id", "acme"},
                         {"region_code", "150102"},
                         {"scheduled_at", 1767225600}});
  ASSERT_EQ(other.status, 201) << other.body;
  EXPECT_EQ(call("GET", "/rooms").json()["items"].size(), 2u);
  auto live_rooms = call("GET", "/rooms?status=live").json()["items"];
  ASSERT_EQ(live_rooms.size(), 1u);
  EXPECT_EQ(live_rooms[0]["id"], room_id);
  auto hohhot = call("GET", "/rooms?region=1501").json()["items"];
  ASSERT_EQ(hohhot.size(), 1u);
  EXPECT_EQ(hohhot[0]["title"], "Hohhot fair");
  EXPECT_EQ(call("GET", "/rooms?status=paused").status, 400);
  // Pages: limit and the cursor from next_cursor.
  auto page1 = call("GET", "/rooms?limit=1").json();
  ASSERT_EQ(page1["items"].size(), 1u);
  ASSERT_TRUE(page1["next_cursor"].is_string());
  auto page2 =
      call("GET", "/rooms?limit=1&cursor=" + page1["next_cursor"].get<std::string>()).json();
  ASSERT_EQ(page2["items"].size(), 1u);
  EXPECT_NE(page2["items"][0]["id"], page1["items"][0]["id"]);
  EXPECT_TRUE(page2["next_cursor"].is_null());
  EXPECT_EQ(call("GET", "/rooms?cursor=junk").status, 400);

  ASSERT_EQ(call("POST", "/rooms/" + room_id + "/end", acme).status, 200);
  EXPECT_EQ(call("POST", "/rooms/" + room_id + "/start", acme).status, 409);
  EXPECT_EQ(call("POST", "/rooms/" + room_id + "/jobs", acme, goodJob("Late")).status, 409);
  EXPECT_EQ(call("GET", "/rooms/nosuchroom").status, 404);
}

TEST_F(RoomsApi, UnverifiedEmployerCannotGoLive) {
  seed();
  auto room = call("POST", "/rooms", rival, json{{"title", "Rival"}, {"scheduled_at", 1}});
  ASSERT_EQ(room.status, 201);
  auto start = call("POST", "/rooms/" + room.json()["id"].get<std::string>() + "/start", rival);
  EXPECT_EQ(start.status, 409);
  EXPECT_EQ(start.json()["error"]["code"], "employer_unverified");
}

TEST_F(RoomsApi, InvalidInputNamesTheField) {
  seed();
  auto job = goodJob();
  job["wage_min"] = 10000;
  auto bad = call("POST", "/rooms/" + room_id + "/jobs", acme, job);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json()["error"]["code"], "invalid_field");
  EXPECT_EQ(bad.json()["error"]["field"], "wage_min");
  EXPECT_NE(bad.json()["error"]["message"].get<std::string>().find("wage_min"), std::string::npos);
  auto not_json = call("POST", "/rooms/" + room_id + "/jobs", acme, std::string("{\"title\":"));
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(not_json.json()["error"]["code"], "invalid_json");
  EXPECT_EQ(call("POST", "/rooms", acme, json{{"scheduled_at", 1}}).json()["error"]["field"],
            "title");
  EXPECT_EQ(call("POST", "/rooms", admin, json{{"title", "t"}, {"scheduled_at", 1}})
                .json()["error"]["field"],
            "employer_id");
  EXPECT_EQ(call("PUT", "/me/profile", seeker, json{{"name", "A"}, {"phone", "x"}})
                .json()["error"]["field"],
            "phone");
  auto patch = call("PATCH", "/applications/whatever", acme, json{{"status", "promoted"}});
  EXPECT_EQ(patch.status, 400);
  EXPECT_EQ(patch.json()["error"]["field"], "status");
  EXPECT_EQ(call("GET", "/rooms/" + room_id + "/applications?limit=0", acme).status, 400);
}

TEST_F(RoomsApi, EveryAuthorizationRule) {
  seed();
  std::string coach = token(Role::Counsellor, "coach-1");
  std::string stranger_coach = token(Role::Counsellor, "coach-9");
  std::string rooms = "/rooms/" + room_id;
  // Employers: admin only.
  EXPECT_EQ(call("POST", "/employers", acme, json{{"name", "X"}}).status, 403);
  EXPECT_EQ(call("POST", "/employers", seeker, json{{"name", "X"}}).status, 403);
  EXPECT_EQ(call("POST", "/employers/rival/verify", acme).status, 403);
  EXPECT_EQ(call("POST", "/employers/nobody/verify", admin).status, 404);
  // Rooms: admin and employers (for themselves).
  EXPECT_EQ(call("POST", "/rooms", seeker, json{{"title", "t"}, {"scheduled_at", 1}}).status, 403);
  EXPECT_EQ(call("POST", "/rooms", coach, json{{"title", "t"}, {"scheduled_at", 1}}).status, 403);
  EXPECT_EQ(call("POST", "/rooms", acme,
                 json{{"title", "t"}, {"scheduled_at", 1}, {"employer_id", "rival"}})
                .status,
            403);
  // Start, end, jobs: the room's employer or admin.
  EXPECT_EQ(call("POST", rooms + "/start", rival).status, 403);
  EXPECT_EQ(call("POST", rooms + "/start", seeker).status, 403);
  EXPECT_EQ(call("POST", rooms + "/start", coach).status, 403);
  EXPECT_EQ(call("POST", rooms + "/jobs", rival, goodJob()).status, 403);
  EXPECT_EQ(call("POST", rooms + "/jobs", seeker, goodJob()).status, 403);
  EXPECT_EQ(call("POST", "/rooms/nosuchroom/jobs", acme, goodJob()).status, 404);
  // Pin: also the room's counsellors.
  EXPECT_EQ(call("POST", rooms + "/jobs/" + job_id + "/pin", rival).status, 403);
  EXPECT_EQ(call("POST", rooms + "/jobs/" + job_id + "/pin", stranger_coach).status, 403);
  EXPECT_EQ(call("POST", rooms + "/jobs/" + job_id + "/pin", coach).status, 200);
  EXPECT_EQ(call("POST", rooms + "/jobs/nosuchjob/pin", acme).status, 404);
  // Apply and profiles: jobseekers only.
  EXPECT_EQ(call("POST", applyPath(), acme).status, 403);
  EXPECT_EQ(call("PUT", "/me/profile", acme, profileBody()).status, 403);
  EXPECT_EQ(call("GET", "/me/applications", acme).status, 403);
  EXPECT_EQ(call("POST", applyPath(), seeker).json()["error"]["code"], "profile_required");
  ASSERT_EQ(call("PUT", "/me/profile", seeker, profileBody()).status, 200);
  EXPECT_EQ(call("POST", "/rooms/" + room_id + "/jobs/nosuchjob/apply", seeker).status, 404);
  auto app = call("POST", applyPath(), seeker);
  ASSERT_EQ(app.status, 201);
  std::string app_id = app.json()["id"];
  // Applications: the room's employer or admin.
  EXPECT_EQ(call("GET", rooms + "/applications", rival).status, 403);
  EXPECT_EQ(call("GET", rooms + "/applications", seeker).status, 403);
  EXPECT_EQ(call("GET", rooms + "/applications", coach).status, 403);
  EXPECT_EQ(call("GET", rooms + "/applications", admin).status, 200);
  EXPECT_EQ(call("PATCH", "/applications/" + app_id, rival, json{{"status", "viewed"}}).status,
            403);
  EXPECT_EQ(call("PATCH", "/applications/" + app_id, seeker, json{{"status", "viewed"}}).status,
            403);
  EXPECT_EQ(call("PATCH", "/applications/nosuchapp", acme, json{{"status", "viewed"}}).status, 404);
  EXPECT_EQ(call("PATCH", "/applications/" + app_id, acme, json{{"status", "viewed"}}).status, 200);
}

TEST_F(RoomsApi, ApplyIsIdempotentEvenFiftyAtOnce) {
  seed();
  ASSERT_EQ(call("PUT", "/me/profile", seeker, profileBody()).status, 200);
  auto first = call("POST", applyPath(), seeker);
  ASSERT_EQ(first.status, 201) << first.body;
  auto repeat = call("POST", applyPath(), seeker);
  EXPECT_EQ(repeat.status, 200);
  EXPECT_EQ(repeat.json()["id"], first.json()["id"]);

  // Another jobseeker, fifty requests at once.
  std::string eager = token(Role::Jobseeker, "eager");
  ASSERT_EQ(call("PUT", "/me/profile", eager, profileBody()).status, 200);
  std::vector<HttpResponse> answers(50);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      while (!go)
        std::this_thread::yield();
      answers[i] = call("POST", applyPath(), eager);
    });
  }
  go = true;
  for (auto& t : threads)
    t.join();
  int created = 0;
  std::set<std::string> ids;
  for (auto& a : answers) {
    ASSERT_TRUE(a.status == 201 || a.status == 200) << a.status << " " << a.body;
    created += a.status == 201;
    ids.insert(a.json()["id"].get<std::string>());
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(redis.command({"HLEN", rooms::keys::applications(room_id)}), "2");
  EXPECT_EQ(call("GET", "/rooms/" + room_id).json()["counts"]["applications"], 2);
}

TEST_F(RoomsApi, AppliedIsKeptAcrossARedisCrashAndTheRetryGetsTheSameId) {
  seed();
  ASSERT_EQ(call("PUT", "/me/profile", seeker, profileBody()).status, 200);
  auto first = call("POST", applyPath(), seeker);
  ASSERT_EQ(first.status, 201);
  redis.kill();
  // While Redis is down nothing is acknowledged.
  auto down = call("POST", applyPath(), seeker);
  EXPECT_EQ(down.status, 503) << down.body;
  redis.restart();
  HttpResponse retry;
  ASSERT_TRUE(eventually(
      [&] {
        retry = call("POST", applyPath(), seeker);
        return retry.status != 503;
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(retry.json()["id"], first.json()["id"]);
  EXPECT_EQ(redis.command({"HLEN", rooms::keys::applications(room_id)}), "1");
}

// Redis stops answering while an apply is on its way: the answer must not
// claim that nothing was stored. Apply is idempotent, so the retry is safe
// and finds or makes the one application.
TEST_F(RoomsApi, ApplyLostWithRedisSaysTheOutcomeIsUnknownAndItsRetryKeepsOneApplication) {
  seed();
  ASSERT_EQ(call("PUT", "/me/profile", seeker, profileBody()).status, 200);
  redis.pause();
  auto lost = call("POST", applyPath(), seeker);
  redis.resume();
  EXPECT_EQ(lost.status, 503) << lost.body;
  EXPECT_EQ(lost.json()["error"]["code"], "outcome_unknown") << lost.body;
  EXPECT_EQ(lost.header("retry-after"), "1");
  HttpResponse retry;
  ASSERT_TRUE(eventually(
      [&] {
        retry = call("POST", applyPath(), seeker);
        return retry.status != 503;
      },
      std::chrono::seconds(10)));
  EXPECT_TRUE(retry.status == 200 || retry.status == 201) << retry.body;
  EXPECT_EQ(redis.command({"HLEN", rooms::keys::applications(room_id)}), "1");
}

TEST_F(RoomsApi, ProfileIsEncryptedAuditedAndDeletable) {
  seed();
  auto put = call("PUT", "/me/profile", seeker, profileBody());
  ASSERT_EQ(put.status, 200) << put.body;
  std::string raw = redis.command({"HGETALL", rooms::keys::profile("seeker-1")});
  EXPECT_FALSE(raw.empty());
  EXPECT_EQ(raw.find("13800138000"), std::string::npos);
  EXPECT_EQ(raw.find("Bayar"), std::string::npos);
  EXPECT_EQ(raw.find("veteran"), std::string::npos);
  auto mine = call("GET", "/me/profile", seeker);
  ASSERT_EQ(mine.status, 200);
  EXPECT_EQ(mine.json()["phone"], "13800138000");
  EXPECT_EQ(mine.json()["key_group"], "veteran");
  // The log never carries the phone number.
  EXPECT_EQ(node.log().find("13800138000"), std::string::npos);

  auto app = call("POST", applyPath(), seeker);
  ASSERT_EQ(app.status, 201);
  std::string app_id = app.json()["id"];
  EXPECT_EQ(redis.command({"XLEN", rooms::keys::audit(room_id)}), "0");
  auto list = call("GET", "/rooms/" + room_id + "/applications", acme);
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.json()["items"].size(), 1u);
  EXPECT_EQ(list.json()["total"], 1);
  EXPECT_EQ(list.json()["items"][0]["profile"]["phone"], "13800138000");
  EXPECT_EQ(redis.command({"XLEN", rooms::keys::audit(room_id)}), "1");
  std::string audit = redis.command({"XRANGE", rooms::keys::audit(room_id), "-", "+"});
  EXPECT_NE(audit.find("acme"), std::string::npos);
  EXPECT_NE(audit.find("seeker-1"), std::string::npos);
  EXPECT_NE(audit.find(app_id), std::string::npos);

  auto patched = call("PATCH", "/applications/" + app_id, acme, json{{"status", "viewed"}});
  ASSERT_EQ(patched.status, 200);
  EXPECT_EQ(call("PATCH", "/applications/" + app_id, acme, json{{"status", "hired"}}).status, 409);
  auto my_apps = call("GET", "/me/applications", seeker);
  ASSERT_EQ(my_apps.status, 200);
  ASSERT_EQ(my_apps.json()["items"].size(), 1u);
  EXPECT_EQ(my_apps.json()["items"][0]["status"], "viewed");

  EXPECT_EQ(call("DELETE", "/me/profile", seeker).status, 204);
  EXPECT_EQ(call("GET", "/me/profile", seeker).status, 404);
  EXPECT_EQ(call("DELETE", "/me/profile", seeker).status, 404);
  EXPECT_EQ(redis.command({"EXISTS", rooms::keys::profile("seeker-1")}), "0");
  auto after = call("GET", "/rooms/" + room_id + "/applications", acme);
  ASSERT_EQ(after.status, 200);
  EXPECT_TRUE(after.json()["items"][0]["profile"].is_null());
  EXPECT_EQ(after.json()["items"][0]["profile_deleted"], true);
  EXPECT_EQ(call("GET", "/rooms/" + room_id).json()["counts"]["applications"], 1);
  // Staff see the anonymous per-group counts; viewers do not.
  EXPECT_EQ(call("GET", "/rooms/" + room_id, acme)
                .json()["counts"]["applications_by_key_group"]["veteran"],
            1);
  EXPECT_FALSE(
      call("GET", "/rooms/" + room_id).json()["counts"].contains("applications_by_key_group"));
}

TEST_F(RoomsApi, ApplicationsArePaginated) {
  seed();
  for (int i = 0; i < 5; ++i) {
    std::string who = token(Role::Jobseeker, "page-" + std::to_string(i));
    ASSERT_EQ(call("PUT", "/me/profile", who, profileBody()).status, 200);
    ASSERT_EQ(call("POST", applyPath(), who).status, 201);
  }
  auto first = call("GET", "/rooms/" + room_id + "/applications?limit=2", acme).json();
  EXPECT_EQ(first["items"].size(), 2u);
  EXPECT_EQ(first["total"], 5);
  EXPECT_EQ(first["next_offset"], 2);
  auto last = call("GET", "/rooms/" + room_id + "/applications?offset=4&limit=2", acme).json();
  EXPECT_EQ(last["items"].size(), 1u);
  EXPECT_TRUE(last["next_offset"].is_null());
}

// A node with small limits, from a config file.
class RoomsApiLimits : public RoomsApi {
 protected:
  static std::vector<std::string> configArgs() {
    static TempDir dir("jobcast-limits");
    std::string path = dir.path() + "/jobcast.yaml";
    std::ofstream(path) << "server:\n  max_body_bytes: 2048\n"
                           "limits:\n  api_rate_per_second: 1\n  api_rate_burst: 5\n";
    return {"--config", path};
  }
  RoomsApiLimits() : RoomsApi(configArgs()) {}
};

TEST_F(RoomsApiLimits, BodiesOverTheLimitGet413) {
  json job = goodJob();
  job["description"] = std::string(4000, 'x');
  auto big = call("POST", "/rooms/any/jobs", acme, job);
  EXPECT_EQ(big.status, 413);
}

TEST_F(RoomsApiLimits, TooManyRequestsGet429PerUser) {
  int limited = 0;
  std::string retry_after;
  for (int i = 0; i < 10; ++i) {
    auto r = call("GET", "/me/applications", seeker);
    if (r.status == 429) {
      ++limited;
      retry_after = r.header("retry-after");
      EXPECT_EQ(r.json()["error"]["code"], "rate_limited");
    }
  }
  EXPECT_GE(limited, 4);
  EXPECT_FALSE(retry_after.empty());
  // Another user is not held back by the first one.
  EXPECT_EQ(call("GET", "/me/applications", token(Role::Jobseeker, "other")).status, 200);
}

// REST honours the token's rooms claim, as the WebSocket does: a token scoped
// to one room acts in no other, admins included.
TEST_F(RoomsApi, TokensActOnlyInTheRoomsTheyName) {
  seed();
  std::string rooms = "/rooms/" + room_id;
  // A jobseeker token for room B does not apply in room A.
  std::string seeker_b = token(Role::Jobseeker, "seeker-1", {"room-b"});
  ASSERT_EQ(call("PUT", "/me/profile", seeker, profileBody()).status, 200);
  auto refused = call("POST", applyPath(), seeker_b);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.json()["error"]["code"], "forbidden");
  EXPECT_EQ(call("POST", applyPath(), token(Role::Jobseeker, "seeker-1", {room_id})).status, 201);
  // An admin token scoped to another room does not read this room's applications.
  auto admin_b = token(Role::Admin, "root", {"room-b"});
  EXPECT_EQ(call("GET", rooms + "/applications", admin_b).status, 403);
  EXPECT_EQ(call("GET", rooms + "/applications", token(Role::Admin, "root", {room_id})).status,
            200);
  // An employer token scoped to one room neither creates rooms nor runs others.
  auto acme_b = token(Role::Employer, "acme", {"room-b"});
  EXPECT_EQ(
      call("POST", "/rooms", acme_b, json{{"title", "C"}, {"scheduled_at", 1767225600}}).status,
      403);
  EXPECT_EQ(call("POST", rooms + "/start", acme_b).status, 403);
  EXPECT_EQ(call("POST", rooms + "/jobs", acme_b, goodJob()).status, 403);
  EXPECT_EQ(call("POST", rooms + "/jobs/" + job_id + "/pin", acme_b).status, 403);
  EXPECT_EQ(call("POST", rooms + "/start", token(Role::Employer, "acme", {room_id})).status, 200);
  // A counsellor's "*" token gives nothing in a room that does not list them.
  auto stranger_coach = token(Role::Counsellor, "coach-9", {"*"});
  EXPECT_EQ(call("POST", rooms + "/jobs/" + job_id + "/pin", stranger_coach).status, 403);
  // The staff view of a room follows the same policy.
  EXPECT_FALSE(
      call("GET", rooms, stranger_coach).json()["counts"].contains("applications_by_key_group"));
  EXPECT_TRUE(call("GET", rooms, token(Role::Counsellor, "coach-1"))
                  .json()["counts"]
                  .contains("applications_by_key_group"));
}

}  // namespace
}  // namespace jobcast::test
