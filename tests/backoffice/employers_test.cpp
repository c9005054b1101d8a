// Employers registering themselves through the real jobcastd and
// redis-server: the unified social credit code's check character (GB
// 32100-2015), admins' decisions and their audit, and that only verified
// employers go live.

#include <gtest/gtest.h>

#include <string>

#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/tokens.h"

namespace jobcast::test {
namespace {

using nlohmann::json;

// The standard's check character, computed here independently of the server:
// characters valued 0..30 in this order, position i weighted 3^i mod 31.
std::string withCheck(const std::string& first17) {
  const std::string chars = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  int sum = 0, weight = 1;
  for (char c : first17) {
    sum += static_cast<int>(chars.find(c)) * weight;
    weight = weight * 3 % 31;
  }
  return first17 + chars[(31 - sum % 31) % 31];
}

class Employers : public ::testing::Test {
 protected:
  Employers() : node({.redis = redis.address()}) { node.start(); }

  HttpResponse call(const std::string& method, const std::string& path, const std::string& bearer,
                    const json& body = nullptr) {
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
  json registration(const std::string& code) {
    return {{"name", "包头稀土机械有限公司"},
            {"credit_code", code},
            {"contact_name", "王经理"},
            {"contact_phone", "13800138000"},
            {"region_code", "150200"}};
  }
  // The audit stream's entries for one employer, oldest first, as field maps.
  std::vector<std::map<std::string, std::string>> audit(const std::string& id) {
    std::vector<std::map<std::string, std::string>> out;
    std::istringstream lines(redis.command({"XRANGE", "jc:{employers}:audit", "-", "+"}));
    // redis-cli prints each entry as its id then field/value lines.
    std::vector<std::string> all;
    for (std::string l; std::getline(lines, l);)
      all.push_back(l);
    std::map<std::string, std::string> cur;
    for (size_t i = 0; i < all.size(); ++i) {
      if (all[i] == "employer" && i + 1 < all.size()) {
        if (!cur.empty() && cur["employer"] == id)
          out.push_back(cur);
        cur.clear();
      }
      static const std::set<std::string> names = {"employer", "decision", "from",
                                                  "by",       "at",       "reason"};
      if (names.count(all[i]) && i + 1 < all.size()) {
        cur[all[i]] = all[i + 1];
        ++i;
      }
    }
    if (!cur.empty() && cur["employer"] == id)
      out.push_back(cur);
    return out;
  }

  RedisServer redis;
  Jobcastd node;
  std::string admin = signToken(Role::Admin, "root", {"*"});
};

TEST(CreditCode, CheckCharacterOfKnownCodes) {
  // A widely published example code; its last character is the check character.
  EXPECT_EQ(withCheck("91350100M000100Y4"), "91350100M000100Y43");
}

TEST_F(Employers, RegisterWithAValidCodeThenAdminsDecideAndEveryDecisionIsAudited) {
  const std::string code = withCheck("91150200MA0N1234X");
  auto r = call("POST", "/employers/register", "", registration(code));
  ASSERT_EQ(r.status, 201) << r.body;
  json e = r.json();
  const std::string id = e["id"];
  EXPECT_EQ(e["status"], "pending");
  EXPECT_EQ(e["verified"], false);
  EXPECT_EQ(e["credit_code"], code);
  EXPECT_EQ(e["region_code"], "150200");
  EXPECT_FALSE(e.contains("contact_phone"));
  // The contact is sealed at rest.
  EXPECT_EQ(redis.command({"HGET", "jc:{employers}:" + id, "contact"}).find("13800138000"),
            std::string::npos);
  // One employer per code.
  EXPECT_EQ(call("POST", "/employers/register", "", registration(code)).status, 409);

  // A pending employer cannot go live.
  std::string boss = signToken(Role::Employer, id, {"*"});
  auto room = call("POST", "/rooms", boss, {{"title", "Fair"}, {"scheduled_at", 1767225600}});
  ASSERT_EQ(room.status, 201) << room.body;
  const std::string room_id = room.json()["id"];
  EXPECT_EQ(call("POST", "/rooms/" + room_id + "/start", boss).status, 409);

  // Only admins decide; suspend needs a verified employer; a reason is required.
  EXPECT_EQ(call("POST", "/employers/" + id + "/verify", boss).status, 403);
  EXPECT_EQ(call("POST", "/employers/" + id + "/suspend", admin, {{"reason", "late"}}).status, 409);
  auto no_reason = call("POST", "/employers/" + id + "/reject", admin, {{"reason", "  "}});
  EXPECT_EQ(no_reason.status, 400);
  EXPECT_EQ(no_reason.json()["error"]["field"], "reason");

  auto verified = call("POST", "/employers/" + id + "/verify", admin);
  ASSERT_EQ(verified.status, 200) << verified.body;
  EXPECT_EQ(verified.json()["status"], "verified");
  auto suspended =
      call("POST", "/employers/" + id + "/suspend", admin, {{"reason", "complaints about wages"}});
  ASSERT_EQ(suspended.status, 200) << suspended.body;
  EXPECT_EQ(suspended.json()["status"], "suspended");
  EXPECT_EQ(suspended.json()["reason"], "complaints about wages");
  // Suspended: not live.
  EXPECT_EQ(call("POST", "/rooms/" + room_id + "/start", boss).status, 409);
  ASSERT_EQ(call("POST", "/employers/" + id + "/verify", admin).status, 200);
  EXPECT_EQ(call("POST", "/rooms/" + room_id + "/start", boss).status, 200);

  auto entries = audit(id);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0]["decision"], "registered");
  EXPECT_EQ(entries[0]["by"], "self");
  EXPECT_EQ(entries[1]["decision"], "verified");
  EXPECT_EQ(entries[1]["from"], "pending");
  EXPECT_EQ(entries[1]["by"], "root");
  EXPECT_EQ(entries[2]["decision"], "suspended");
  EXPECT_EQ(entries[2]["reason"], "complaints about wages");
  EXPECT_EQ(entries[3]["decision"], "verified");
  EXPECT_EQ(entries[3]["from"], "suspended");
  EXPECT_FALSE(entries[3]["at"].empty());
}

TEST_F(Employers, RejectedWithAReason) {
  auto r = call("POST", "/employers/register", "", registration(withCheck("12150000MB1234567")));
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.json()["id"];
  auto rejected =
      call("POST", "/employers/" + id + "/reject", admin, {{"reason", "not an employer"}});
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  EXPECT_EQ(rejected.json()["status"], "rejected");
  EXPECT_EQ(rejected.json()["reason"], "not an employer");
  EXPECT_EQ(audit(id).back()["reason"], "not an employer");
  EXPECT_EQ(call("POST", "/employers/nobody/reject", admin, {{"reason", "x"}}).status, 404);
}

// The admin's queue of decisions: pending employers, oldest first; other
// statuses on request; nobody but admins may list.
TEST_F(Employers, AdminsListThoseAwaitingADecisionOldestFirst) {
  std::vector<std::string> ids;
  for (const char* first17 : {"91150200MA0N1111X", "91150200MA0N2222X", "91150200MA0N3333X"}) {
    auto r = call("POST", "/employers/register", "", registration(withCheck(first17)));
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(r.json()["id"]);
    redis.command({"HSET", "jc:{employers}:" + ids.back(), "created_at",
                   std::to_string(1767225600 - static_cast<int>(ids.size()))});
  }
  ASSERT_EQ(call("POST", "/employers/" + ids[1] + "/verify", admin).status, 200);

  auto pending = call("GET", "/employers?status=pending", admin);
  ASSERT_EQ(pending.status, 200) << pending.body;
  const json page = pending.json();
  std::vector<std::string> listed;
  for (const auto& e : page["items"]) {
    EXPECT_EQ(e["status"], "pending");
    EXPECT_FALSE(e.contains("contact_phone"));
    listed.push_back(e["id"]);
  }
  EXPECT_EQ(listed, (std::vector<std::string>{ids[2], ids[0]}))  // the older registration first
      << pending.body;

  const json verified = call("GET", "/employers?status=verified", admin).json()["items"];
  ASSERT_EQ(verified.size(), 1u);
  EXPECT_EQ(verified[0]["id"], ids[1]);
  EXPECT_EQ(call("GET", "/employers", admin).json()["items"].size(), 3u);

  auto bad = call("GET", "/employers?status=maybe", admin);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json()["error"]["code"], "invalid_query");
  EXPECT_EQ(
      call("GET", "/employers?status=pending", signToken(Role::Employer, ids[0], {"*"})).status,
      403);
  EXPECT_EQ(call("GET", "/employers?status=pending", "").status, 401);
}

TEST_F(Employers, InvalidCodesNameTheField) {
  const std::string good = withCheck("91150200MA0N1234X");
  std::string wrong_check = good;
  wrong_check[17] = wrong_check[17] == '0' ? '1' : '0';
  std::string with_letter_i = withCheck("91150200MA0N1234X");
  with_letter_i[10] = 'I';  // I is not one of the code's characters
  const std::vector<std::string> invalid = {
      wrong_check,
      "91350100M000100Y44",  // the standard's example with a wrong check character
      good.substr(0, 17),    // too short
      with_letter_i,
      "9115020OMA0N1234X" + std::string(1, good[17]),  // a letter in the division code
      "",
  };
  for (const auto& code : invalid) {
    auto r = call("POST", "/employers/register", "", registration(code));
    EXPECT_EQ(r.status, 400) << code << ": " << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "invalid_field") << code;
    EXPECT_EQ(r.json()["error"]["field"], "credit_code") << code;
  }
  json bad_phone = registration(good);
  bad_phone["contact_phone"] = "call me";
  EXPECT_EQ(call("POST", "/employers/register", "", bad_phone).json()["error"]["field"],
            "contact_phone");
  json bad_region = registration(good);
  bad_region["region_code"] = "15020";
  EXPECT_EQ(call("POST", "/employers/register", "", bad_region).json()["error"]["field"],
            "region_code");
}

}  // namespace
}  // namespace jobcast::test
