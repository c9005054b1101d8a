// The jobseeker's side beyond applying, through a real jobcastd and
// redis-server: following rooms, their calendar file, the reminder.due
// webhook (once across two nodes), recommendations (what fits, what never
// does, each recorded and counted once) and the employer's back office of
// applicants across its rooms.

#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tokens.h"
#include "tests/support/webhook_receiver.h"

namespace jobcast::test {
namespace {

using nlohmann::json;

class JobseekerApi : public ::testing::Test {
 protected:
  std::unique_ptr<Jobcastd> startNode(const std::string& extra = "") {
    std::ofstream(config) << "webhooks:\n  backoff_ms: 20\n  backoff_max_ms: 100\n"
                             "  claim_idle_ms: 1000\n  sweep_ms: 20\n"
                          << extra;
    auto n = std::make_unique<Jobcastd>(
        Jobcastd::Options{.args = {"--config", config}, .redis = redis.address()});
    n->start();
    return n;
  }

  HttpResponse call(const std::string& method, const std::string& path, const std::string& bearer,
                    const json& body = nullptr, Jobcastd* on = nullptr) {
    HttpRequest request;
    request.method = method;
    request.url = (on ? on : node.get())->url("/api/v1" + path);
    if (!body.is_null()) {
      request.body = body.dump();
      request.headers.emplace_back("content-type", "application/json");
    }
    if (!bearer.empty())
      request.headers.emplace_back("authorization", "Bearer " + bearer);
    return http(request);
  }

  void employer(const std::string& id) {
    ASSERT_EQ(call("POST", "/employers", admin, {{"id", id}, {"name", id}}).status, 201);
    ASSERT_EQ(call("POST", "/employers/" + id + "/verify", admin).status, 200);
  }

  std::string room(const std::string& boss, const std::string& title, const std::string& region,
                   int64_t starts) {
    auto r = call("POST", "/rooms", boss,
                  {{"title", title}, {"region_code", region}, {"scheduled_at", starts}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("id", "");
  }

  std::string job(const std::string& boss, const std::string& room_id, const std::string& title,
                  int64_t wage_min, int64_t wage_max, const std::string& description = "") {
    auto r = call("POST", "/rooms/" + room_id + "/jobs", boss,
                  {{"title", title},
                   {"wage_min", wage_min},
                   {"wage_max", wage_max},
                   {"wage_unit", "month"},
                   {"hours", "8h"},
                   {"location", "Baotou"},
                   {"headcount", 2},
                   {"description", description}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("id", "");
  }

  std::string apply(const std::string& seeker, const std::string& room_id,
                    const std::string& job_id) {
    auto r = call("POST", "/rooms/" + room_id + "/jobs/" + job_id + "/apply", seeker);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("id", "");
  }

  RedisServer redis;
  TempDir dir{"jobcast-jobseeker"};
  std::string config = dir.path() + "/jobcast.yaml";
  std::unique_ptr<Jobcastd> node;
  std::string admin = signToken(Role::Admin, "root", {"*"});
  std::string acme = signToken(Role::Employer, "acme", {"*"});
  std::string seeker = signToken(Role::Jobseeker, "seeker-1", {"*"});
  std::string seeker2 = signToken(Role::Jobseeker, "seeker-2", {"*"});
};

// The lines of a calendar file, each checked for RFC 5545's CRLF and its 75
// octet limit; folded lines joined again.
std::vector<std::string> icsLines(const std::string& text) {
  std::vector<std::string> physical;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find("\r\n", at);
    EXPECT_NE(end, std::string::npos) << "a line without CRLF";
    if (end == std::string::npos)
      break;
    physical.push_back(text.substr(at, end - at));
    EXPECT_LE(end - at, 75u) << physical.back();
    at = end + 2;
  }
  std::vector<std::string> out;
  for (const auto& line : physical) {
    if (!line.empty() && line[0] == ' ' && !out.empty())
      out.back() += line.substr(1);
    else
      out.push_back(line);
  }
  return out;
}

TEST_F(JobseekerApi, FollowUnfollowAndTheRoomsCalendarFile) {
  node = startNode();
  employer("acme");
  // 2026-01-01 08:00 in Hohhot is 00:00 UTC.
  const std::string title =
      "Spring fair, Baotou; welders \\ drivers — 春季招聘会，包头市昆都仑区的焊工和司机岗位专场";
  const std::string id = room(acme, title, "150203", 1767225600);

  auto followed = call("PUT", "/rooms/" + id + "/follow", seeker, json::object());
  ASSERT_EQ(followed.status, 200) << followed.body;
  EXPECT_EQ(followed.json()["following"], true);
  EXPECT_EQ(call("PUT", "/rooms/" + id + "/follow", seeker, json::object()).status,
            200);  // twice is once
  EXPECT_EQ(call("PUT", "/rooms/" + id + "/follow", acme, json::object()).status, 403);
  EXPECT_EQ(call("PUT", "/rooms/" + id + "/follow", "", json::object()).status, 401);
  EXPECT_EQ(call("PUT", "/rooms/nope/follow", seeker, json::object()).status, 404);

  auto mine = call("GET", "/me/follows", seeker).json();
  ASSERT_EQ(mine["items"].size(), 1u) << mine.dump();
  EXPECT_EQ(mine["items"][0]["id"], id);
  EXPECT_EQ(mine["items"][0]["calendar_url"], "/api/v1/rooms/" + id + "/calendar.ics");
  EXPECT_EQ(redis.command({"SCARD", "jc:{r:" + id + "}:followers"}), "1");
  EXPECT_EQ(call("GET", "/me/follows", seeker2).json()["items"].size(), 0u);

  auto ics = call("GET", "/rooms/" + id + "/calendar.ics", "");
  ASSERT_EQ(ics.status, 200);
  EXPECT_EQ(ics.header("content-type"), "text/calendar; charset=utf-8");
  auto lines = icsLines(ics.body);
  auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  EXPECT_EQ(lines.front(), "BEGIN:VCALENDAR");
  EXPECT_EQ(lines.back(), "END:VCALENDAR");
  EXPECT_TRUE(has("BEGIN:VEVENT"));
  EXPECT_TRUE(has("UID:" + id + "@jobcast"));
  EXPECT_TRUE(has("DTSTART:20260101T000000Z"));
  EXPECT_TRUE(has("VERSION:2.0"));
  EXPECT_TRUE(
      has("SUMMARY:Spring fair\\, Baotou\\; welders \\\\ drivers — "
          "春季招聘会，包头市昆都仑区的焊工和司机岗位专场"))
      << ics.body;
  bool url = false;
  for (const auto& l : lines)
    url = url || (l.rfind("URL:http://", 0) == 0 && l.size() > 5 + id.size() &&
                  l.substr(l.size() - id.size() - 6) == "/room/" + id);
  EXPECT_TRUE(url) << ics.body;
  // Folding never splits a UTF-8 character: no continued line starts inside one.
  for (size_t at = ics.body.find("\r\n "); at != std::string::npos;
       at = ics.body.find("\r\n ", at + 3)) {
    ASSERT_LT(at + 3, ics.body.size());
    EXPECT_NE(static_cast<unsigned char>(ics.body[at + 3]) & 0xC0, 0x80);
  }
  EXPECT_EQ(call("GET", "/rooms/nope/calendar.ics", "").status, 404);

  ASSERT_EQ(call("DELETE", "/rooms/" + id + "/follow", seeker, json::object()).status, 200);
  EXPECT_EQ(call("GET", "/me/follows", seeker).json()["items"].size(), 0u);
  EXPECT_EQ(redis.command({"SCARD", "jc:{r:" + id + "}:followers"}), "0");

  // An ended room cannot be followed.
  ASSERT_EQ(call("POST", "/rooms/" + id + "/start", acme).status, 200);
  ASSERT_EQ(call("POST", "/rooms/" + id + "/end", acme).status, 200);
  auto late = call("PUT", "/rooms/" + id + "/follow", seeker, json::object());
  EXPECT_EQ(late.status, 409);
  EXPECT_EQ(late.json()["error"]["code"], "room_ended");
}

TEST_F(JobseekerApi, ReminderDueReachesTheGatewayOncePerFollowerAcrossTwoNodes) {
  const std::string reminders = "reminders:\n  lead_s: 3600\n  sweep_ms: 30\n";
  node = startNode(reminders);
  auto second = startNode(reminders);
  Receiver receiver([](const Delivery&, int) { return 200; });
  auto hook = call("POST", "/admin/webhooks", admin,
                   {{"url", receiver.url()}, {"events", {"reminder.due"}}});
  ASSERT_EQ(hook.status, 201) << hook.body;
  const std::string secret = hook.json().value("secret", "");
  employer("acme");
  // Far off: followed, but not due yet.
  const std::string later = room(acme, "Autumn fair", "150200", std::time(nullptr) + 86400);
  ASSERT_EQ(call("PUT", "/rooms/" + later + "/follow", seeker, json::object()).status, 200);
  // Starts in ten minutes, inside the hour of lead time.
  const int64_t starts = std::time(nullptr) + 600;
  const std::string soon = room(acme, "Spring fair", "150200", starts);
  ASSERT_EQ(call("PUT", "/rooms/" + soon + "/follow", seeker, json::object()).status, 200);
  ASSERT_EQ(call("PUT", "/rooms/" + soon + "/follow", seeker2, json::object(), second.get()).status,
            200);

  ASSERT_TRUE(receiver.waitFor([](const auto& got) { return countAccepted(got) >= 2; }))
      << node->log();
  // Both nodes sweep every 30 ms; once the room left the queue and its
  // outbox is empty nothing more can come.
  ASSERT_TRUE(eventually([&] {
    return redis.command({"ZSCORE", "jc:{reminders}:due", soon}).empty() &&
           redis.command({"XLEN", "jc:{r:" + soon + "}:outbox"}) == "0" &&
           redis.command({"XLEN", "jc:{webhooks}:deliveries"}) == "0";
  }));
  auto got = receiver.got();
  ASSERT_EQ(got.size(), 2u);
  std::set<std::string> users;
  for (const auto& d : got) {
    EXPECT_TRUE(validSignature(d, secret));
    json p = d.payload();
    EXPECT_EQ(p["type"], "reminder.due");
    const json& data = p["data"];
    EXPECT_EQ(data["room_id"], soon);
    EXPECT_EQ(data["title"], "Spring fair");
    EXPECT_EQ(data["starts_at"], starts);
    EXPECT_EQ(data["url"].get<std::string>().substr(data["url"].get<std::string>().size() -
                                                    soon.size() - 6),
              "/room/" + soon);
    users.insert(data["user"].get<std::string>());
    // What an SMS gateway needs and nothing personal: no name, no phone.
    std::set<std::string> fields;
    for (const auto& [k, v] : data.items())
      fields.insert(k);
    EXPECT_EQ(fields, (std::set<std::string>{"room_id", "title", "starts_at", "url", "user"}));
  }
  EXPECT_EQ(users, (std::set<std::string>{"seeker-1", "seeker-2"}));
  // The far room stays queued for its own time.
  EXPECT_FALSE(redis.command({"ZSCORE", "jc:{reminders}:due", later}).empty());
}

std::pair<int, int> quarterNow() {
  time_t local = std::time(nullptr) + 8 * 3600;
  std::tm tm{};
  gmtime_r(&local, &tm);
  return {tm.tm_year + 1900, tm.tm_mon / 3 + 1};
}

TEST_F(JobseekerApi, RecommendationsFitTheProfileAndAreCountedOncePerPersonAndJob) {
  node = startNode();
  employer("acme");
  const int64_t soon = std::time(nullptr) + 86400;
  const std::string county = room(acme, "Kundulun fair", "150203", soon);
  const std::string forklift =
      job(acme, county, "Forklift driver", 6000, 8000, "forklift licence needed");
  const std::string cook = job(acme, county, "Cook", 3000, 4000);  // below their wage
  const std::string city = room(acme, "Baotou fair", "150200", soon);
  const std::string welder = job(acme, city, "Welder", 5500, 7000, "welding of steel frames");
  const std::string applied = job(acme, city, "Forklift driver (night)", 7000, 9000, "forklift");
  const std::string hohhot = room(acme, "Hohhot fair", "150100", soon);
  const std::string clerk = job(acme, hohhot, "Warehouse clerk", 5000, 6000);
  const std::string packer = job(acme, hohhot, "Packer", 5200, 6000);
  const std::string beijing = room(acme, "Beijing fair", "110000", soon);
  job(acme, beijing, "Forklift driver", 9000, 12000, "forklift");  // another province
  const std::string ended = room(acme, "Old fair", "150203", soon);
  const std::string old_job = job(acme, ended, "Forklift driver", 9000, 9500, "forklift");
  ASSERT_EQ(call("POST", "/rooms/" + ended + "/start", acme).status, 200);
  ASSERT_EQ(call("POST", "/rooms/" + ended + "/end", acme).status, 200);

  EXPECT_EQ(call("GET", "/me/recommendations", seeker).status, 409);  // no profile yet
  ASSERT_EQ(call("PUT", "/me/profile", seeker,
                 {{"name", "Bayar"},
                  {"phone", "13800138000"},
                  {"cv", "Forklift licence, some welding"},
                  {"region_code", "150203"},
                  {"wage_min", 5000}})
                .status,
            200);
  ASSERT_EQ(call("POST", "/rooms/" + city + "/start", acme).status, 200);
  apply(seeker, city, applied);

  auto r = call("GET", "/me/recommendations?limit=10", seeker);
  ASSERT_EQ(r.status, 200) << r.body;
  const json items = r.json()["items"];
  ASSERT_GE(items.size(), 3u) << items.dump();
  std::set<std::string> jobs;
  for (const auto& item : items)
    jobs.insert(item["job"]["id"].get<std::string>());
  EXPECT_EQ(jobs, (std::set<std::string>{forklift, welder, clerk, packer})) << items.dump();
  EXPECT_FALSE(jobs.count(cook));     // pays less than they look for
  EXPECT_FALSE(jobs.count(applied));  // applied already
  EXPECT_FALSE(jobs.count(old_job));  // the room ended
  // Best first, with why.
  EXPECT_EQ(items[0]["job"]["id"], forklift);
  std::set<std::string> why;
  for (const auto& reason : items[0]["reasons"])
    why.insert(reason["code"].get<std::string>());
  EXPECT_TRUE(why.count("same_county") && why.count("wage_at_least") && why.count("cv_words"))
      << items[0].dump();
  for (const auto& item : items) {
    if (item["job"]["id"] == welder) {
      EXPECT_EQ(item["reasons"][0]["code"], "same_city");
    }
    if (item["job"]["id"] == clerk) {
      EXPECT_EQ(item["reasons"][0]["code"], "same_province");
    }
  }

  // Asking again records nothing new: the report counts each job once.
  ASSERT_EQ(call("GET", "/me/recommendations?limit=10", seeker).status, 200);
  EXPECT_EQ(redis.command({"SCARD", "jc:{u:seeker-1}:recommended"}), "4");
  const auto [year, quarter] = quarterNow();
  auto report = call("GET",
                     "/reports/quarterly?year=" + std::to_string(year) +
                         "&quarter=" + std::to_string(quarter) + "&region=15",
                     admin);
  ASSERT_EQ(report.status, 200) << report.body;
  const json total = report.json()["figures"];
  EXPECT_EQ(total["recommendations"], 4) << total.dump();
  EXPECT_EQ(total["people_recommended"], 1);
  EXPECT_EQ(total["people_reached_3_recommendations"], 1);

  EXPECT_EQ(call("GET", "/me/recommendations", acme).status, 403);
  EXPECT_EQ(call("GET", "/me/recommendations?limit=1", seeker).status, 400);
}

// The schedules a jobseeker accepts leave out jobs organised otherwise, and a
// job the employer opened to the jobseeker's own (consented) key group ranks
// first, with why; the employer's side never learns the group from it.
TEST_F(JobseekerApi, RecommendationsWeighScheduleAndTheJobseekersKeyGroup) {
  node = startNode();
  employer("acme");
  const std::string fair = room(acme, "Dongsheng fair", "150602", std::time(nullptr) + 86400);
  auto add = [&](const std::string& title, const json& extra) {
    json card = {{"title", title},       {"wage_min", 5000},  {"wage_max", 6000},
                 {"wage_unit", "month"}, {"hours", "8h/day"}, {"location", "Ordos"},
                 {"headcount", 2}};
    card.update(extra);
    auto r = call("POST", "/rooms/" + fair + "/jobs", acme, card);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("id", "");
  };
  const std::string guard = add("Gate guard", {{"schedule", "shifts"}, {"open_to", {"veteran"}}});
  const std::string driver = add("Driver", {{"schedule", "full_time"}});
  const std::string cashier =
      add("Cashier", {{"schedule", "part_time"}, {"open_to", {"graduate"}}});
  const std::string porter = add("Porter", json::object());  // no schedule stated
  auto card = call("GET", "/rooms/" + fair, seeker).json();
  bool seen = false;
  for (const auto& j : card["jobs"]) {
    if (j["id"] == guard) {
      EXPECT_EQ(j["schedule"], "shifts");
      EXPECT_EQ(j["open_to"], json::array({"veteran"}));
      seen = true;
    }
  }
  EXPECT_TRUE(seen) << card.dump();
  // Bad input names the field; nothing is stored.
  auto bad = call("POST", "/rooms/" + fair + "/jobs", acme,
                  {{"title", "X"},
                   {"wage_min", 1},
                   {"wage_max", 2},
                   {"wage_unit", "month"},
                   {"hours", "8h"},
                   {"location", "Ordos"},
                   {"headcount", 1},
                   {"open_to", {"astronaut"}}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("open_to"), std::string::npos) << bad.body;
  bad = call("PUT", "/me/profile", seeker,
             {{"name", "Bat"}, {"phone", "13800138000"}, {"schedules", {"night"}}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("schedules"), std::string::npos) << bad.body;

  ASSERT_EQ(call("PUT", "/me/profile", seeker,
                 {{"name", "Bat"},
                  {"phone", "13800138000"},
                  {"region_code", "150602"},
                  {"schedules", {"shifts", "full_time"}},
                  {"key_group", "veteran"},
                  {"key_group_consent", true}})
                .status,
            200);
  auto r = call("GET", "/me/recommendations?limit=10", seeker);
  ASSERT_EQ(r.status, 200) << r.body;
  const json items = r.json()["items"];
  std::vector<std::string> order;
  for (const auto& item : items)
    order.push_back(item["job"]["id"].get<std::string>());
  // The part-time cashier does not fit; the guard's post is open to veterans.
  EXPECT_EQ(order, (std::vector<std::string>{guard, driver, porter})) << items.dump();
  std::set<std::string> why;
  for (const auto& reason : items[0]["reasons"])
    if (reason.contains("value") && reason["value"].is_string())
      why.insert(reason["code"].get<std::string>() + ":" + reason["value"].get<std::string>());
  EXPECT_TRUE(why.count("schedule:shifts") && why.count("open_to_key_group:veteran"))
      << items[0].dump();
  (void)cashier;

  // Without the consent there is no key group, so nothing ranks by it.
  ASSERT_EQ(call("PUT", "/me/profile", seeker2,
                 {{"name", "Saran"}, {"phone", "13800138001"}, {"region_code", "150602"}})
                .status,
            200);
  r = call("GET", "/me/recommendations?limit=10", seeker2);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["items"].size(), 4u) << r.body;
  for (const auto& item : r.json()["items"])
    for (const auto& reason : item["reasons"])
      EXPECT_NE(reason["code"], "open_to_key_group") << item.dump();
}

TEST_F(JobseekerApi, TheEmployerSeesAllItsApplicantsAcrossRoomsAndNoOneElseDoes) {
  node = startNode();
  employer("acme");
  employer("beta");
  const std::string beta = signToken(Role::Employer, "beta", {"*"});
  const int64_t soon = std::time(nullptr) + 86400;
  const std::string one = room(acme, "Fair one", "150200", soon);
  const std::string two = room(acme, "Fair two", "150100", soon);
  const std::string theirs = room(beta, "Beta fair", "150100", soon);
  const std::string j1 = job(acme, one, "Welder", 5000, 6000);
  const std::string j2 = job(acme, two, "Cook", 4000, 5000);
  const std::string j3 = job(beta, theirs, "Driver", 4000, 5000);
  for (const auto& id : {one, two, theirs})
    ASSERT_EQ(call("POST", "/rooms/" + id + "/start", id == theirs ? beta : acme).status, 200);
  ASSERT_EQ(call("PUT", "/me/profile", seeker,
                 {{"name", "Bayar"},
                  {"phone", "13800138000"},
                  {"key_group_consent", true},
                  {"key_group", "rural_migrant_worker"},
                  {"key_group_shared_with_employers", true}})
                .status,
            200);
  ASSERT_EQ(call("PUT", "/me/profile", seeker2,
                 {{"name", "Saran"},
                  {"phone", "13900139000"},
                  {"key_group_consent", true},
                  {"key_group", "graduate"}})
                .status,
            200);
  const std::string a1 = apply(seeker, one, j1);
  apply(seeker2, two, j2);
  apply(seeker2, theirs, j3);
  ASSERT_EQ(call("PATCH", "/applications/" + a1, acme, {{"status", "viewed"}}).status, 200);

  auto r = call("GET", "/employers/acme/applicants", acme);
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = r.json();
  ASSERT_EQ(body["rooms"].size(), 2u);
  ASSERT_EQ(body["items"].size(), 2u) << body.dump();
  std::map<std::string, json> by_name;
  for (const auto& item : body["items"]) {
    EXPECT_TRUE(item["room_id"] == one || item["room_id"] == two);
    by_name[item["profile"]["name"].get<std::string>()] = item;
  }
  EXPECT_EQ(by_name["Bayar"]["status"], "viewed");
  EXPECT_EQ(by_name["Bayar"]["profile"]["key_group"], "rural_migrant_worker");  // shared
  EXPECT_TRUE(by_name["Saran"]["profile"]["key_group"].is_null());  // consented, not shared
  // Each profile read is audited in its room.
  EXPECT_NE(redis.command({"XLEN", "jc:{r:" + one + "}:audit"}), "0");

  EXPECT_EQ(call("GET", "/employers/acme/applicants", beta).status, 403);
  EXPECT_EQ(call("GET", "/employers/acme/applicants", seeker).status, 403);
  EXPECT_EQ(call("GET", "/employers/acme/applicants", "").status, 401);
  EXPECT_EQ(call("GET", "/employers/acme/applicants", admin).json()["items"].size(), 2u);
  // A token for one room of the employer sees that room only.
  const std::string scoped = signToken(Role::Employer, "acme", {one});
  auto narrow = call("GET", "/employers/acme/applicants", scoped).json();
  ASSERT_EQ(narrow["rooms"].size(), 1u);
  EXPECT_EQ(narrow["items"].size(), 1u);
}

}  // namespace
}  // namespace jobcast::test
