// Staff accounts through two real jobcastd nodes sharing one redis-server:
// the first admin from the command line, one-time sign-in codes (single use,
// expiry, rate limit), tokens of the account's role, revocation and
// disabling over REST and on an open WebSocket of the other node, and the
// audit of every step.

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <regex>
#include <string>

#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/tokens.h"
#include "tests/support/ws_client.h"

namespace jobcast::test {
namespace {

using nlohmann::json;

std::string sha256Hex(const std::string& text) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d);
  char hex[2 * SHA256_DIGEST_LENGTH + 1];
  for (int i = 0; i < SHA256_DIGEST_LENGTH; ++i)
    std::snprintf(hex + 2 * i, 3, "%02x", d[i]);
  return hex;
}

class Accounts : public ::testing::Test {
 protected:
  Accounts()
      : a({.args = {"--first-admin", "Operations desk"}, .redis = redis.address()}),
        b({.redis = redis.address()}) {
    a.start();
    b.start();
  }

  HttpResponse call(Jobcastd& node, const std::string& method, const std::string& path,
                    const std::string& bearer, const json& body = nullptr) {
    HttpRequest request;
    request.method = method;
    request.url = node.url("/api/v1" + path);
    if (!body.is_null()) {
      request.body = body.dump();
      request.headers.emplace_back("content-type", "application/json");
    }
    if (!bearer.empty())
      request.headers.emplace_back("authorization", "Bearer " + bearer);
    return http(request);
  }
  // An account of `kind` made by the CLI-signed admin `root`.
  json account(const std::string& kind, const std::string& name, const std::string& employer = "") {
    json body = {{"kind", kind}, {"name", name}};
    if (!employer.empty())
      body["employer_id"] = employer;
    auto made = call(a, "POST", "/admin/accounts", root, body);
    EXPECT_EQ(made.status, 201) << made.body;
    return made.json();
  }
  std::string code(const std::string& id, json body = json::object()) {
    auto link = call(a, "POST", "/admin/accounts/" + id + "/links", root, body);
    EXPECT_EQ(link.status, 201) << link.body;
    return link.json().value("code", "");
  }
  HttpResponse signin(Jobcastd& node, const std::string& code) {
    return call(node, "POST", "/signin", "", {{"code", code}});
  }
  // Room "fair" of verified employer acme, listing `counsellor`.
  std::string room(const std::string& counsellor) {
    EXPECT_EQ(call(a, "POST", "/employers", root, {{"id", "acme"}, {"name", "Acme"}}).status, 201);
    EXPECT_EQ(call(a, "POST", "/employers/acme/verify", root).status, 200);
    auto made = call(a, "POST", "/rooms", root,
                     {{"title", "Spring fair"},
                      {"employer_id", "acme"},
                      {"scheduled_at", 1767225600},
                      {"counsellors", {counsellor}}});
    EXPECT_EQ(made.status, 201) << made.body;
    return made.json().value("id", "");
  }
  std::string audit() { return redis.command({"XRANGE", "jc:{accounts}:audit", "-", "+"}); }

  RedisServer redis;
  Jobcastd a, b;
  std::string root = signToken(Role::Admin, "root", {"*"});
};

TEST_F(Accounts, TheFirstAdminSignsInOnceByTheLinkTheCommandLinePrinted) {
  std::smatch m;
  std::string log;
  ASSERT_TRUE(eventually([&] {
    log = a.log();
    return std::regex_search(
        log, m,
        std::regex("first admin (acct_[0-9a-f]+): sign in once at "
                   "(http://127\\.0\\.0\\.1:[0-9]+)/admin#signin=([0-9a-f]{32})"));
  })) << log;
  std::string id = m[1], base = m[2], code = m[3];
  EXPECT_EQ(base, a.url(""));

  auto first = signin(b, code);  // any node redeems it
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json()["account"]["kind"], "admin");
  EXPECT_EQ(first.json()["account"]["created_by"], "cli");
  EXPECT_EQ(first.json()["account"]["name"], "Operations desk");
  std::string token = first.json()["token"];
  auto listed = call(a, "GET", "/admin/accounts", token);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.json()["items"][0]["id"], id);

  // Used once: a second redemption on either node is refused, and no
  // other token comes of it.
  for (Jobcastd* node : {&a, &b}) {
    auto again = signin(*node, code);
    EXPECT_EQ(again.status, 400) << again.body;
    EXPECT_EQ(again.json()["error"]["code"], "invalid_signin_code");
  }
  std::string trail = audit();
  EXPECT_NE(trail.find("cli"), std::string::npos) << trail;
  EXPECT_NE(trail.find("signin"), std::string::npos) << trail;
  EXPECT_EQ(trail.find(code), std::string::npos) << "the code itself is never stored";
}

TEST_F(Accounts, AnEmployerUserSignsInByItsCodeAndActsForItsEmployer) {
  room("nobody");  // acme exists and is verified
  auto refused = call(a, "POST", "/admin/accounts", signToken(Role::Counsellor, "c", {"*"}),
                      {{"kind", "counsellor"}, {"name", "X"}});
  EXPECT_EQ(refused.status, 403);
  auto unbound = call(a, "POST", "/admin/accounts", root, {{"kind", "employer"}, {"name", "W"}});
  EXPECT_EQ(unbound.status, 400);
  EXPECT_EQ(unbound.json()["error"]["field"], "employer_id") << unbound.body;
  auto unknown = call(a, "POST", "/admin/accounts", root,
                      {{"kind", "employer"}, {"name", "W"}, {"employer_id", "nope"}});
  EXPECT_EQ(unknown.status, 400) << unknown.body;

  json wang = account("employer", "Wang Li", "acme");
  EXPECT_EQ(wang["role"], "employer");
  auto in = signin(b, code(wang["id"]));
  ASSERT_EQ(in.status, 200) << in.body;
  std::string token = in.json()["token"];
  // It acts for acme: schedules a room for acme, not for another employer.
  auto own = call(b, "POST", "/rooms", token,
                  {{"title", "Welders"}, {"employer_id", "acme"}, {"scheduled_at", 1767225600}});
  EXPECT_EQ(own.status, 201) << own.body;
  auto other = call(b, "POST", "/rooms", token,
                    {{"title", "Welders"}, {"employer_id", "other"}, {"scheduled_at", 1767225600}});
  EXPECT_EQ(other.status, 403) << other.body;
  // ... and is no admin.
  EXPECT_EQ(call(b, "GET", "/admin/accounts", token).status, 403);

  json sarnai = account("interpreter", "Sarnai");
  EXPECT_EQ(sarnai["role"], "captioner");
}

TEST_F(Accounts, AnExpiredCodeIsRefused) {
  json c = account("counsellor", "Bat");
  EXPECT_EQ(call(a, "POST", "/admin/accounts/" + c["id"].get<std::string>() + "/links", root,
                 {{"ttl_s", 10}})
                .status,
            400);
  std::string text = code(c["id"], {{"ttl_s", 600}});
  std::string key = "jc:{accounts}:code:" + sha256Hex(text);
  long ttl = std::stol(redis.command({"TTL", key}));
  EXPECT_GT(ttl, 500);
  EXPECT_LE(ttl, 600);
  // The code's lifetime is its Redis key's: let it run out.
  redis.command({"PEXPIRE", key, "1"});
  ASSERT_TRUE(eventually([&] { return redis.command({"EXISTS", key}) == "0"; }));
  auto late = signin(a, text);
  EXPECT_EQ(late.status, 400) << late.body;
  EXPECT_EQ(late.json()["error"]["code"], "invalid_signin_code");
}

TEST_F(Accounts, GuessingCodesIsRateLimited) {
  int limited = 0;
  for (int i = 0; i < 15; ++i) {
    auto guess = signin(a, std::string(32, "0123456789abcdef"[i]));
    if (guess.status == 429) {
      ++limited;
      EXPECT_FALSE(guess.header("retry-after").empty());
    } else {
      EXPECT_EQ(guess.status, 400) << guess.body;
    }
  }
  EXPECT_GE(limited, 4);
}

TEST_F(Accounts, RevokingClosesTheOpenWebSocketOnAnotherNodeAndRefusesTheToken) {
  json coach = account("counsellor", "Bat");
  std::string id = coach["id"];
  std::string room_id = room(id);
  auto in = signin(a, code(id));
  ASSERT_EQ(in.status, 200) << in.body;
  std::string token = in.json()["token"];

  // The counsellor is staff of the room on node b.
  auto ws = WsClient::connect(b.httpPort());
  ASSERT_TRUE(ws);
  auto welcome = ws->hello(room_id, token);
  ASSERT_EQ(welcome["type"], "welcome") << welcome.dump();
  // Over REST its token is good (a counsellor does not read applications: 403).
  EXPECT_EQ(call(b, "GET", "/rooms/" + room_id + "/applications", token).status, 403);
  // A listener who is not revoked stays.
  auto viewer = WsClient::connect(b.httpPort());
  ASSERT_EQ(viewer->hello(room_id)["type"], "welcome");

  auto revoked = call(a, "POST", "/admin/accounts/" + id + "/revoke", root);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(revoked.json()["status"], "active");

  auto error = ws->waitFor([](const json& f) { return f.value("type", "") == "error"; });
  EXPECT_EQ(error["code"], "token_revoked") << error.dump();
  EXPECT_EQ(ws->waitClosed(), 4410);
  EXPECT_FALSE(viewer->closed());

  // The old token is refused on both nodes, over REST and at hello.
  for (Jobcastd* node : {&a, &b}) {
    HttpResponse refused;
    ASSERT_TRUE(eventually([&] {
      refused = call(*node, "GET", "/rooms/" + room_id + "/applications", token);
      return refused.status == 401;
    })) << refused.body;
    EXPECT_EQ(refused.json()["error"]["code"], "token_revoked");
  }
  auto again = WsClient::connect(a.httpPort());
  EXPECT_EQ(again->hello(room_id, token)["code"], "token_revoked");
  EXPECT_EQ(again->waitClosed(), 4410);

  // A new code gives a token that works.
  auto back = signin(b, code(id));
  ASSERT_EQ(back.status, 200) << back.body;
  std::string fresh = back.json()["token"];
  auto ws2 = WsClient::connect(a.httpPort());
  EXPECT_EQ(ws2->hello(room_id, fresh)["type"], "welcome");

  // Disabling refuses every token and every new code, until enabled.
  auto disabled = call(b, "POST", "/admin/accounts/" + id + "/disable", root);
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  EXPECT_EQ(disabled.json()["status"], "disabled");
  EXPECT_EQ(ws2->waitClosed(), 4410);
  auto no_link = call(a, "POST", "/admin/accounts/" + id + "/links", root, json::object());
  EXPECT_EQ(no_link.status, 403) << no_link.body;
  EXPECT_EQ(no_link.json()["error"]["code"], "account_disabled");
  auto enabled = call(a, "POST", "/admin/accounts/" + id + "/enable", root);
  ASSERT_EQ(enabled.status, 200) << enabled.body;
  EXPECT_EQ(enabled.json()["status"], "active");
  EXPECT_EQ(call(a, "GET", "/rooms/" + room_id + "/applications", fresh).status, 401);
  EXPECT_EQ(signin(a, code(id)).status, 200);

  // Tokens without an account (jobcastd token) are not affected.
  EXPECT_EQ(call(b, "GET", "/admin/accounts", root).status, 200);
  std::string trail = audit();
  for (const char* action : {"create", "issue_link", "signin", "revoke", "disable", "enable"})
    EXPECT_NE(trail.find(action), std::string::npos) << action << " not audited:\n" << trail;
  EXPECT_NE(trail.find("root"), std::string::npos);
}

// A room that requires review: the employer's card reaches only the staff
// until the counsellor (signed in by its link) approves it; then viewers get
// it, live and in the snapshot, with who approved it.
TEST_F(Accounts, ACardAwaitingReviewReachesViewersOnlyOnceTheCounsellorApprovesIt) {
  json coach = account("counsellor", "Bat");
  std::string coach_id = coach["id"];
  EXPECT_EQ(call(a, "POST", "/employers", root, {{"id", "acme"}, {"name", "Acme"}}).status, 201);
  EXPECT_EQ(call(a, "POST", "/employers/acme/verify", root).status, 200);
  auto made = call(a, "POST", "/rooms", root,
                   {{"title", "Reviewed fair"},
                    {"employer_id", "acme"},
                    {"scheduled_at", 1767225600},
                    {"counsellors", {coach_id}},
                    {"require_review", true}});
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.json()["require_review"], true);
  std::string room_id = made.json()["id"];
  auto in = signin(a, code(coach_id));
  ASSERT_EQ(in.status, 200) << in.body;
  std::string counsellor = in.json()["token"];
  std::string employer = signToken(Role::Employer, "acme", {"*"});
  std::string seeker = signToken(Role::Jobseeker, "seeker-1", {"*"});

  auto viewer = WsClient::connect(b.httpPort());
  ASSERT_EQ(viewer->hello(room_id)["type"], "welcome");
  auto staff = WsClient::connect(b.httpPort());
  ASSERT_EQ(staff->hello(room_id, counsellor)["type"], "welcome");

  auto added = call(a, "POST", "/rooms/" + room_id + "/jobs", employer,
                    {{"title", "Welder"},
                     {"wage_min", 6000},
                     {"wage_max", 9000},
                     {"wage_unit", "month"},
                     {"hours", "8h"},
                     {"location", "Baotou"},
                     {"headcount", 2}});
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(added.json()["review"], json({{"status", "pending"}}));
  std::string job = added.json()["id"];
  // The staff hear of it; viewers neither hear of it nor find it.
  auto heard = staff->waitEvent("job.added");
  EXPECT_EQ(heard["data"]["job"]["review"]["status"], "pending") << heard.dump();
  EXPECT_TRUE(call(b, "GET", "/rooms/" + room_id, "").json()["jobs"].empty());
  EXPECT_EQ(call(b, "GET", "/rooms/" + room_id, counsellor).json()["jobs"].size(), 1u);
  auto late = WsClient::connect(a.httpPort());
  auto welcome = late->hello(room_id, seeker);
  EXPECT_TRUE(welcome["snapshot"]["jobs"].empty()) << welcome.dump();
  // Nobody applies to it or pins it before it is approved.
  ASSERT_EQ(
      call(a, "PUT", "/me/profile", seeker, {{"name", "Ama"}, {"phone", "13800138000"}}).status,
      200);
  EXPECT_EQ(call(a, "POST", "/rooms/" + room_id + "/jobs/" + job + "/apply", seeker).status, 404);
  EXPECT_EQ(call(a, "POST", "/rooms/" + room_id + "/jobs/" + job + "/pin", employer).status, 409);
  // The employer does not approve its own card.
  EXPECT_EQ(call(a, "POST", "/rooms/" + room_id + "/jobs/" + job + "/approve", employer).status,
            403);

  auto approved = call(b, "POST", "/rooms/" + room_id + "/jobs/" + job + "/approve", counsellor);
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(approved.json()["review"]["status"], "approved");
  EXPECT_EQ(approved.json()["review"]["by"], coach_id);
  EXPECT_EQ(approved.json()["review"]["by_name"], "Bat");

  auto shown = viewer->waitEvent("job.approved");
  EXPECT_EQ(shown["data"]["job"]["review"]["by_name"], "Bat") << shown.dump();
  EXPECT_TRUE(viewer->events("job.added").empty()) << "the viewer never got the pending card";
  auto jobs = call(b, "GET", "/rooms/" + room_id, "").json()["jobs"];
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["review"]["by"], coach_id);
  EXPECT_EQ(call(a, "POST", "/rooms/" + room_id + "/jobs/" + job + "/apply", seeker).status, 201);
  EXPECT_EQ(call(a, "POST", "/rooms/" + room_id + "/jobs/" + job + "/approve", counsellor).status,
            409);
}

}  // namespace
}  // namespace jobcast::test
