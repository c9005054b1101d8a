// The stage over REST on a real jobcastd and Redis: the counsellor joins and
// leaves, the event lands in the room's stream, outsiders are refused.

#include <gtest/gtest.h>

#include <ctime>

#include "core/jwt.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"

namespace jobcast::test {
namespace {

const std::string kSecret = "stage-api-test-secret-0123456789";

std::string token(Role role, const std::string& sub, const std::string& room) {
  Claims c;
  c.sub = sub;
  c.role = role;
  c.rooms = {room};
  c.exp = std::time(nullptr) + 600;
  return Jwt(kSecret).sign(c);
}

HttpResponse put(const std::string& url, const nlohmann::json& body, const std::string& bearer) {
  return httpJson("PUT", url, body, bearer);
}

TEST(StageApi, CounsellorJoinsAndLeavesTheStage) {
  RedisServer redis;
  redis.start();
  redis.command({"HSET", "jc:{r:s1}:room", "id", "s1", "status", "live", "employer_id", "emp1",
                 "counsellors", R"(["c1"])"});
  Jobcastd node({.env = {{"JOBCAST_JWT_SECRET", kSecret}}, .redis = redis.address()});
  node.start();
  ASSERT_TRUE(eventually([&] { return httpGet(node.url("/readyz")).status == 200; }));
  std::string employer = token(Role::Employer, "emp1", "s1");
  std::string counsellor = token(Role::Counsellor, "c1", "s1");

  auto r =
      put(node.url("/api/v1/rooms/s1/stage/emp1"), {{"slot", "main"}, {"name", "Acme"}}, employer);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["stage"]["layout"], "passthrough");
  r = put(node.url("/api/v1/rooms/s1/stage/c1"), {{"slot", "guest"}, {"name", "Ms Li"}},
          counsellor);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["stage"]["layout"], "composite");
  std::string event_id = r.json()["event_id"];
  EXPECT_NE(redis.command({"XRANGE", "jc:{r:s1}:events", event_id, event_id}).find("stage.changed"),
            std::string::npos);

  auto got = httpGet(node.url("/api/v1/rooms/s1/stage"));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.json()["guests"][0]["name"], "Ms Li");

  // A jobseeker may not, nor may anyone without a token.
  r = put(node.url("/api/v1/rooms/s1/stage/js"), {{"slot", "guest"}},
          token(Role::Jobseeker, "js", "s1"));
  EXPECT_EQ(r.status, 403);
  r = put(node.url("/api/v1/rooms/s1/stage/js"), {{"slot", "guest"}}, "");
  EXPECT_EQ(r.status, 401);
  r = put(node.url("/api/v1/rooms/s1/stage/x"), {{"slot", "balcony"}}, employer);
  EXPECT_EQ(r.status, 400);

  auto del = http({.method = "DELETE",
                   .url = node.url("/api/v1/rooms/s1/stage/c1"),
                   .headers = {{"Authorization", "Bearer " + counsellor}}});
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(del.json()["stage"]["layout"], "passthrough");
  del = http({.method = "DELETE",
              .url = node.url("/api/v1/rooms/s1/stage/c1"),
              .headers = {{"Authorization", "Bearer " + counsellor}}});
  EXPECT_EQ(del.status, 404);
  EXPECT_EQ(del.json()["error"]["code"], "not_on_stage");
}

// A counsellor's token for every room does not let them change the stage of a
// room that does not list them; a sub that is not UTF-8 is refused and the
// stored stage stays readable.
TEST(StageApi, OnlyListedCounsellorsChangeTheStageAndSubsAreText) {
  RedisServer redis;
  redis.start();
  redis.command({"HSET", "jc:{r:s1}:room", "id", "s1", "status", "live", "employer_id", "emp1",
                 "counsellors", R"(["c1"])"});
  Jobcastd node({.env = {{"JOBCAST_JWT_SECRET", kSecret}}, .redis = redis.address()});
  node.start();
  auto r = put(node.url("/api/v1/rooms/s1/stage/c9"), {{"slot", "guest"}, {"name", "X"}},
               token(Role::Counsellor, "c9", "*"));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "forbidden");
  r = put(node.url("/api/v1/rooms/s1/stage/emp1"), {{"slot", "main"}},
          token(Role::Counsellor, "c9", "*"));
  EXPECT_EQ(r.status, 403);

  std::string counsellor = token(Role::Counsellor, "c1", "s1");
  r = put(node.url("/api/v1/rooms/s1/stage/\xff\xfex"), {{"slot", "guest"}}, counsellor);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("UTF-8"), std::string::npos);
  r = put(node.url("/api/v1/rooms/s1/stage/c1"), {{"slot", "guest"}, {"name", "Ms Li"}},
          counsellor);
  ASSERT_EQ(r.status, 200) << r.body;
  auto got = httpGet(node.url("/api/v1/rooms/s1/stage"));
  EXPECT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.json()["guests"][0]["sub"], "c1");
}

}  // namespace
}  // namespace jobcast::test
