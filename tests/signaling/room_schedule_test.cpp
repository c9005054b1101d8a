// Scheduling rooms after they are created, through the real jobcastd and a
// real redis-server: edit, reschedule and cancel (who may, when, bad input
// changing nothing), what a follower sees (calendar, live events, webhooks),
// staff assigned and unassigned (REST and WebSocket alike), and the list of
// rooms by region and date.

#include <gtest/gtest.h>

#include <ctime>
#include <fstream>

#include "core/jwt.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/webhook_receiver.h"
#include "tests/support/ws_client.h"

namespace jobcast::test {
namespace {

using nlohmann::json;

const char kSecret[] = "test-secret-0123456789abcdef-0123456789";

int64_t nowSeconds() {
  return static_cast<int64_t>(std::time(nullptr));
}

std::string token(Role role, const std::string& sub, std::vector<std::string> rooms = {"*"}) {
  Claims c;
  c.role = role;
  c.sub = sub;
  c.name = sub;
  c.rooms = std::move(rooms);
  c.iat = nowSeconds();
  c.exp = c.iat + 3600;
  return Jwt(kSecret).sign(c);
}

class RoomSchedule : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(config) << "webhooks:\n  backoff_ms: 20\n  backoff_max_ms: 100\n"
                             "  claim_idle_ms: 1000\n  sweep_ms: 20\n"
                             "reminders:\n  lead_s: 3600\n  sweep_ms: 30\n";
    node.start();
    ASSERT_EQ(call("POST", "/employers", admin, {{"id", "acme"}, {"name", "Acme"}}).status, 201);
    ASSERT_EQ(call("POST", "/employers/acme/verify", admin).status, 200);
    ASSERT_EQ(call("POST", "/employers", admin, {{"id", "rival"}, {"name", "Rival"}}).status, 201);
    ASSERT_EQ(call("POST", "/employers/rival/verify", admin).status, 200);
  }

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

  std::string room(const std::string& region, int64_t starts, const std::string& title = "Fair") {
    auto r = call("POST", "/rooms", acme,
                  {{"title", title}, {"region_code", region}, {"scheduled_at", starts}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("id", "");
  }

  json getRoom(const std::string& id) { return call("GET", "/rooms/" + id, "").json(); }

  std::string calendar(const std::string& id) {
    return call("GET", "/rooms/" + id + "/calendar.ics", "").body;
  }

  RedisServer redis;
  TempDir dir{"room-schedule"};
  std::string config = dir.path() + "/jobcast.yaml";
  Jobcastd node{{.args = {"--config", config}, .redis = redis.address()}};
  std::string admin = token(Role::Admin, "root");
  std::string acme = token(Role::Employer, "acme");
  std::string rival = token(Role::Employer, "rival");
  std::string seeker = token(Role::Jobseeker, "seeker-1");
  const int64_t tomorrow = nowSeconds() + 86400;
};

TEST_F(RoomSchedule, AdminsAndTheRoomsOwnEmployerEditNobodyElse) {
  const std::string id = room("150200", tomorrow);
  json edit = {{"title", "Spring fair"}, {"description", "Drillers and drivers"}};
  EXPECT_EQ(call("PATCH", "/rooms/" + id, "", edit).status, 401);
  for (const auto& who : {rival, seeker, token(Role::Counsellor, "coach-1"),
                          token(Role::Captioner, "cap-1"), token(Role::Admin, "root", {"other"})}) {
    auto r = call("PATCH", "/rooms/" + id, who, edit);
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "forbidden");
    EXPECT_EQ(call("POST", "/rooms/" + id + "/cancel", who, {{"reason", "no"}}).status, 403);
  }
  EXPECT_EQ(getRoom(id)["title"], "Fair");
  EXPECT_EQ(getRoom(id)["sequence"], 0);

  auto mine = call("PATCH", "/rooms/" + id, acme, edit);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.json()["title"], "Spring fair");
  EXPECT_EQ(mine.json()["description"], "Drillers and drivers");
  EXPECT_EQ(mine.json()["sequence"], 1);
  auto by_admin = call("PATCH", "/rooms/" + id, admin, {{"require_review", true}});
  ASSERT_EQ(by_admin.status, 200) << by_admin.body;
  json stored = getRoom(id);
  EXPECT_EQ(stored["title"], "Spring fair");
  EXPECT_EQ(stored["require_review"], true);
  EXPECT_EQ(stored["sequence"], 2);

  // A suspended employer no longer changes its rooms; an admin still does.
  ASSERT_EQ(call("POST", "/employers/acme/suspend", admin, {{"reason", "complaints"}}).status, 200);
  auto suspended = call("PATCH", "/rooms/" + id, acme, {{"title", "Mine still"}});
  EXPECT_EQ(suspended.status, 409) << suspended.body;
  EXPECT_EQ(suspended.json()["error"]["code"], "employer_unverified");
  EXPECT_EQ(call("POST", "/rooms/" + id + "/cancel", acme, {{"reason", "x"}}).status, 409);
  EXPECT_EQ(getRoom(id)["title"], "Spring fair");
  EXPECT_EQ(call("PATCH", "/rooms/" + id, admin, {{"title", "Admin's"}}).status, 200);
}

TEST_F(RoomSchedule, BadInputIsRefusedAndChangesNothing) {
  const std::string id = room("150200", tomorrow);
  struct Case {
    json body;
    int status;
    std::string code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{{"scheduled_at", tomorrow + 7200}, {"ends_at", tomorrow + 3600}},
       400,
       "invalid_field",
       "ends_at"},
      {{{"ends_at", tomorrow - 60}}, 400, "invalid_field", "ends_at"},
      {{{"scheduled_at", nowSeconds() - 3600}}, 400, "invalid_field", "scheduled_at"},
      {{{"region_code", "159900"}}, 400, "invalid_field", "region_code"},
      {{{"region_code", "110000"}}, 400, "invalid_field", "region_code"},
      {{{"region_code", "15x"}}, 400, "invalid_field", "region_code"},
      {{{"title", "   "}}, 400, "invalid_field", "title"},
      {{{"scheduled_at", "tomorrow"}}, 400, "invalid_field", "scheduled_at"},
      {json::object(), 400, "invalid_field", ""},
  };
  for (const auto& c : cases) {
    auto r = call("PATCH", "/rooms/" + id, admin, c.body);
    EXPECT_EQ(r.status, c.status) << c.body.dump() << " -> " << r.body;
    EXPECT_EQ(r.json()["error"]["code"], c.code) << c.body.dump();
    if (!c.field.empty()) {
      EXPECT_EQ(r.json()["error"]["field"], c.field) << r.body;
    }
  }
  EXPECT_EQ(call("PATCH", "/rooms/nosuchroom", admin, {{"title", "x"}}).status, 404);
  EXPECT_EQ(call("POST", "/rooms/nosuchroom/cancel", admin, {{"reason", "x"}}).status, 404);
  auto no_reason = call("POST", "/rooms/" + id + "/cancel", admin, {{"reason", "  "}});
  EXPECT_EQ(no_reason.status, 400) << no_reason.body;
  EXPECT_EQ(no_reason.json()["error"]["field"], "reason");
  EXPECT_EQ(call("POST", "/rooms/" + id + "/cancel", admin, json::object()).status, 400);
  auto unknown = call("PUT", "/rooms/" + id + "/staff/acct_nobody", admin);
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(unknown.json()["error"]["code"], "not_found");
  // An employer's account is no staff member.
  auto boss = call("POST", "/admin/accounts", admin,
                   {{"kind", "employer"}, {"name", "Boss"}, {"employer_id", "acme"}});
  ASSERT_EQ(boss.status, 201) << boss.body;
  auto wrong_kind =
      call("PUT", "/rooms/" + id + "/staff/" + boss.json()["id"].get<std::string>(), admin);
  EXPECT_EQ(wrong_kind.status, 400) << wrong_kind.body;

  json after = getRoom(id);
  EXPECT_EQ(after["title"], "Fair");
  EXPECT_EQ(after["scheduled_at"], tomorrow);
  EXPECT_EQ(after["region_code"], "150200");
  EXPECT_EQ(after["status"], "scheduled");
  EXPECT_EQ(after["sequence"], 0);
  EXPECT_EQ(after["counsellors"], json::array());
}

TEST_F(RoomSchedule, OnlyAScheduledRoomChangesAndACancelledOneNeverStarts) {
  const std::string live = room("150200", tomorrow);
  ASSERT_EQ(call("POST", "/rooms/" + live + "/start", acme).status, 200);
  auto edit = call("PATCH", "/rooms/" + live, admin, {{"scheduled_at", tomorrow + 3600}});
  EXPECT_EQ(edit.status, 409) << edit.body;
  EXPECT_EQ(edit.json()["error"]["code"], "illegal_transition");
  EXPECT_NE(edit.json()["error"]["message"].get<std::string>().find("live"), std::string::npos);
  EXPECT_EQ(call("POST", "/rooms/" + live + "/cancel", admin, {{"reason", "x"}}).status, 409);
  ASSERT_EQ(call("POST", "/rooms/" + live + "/end", acme).status, 200);
  EXPECT_EQ(call("PATCH", "/rooms/" + live, admin, {{"title", "x"}}).status, 409);
  EXPECT_EQ(getRoom(live)["status"], "ended");

  const std::string off = room("150200", tomorrow);
  auto cancelled = call("POST", "/rooms/" + off + "/cancel", acme, {{"reason", "Hall closed"}});
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(cancelled.json()["status"], "cancelled");
  EXPECT_EQ(cancelled.json()["cancel_reason"], "Hall closed");
  auto start = call("POST", "/rooms/" + off + "/start", acme);
  EXPECT_EQ(start.status, 409) << start.body;
  EXPECT_EQ(start.json()["error"]["code"], "illegal_transition");
  EXPECT_EQ(call("POST", "/rooms/" + off + "/cancel", acme, {{"reason", "again"}}).status, 409);
  EXPECT_EQ(call("PATCH", "/rooms/" + off, acme, {{"title", "back"}}).status, 409);
  EXPECT_EQ(call("PUT", "/rooms/" + off + "/follow", seeker, json::object()).status, 409);
  EXPECT_EQ(getRoom(off)["status"], "cancelled");
}

TEST_F(RoomSchedule, AFollowerSeesTheRescheduleAndTheCancellation) {
  Receiver receiver([](const Delivery&, int) { return 200; });
  auto hook = call("POST", "/admin/webhooks", admin,
                   {{"url", receiver.url()}, {"events", {"room.updated", "room.cancelled"}}});
  ASSERT_EQ(hook.status, 201) << hook.body;
  const std::string secret = hook.json().value("secret", "");
  const int64_t starts = nowSeconds() + 2 * 86400;
  const std::string id = room("150200", starts, "Autumn fair");
  ASSERT_EQ(call("PUT", "/rooms/" + id + "/follow", seeker, json::object()).status, 200);
  auto job = call("POST", "/rooms/" + id + "/jobs", acme,
                  {{"title", "Fitter"},
                   {"wage_min", 5000},
                   {"wage_max", 7000},
                   {"wage_unit", "month"},
                   {"hours", "8h"},
                   {"location", "Baotou"},
                   {"headcount", 2}});
  ASSERT_EQ(job.status, 201) << job.body;
  const std::string open_job = id + "/" + job.json()["id"].get<std::string>();
  std::string ics = calendar(id);
  EXPECT_NE(ics.find("SEQUENCE:0\r\n"), std::string::npos) << ics;
  EXPECT_NE(ics.find("STATUS:CONFIRMED\r\n"), std::string::npos) << ics;

  auto page = WsClient::connect(node.httpPort());
  ASSERT_TRUE(page);
  ASSERT_EQ(page->hello(id, token(Role::Jobseeker, "seeker-1", {id}))["type"], "welcome");

  // Moved a day later, to 09:00-11:00 UTC.
  const int64_t moved = (starts / 86400 + 1) * 86400 + 9 * 3600;
  auto r =
      call("PATCH", "/rooms/" + id, acme, {{"scheduled_at", moved}, {"ends_at", moved + 7200}});
  ASSERT_EQ(r.status, 200) << r.body;
  json updated = page->waitEvent("room.updated");
  EXPECT_EQ(updated["data"]["room"]["scheduled_at"], moved) << updated.dump();
  EXPECT_EQ(updated["data"]["room"]["sequence"], 1);
  EXPECT_EQ(updated["data"]["changed"], json({"ends_at", "scheduled_at"}));
  ics = calendar(id);
  char start_text[32], end_text[32];
  std::time_t t = moved;
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(start_text, sizeof start_text, "DTSTART:%Y%m%dT090000Z\r\n", &tm);
  std::strftime(end_text, sizeof end_text, "DTEND:%Y%m%dT110000Z\r\n", &tm);
  EXPECT_NE(ics.find(start_text), std::string::npos) << ics;
  EXPECT_NE(ics.find(end_text), std::string::npos) << ics;
  EXPECT_NE(ics.find("SEQUENCE:1\r\n"), std::string::npos) << ics;
  // Recommendations order the room's jobs by the new start.
  ASSERT_TRUE(eventually([&] {
    return redis.command({"ZSCORE", "jc:{g:150000}:any:jobs", open_job}) == std::to_string(moved);
  })) << redis.command({"ZSCORE", "jc:{g:150000}:any:jobs", open_job});
  // The reminder follows the new time: queued for an hour before it.
  ASSERT_TRUE(eventually([&] {
    return redis.command({"ZSCORE", "jc:{reminders}:due", id}) == std::to_string(moved - 3600);
  })) << redis.command({"ZSCORE", "jc:{reminders}:due", id});

  ASSERT_EQ(call("POST", "/rooms/" + id + "/cancel", admin, {{"reason", "Hall closed"}}).status,
            200);
  json status = page->waitEvent("room.status");
  EXPECT_EQ(status["data"]["status"], "cancelled");
  EXPECT_EQ(status["data"]["reason"], "Hall closed");
  ics = calendar(id);
  EXPECT_NE(ics.find("STATUS:CANCELLED\r\n"), std::string::npos) << ics;
  EXPECT_NE(ics.find("SEQUENCE:2\r\n"), std::string::npos) << ics;
  EXPECT_EQ(ics.find("BEGIN:VALARM"), std::string::npos) << ics;
  auto follows = call("GET", "/me/follows", seeker);
  ASSERT_EQ(follows.status, 200);
  ASSERT_EQ(follows.json()["items"].size(), 1u);
  EXPECT_EQ(follows.json()["items"][0]["status"], "cancelled");
  EXPECT_EQ(follows.json()["items"][0]["cancel_reason"], "Hall closed");
  // Dropped from the reminder queue: nobody is reminded of it.
  EXPECT_EQ(redis.command({"ZSCORE", "jc:{reminders}:due", id}), "");

  ASSERT_TRUE(receiver.waitFor([](const auto& got) { return got.size() >= 2; })) << node.log();
  auto got = receiver.got();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(validSignature(got[0], secret));
  EXPECT_EQ(got[0].payload()["type"], "room.updated");
  EXPECT_EQ(got[0].payload()["data"]["room"]["scheduled_at"], moved);
  EXPECT_EQ(got[1].payload()["type"], "room.cancelled");
  EXPECT_EQ(got[1].payload()["data"]["reason"], "Hall closed");
}

TEST_F(RoomSchedule, AnAssignedCounsellorGainsTheConsoleAndLosesItWhenUnassigned) {
  auto account =
      call("POST", "/admin/accounts", admin, {{"kind", "counsellor"}, {"name", "Sarnai"}});
  ASSERT_EQ(account.status, 201) << account.body;
  const std::string coach = account.json()["id"];
  const std::string id = room("150200", tomorrow);
  const std::string coach_token = token(Role::Counsellor, coach);
  const json guest = {{"slot", "guest"}, {"name", "Guest"}};
  auto stage = [&] { return call("PUT", "/rooms/" + id + "/stage/guest-1", coach_token, guest); };

  auto console = WsClient::connect(node.httpPort());
  ASSERT_TRUE(console);
  json welcome = console->hello(id, coach_token);
  ASSERT_EQ(welcome["type"], "welcome");
  EXPECT_EQ(welcome["you"]["staff"], false);
  EXPECT_EQ(stage().status, 403);
  json refused = console->call({{"type", "mod.slowmode"}, {"seconds", 5}});
  EXPECT_EQ(refused["type"], "error");
  EXPECT_EQ(refused["code"], "forbidden");

  // Another employer cannot put staff on acme's room; a counsellor cannot
  // put themselves on it.
  EXPECT_EQ(call("PUT", "/rooms/" + id + "/staff/" + coach, rival).status, 403);
  EXPECT_EQ(call("PUT", "/rooms/" + id + "/staff/" + coach, coach_token).status, 403);
  auto assigned = call("PUT", "/rooms/" + id + "/staff/" + coach, acme);
  ASSERT_EQ(assigned.status, 200) << assigned.body;
  EXPECT_EQ(assigned.json()["counsellors"], json({coach}));
  EXPECT_EQ(call("PUT", "/rooms/" + id + "/staff/" + coach, acme).json()["counsellors"],
            json({coach}));  // twice is once
  console->waitEvent("room.updated");
  auto on_stage = stage();
  EXPECT_NE(on_stage.status, 403) << on_stage.body;
  EXPECT_NE(on_stage.status, 401) << on_stage.body;
  json allowed = console->call({{"type", "mod.slowmode"}, {"seconds", 5}});
  EXPECT_EQ(allowed["type"], "ack") << allowed.dump();

  // Assigned while live, too: unassigned there, the same connection loses it.
  ASSERT_EQ(call("POST", "/rooms/" + id + "/start", acme).status, 200);
  auto unassigned = call("DELETE", "/rooms/" + id + "/staff/" + coach, admin);
  ASSERT_EQ(unassigned.status, 200) << unassigned.body;
  EXPECT_EQ(unassigned.json()["counsellors"], json::array());
  console->waitEvent("room.updated", [](const json& e) {
    return e["data"]["room"]["counsellors"] == json::array();
  });
  EXPECT_EQ(stage().status, 403);
  json gone = console->call({{"type", "mod.slowmode"}, {"seconds", 0}});
  EXPECT_EQ(gone["type"], "error") << gone.dump();
  EXPECT_EQ(gone["code"], "forbidden");
  // A new connection is refused the same way.
  auto again = WsClient::connect(node.httpPort());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->hello(id, coach_token)["you"]["staff"], false);
  EXPECT_EQ(again->call({{"type", "mod.slowmode"}, {"seconds", 0}})["code"], "forbidden");
}

TEST_F(RoomSchedule, RoomsAreListedByRegionAndDateSoonestFirst) {
  const int64_t day = (nowSeconds() / 86400 + 3) * 86400;  // midnight UTC, three days on
  const std::string baotou_late = room("150200", day + 15 * 3600, "Baotou afternoon");
  const std::string hohhot = room("150100", day + 10 * 3600, "Hohhot");
  const std::string kundulun = room("150203", day + 9 * 3600, "Kundulun morning");
  const std::string baotou_next_day = room("150200", day + 86400 + 9 * 3600, "Baotou next day");
  const std::string cancelled = room("150200", day + 12 * 3600, "Baotou noon");
  ASSERT_EQ(call("POST", "/rooms/" + cancelled + "/cancel", acme, {{"reason", "x"}}).status, 200);

  char date[16];
  std::time_t t = day;
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
  auto ids = [](const HttpResponse& r) {
    std::vector<std::string> out;
    const json body = r.json();
    for (const auto& room : body["items"])
      out.push_back(room["id"]);
    return out;
  };
  const std::string one_day = std::string("from=") + date + "&to=" + date;
  auto baotou = call("GET", "/rooms?region=1502&" + one_day, "");
  ASSERT_EQ(baotou.status, 200) << baotou.body;
  EXPECT_EQ(ids(baotou), (std::vector<std::string>{kundulun, cancelled, baotou_late}));
  auto scheduled = call("GET", "/rooms?region=1502&status=scheduled&" + one_day, "");
  EXPECT_EQ(ids(scheduled), (std::vector<std::string>{kundulun, baotou_late}));
  auto only_cancelled = call("GET", "/rooms?status=cancelled&" + one_day, "");
  EXPECT_EQ(ids(only_cancelled), (std::vector<std::string>{cancelled}));
  auto province = call("GET", "/rooms?region=15&from=" + std::to_string(day), "");
  EXPECT_EQ(ids(province),
            (std::vector<std::string>{kundulun, hohhot, cancelled, baotou_late, baotou_next_day}));

  // Page by page with the cursor: the same rooms, once each.
  std::vector<std::string> paged;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto r = call("GET",
                  "/rooms?region=150200&limit=2&from=" + std::to_string(day) +
                      (cursor.empty() ? "" : "&cursor=" + cursor),
                  "");
    ASSERT_EQ(r.status, 200) << r.body;
    for (const auto& id : ids(r))
      paged.push_back(id);
    if (r.json()["next_cursor"].is_null())
      break;
    cursor = r.json()["next_cursor"];
  }
  EXPECT_EQ(paged, (std::vector<std::string>{kundulun, cancelled, baotou_late, baotou_next_day}));

  // A reschedule moves the room in the list; a new region moves it between lists.
  ASSERT_EQ(call("PATCH", "/rooms/" + baotou_late, acme,
                 {{"scheduled_at", day + 86400 + 8 * 3600}, {"region_code", "150100"}})
                .status,
            200);
  EXPECT_EQ(ids(call("GET", "/rooms?region=1502&status=scheduled&" + one_day, "")),
            (std::vector<std::string>{kundulun}));
  EXPECT_EQ(ids(call("GET", "/rooms?region=1501&from=" + std::to_string(day), "")),
            (std::vector<std::string>{hohhot, baotou_late}));
  // The region's own index: Baotou's holds no Hohhot room.
  EXPECT_EQ(redis.command({"ZSCORE", "jc:rooms:start:150200", hohhot}), "");
  EXPECT_EQ(redis.command({"ZSCORE", "jc:rooms:start:150200", baotou_late}), "");

  for (const std::string bad : {"from=yesterday", "from=2026-02-30", "to=2026-13-01",
                                "from=2026-12-03T25:00:00Z", "status=postponed"}) {
    auto r = call("GET", "/rooms?" + bad, "");
    EXPECT_EQ(r.status, 400) << bad << " -> " << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "invalid_query") << bad;
  }
  auto backwards = call("GET", "/rooms?from=2026-12-05&to=2026-12-04", "");
  EXPECT_EQ(backwards.status, 400);
  EXPECT_NE(backwards.json()["error"]["message"].get<std::string>().find("to"), std::string::npos);
}

}  // namespace
}  // namespace jobcast::test
