// Walks docs/access.tsv, the table of every route and WebSocket action with
// who may use it, against a real jobcastd and Redis: a token of every role,
// each for the room and for another room, plus anonymous. "yes" means the
// request is not refused by the access policy (any answer but 401/403, or any
// WebSocket reply but an unauthorized/forbidden/room_forbidden error); "no"
// means it is refused. docs/access.md must show the same table.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/jwt.h"
#include "rooms/access.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tokens.h"
#include "tests/support/ws_client.h"

namespace jobcast::test {
namespace {

using nlohmann::json;

const std::vector<std::string> kRoles = {"admin",       "employer",  "counsellor", "captioner",
                                         "interpreter", "jobseeker", "anonymous"};

struct Row {
  std::string surface, request, body, operation, scope;
  std::map<std::string, bool> allowed;  // by role
  std::string text;                     // the TSV line, for messages
};

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream in(line);
  std::string cell;
  while (std::getline(in, cell, sep))
    out.push_back(cell);
  return out;
}

std::vector<Row> readTable() {
  std::ifstream in(std::string(JOBCAST_SOURCE_DIR) + "/docs/access.tsv");
  std::vector<Row> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    auto cells = split(line, '\t');
    EXPECT_EQ(cells.size(), 5 + kRoles.size()) << line;
    if (cells.size() != 5 + kRoles.size())
      continue;
    Row row{cells[0], cells[1], cells[2], cells[3], cells[4], {}, line};
    for (size_t i = 0; i < kRoles.size(); ++i) {
      EXPECT_TRUE(cells[5 + i] == "yes" || cells[5 + i] == "no") << line;
      row.allowed[kRoles[i]] = cells[5 + i] == "yes";
    }
    rows.push_back(row);
  }
  return rows;
}

std::string replaceAll(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at))
      text.replace(at, name.size(), value);
  }
  return text;
}

class AccessTable : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(config) << "limits:\n  api_rate_per_second: 100000\n  api_rate_burst: 100000\n"
                             "  session_rate_per_second: 100000\n  session_rate_burst: 100000\n"
                             "  http_rate_per_second: 100000\n  http_rate_burst: 100000\n"
                             "  media_rate_per_second: 100000\n  media_rate_burst: 100000\n"
                             "live:\n  chat_rate_count: 1000\n  frames_per_s: 5000\n";
    node.start();
  }

  // A token of `role` whose rooms claim is `rooms`; "" for anonymous.
  std::string token(const std::string& role, std::vector<std::string> rooms) const {
    if (role == "anonymous")
      return "";
    Claims c;
    c.rooms = std::move(rooms);
    c.iat = static_cast<int64_t>(std::time(nullptr));
    c.exp = c.iat + 3600;
    static const std::map<std::string, std::pair<Role, std::string>> kWho = {
        {"admin", {Role::Admin, "root"}},
        {"employer", {Role::Employer, "acme"}},
        {"counsellor", {Role::Counsellor, "coach-1"}},
        {"captioner", {Role::Captioner, "cap-1"}},
        {"interpreter", {Role::Captioner, "interp-1"}},
        {"jobseeker", {Role::Jobseeker, "seeker-1"}},
    };
    c.role = kWho.at(role).first;
    c.sub = kWho.at(role).second;
    c.name = c.sub;
    return Jwt(kJwtSecret).sign(c);
  }

  HttpResponse call(const std::string& method, const std::string& path, const std::string& bearer,
                    const std::string& body = "", const std::string& type = "application/json") {
    HttpRequest req{.method = method, .url = node.url(path), .body = body};
    if (!body.empty())
      req.headers.emplace_back("content-type", type);
    if (!bearer.empty())
      req.headers.emplace_back("authorization", "Bearer " + bearer);
    return http(req);
  }

  // A verified employer "acme" with a live room listing coach-1, cap-1 and
  // interp-1, a job, and seeker-1's application to it.
  void seed() {
    std::string admin = token("admin", {"*"});
    ASSERT_EQ(call("POST", "/api/v1/employers", admin, R"({"id":"acme","name":"Acme"})").status,
              201);
    ASSERT_EQ(call("POST", "/api/v1/employers/acme/verify", admin).status, 200);
    auto room = call("POST", "/api/v1/rooms", admin,
                     json{{"title", "Spring fair"},
                          {"employer_id", "acme"},
                          {"scheduled_at", 1767225600},
                          {"counsellors", {"coach-1"}},
                          {"captioners", {"cap-1"}},
                          {"interpreters", {"interp-1"}}}
                         .dump());
    ASSERT_EQ(room.status, 201) << room.body;
    room_id = room.json()["id"];
    ASSERT_EQ(room.json()["captioners"], json({"cap-1"}));
    ASSERT_EQ(room.json()["interpreters"], json({"interp-1"}));
    ASSERT_EQ(call("POST", "/api/v1/rooms/" + room_id + "/start", admin).status, 200);
    auto job = call("POST", "/api/v1/rooms/" + room_id + "/jobs", admin,
                    R"({"title":"Driller","wage_min":6000,"wage_max":9000,"wage_unit":"month",
                        "hours":"8h","location":"Baotou","headcount":1})");
    ASSERT_EQ(job.status, 201) << job.body;
    job_id = job.json()["id"];
    std::string seeker = token("jobseeker", {room_id});
    ASSERT_EQ(call("PUT", "/api/v1/me/profile", seeker,
                   R"({"name":"Bayar","phone":"13800138000","cv":"CV"})")
                  .status,
              200);
    auto app =
        call("POST", "/api/v1/rooms/" + room_id + "/jobs/" + job_id + "/apply", seeker, "{}");
    ASSERT_EQ(app.status, 201) << app.body;
    application_id = app.json()["id"];
  }

  // Whether the policy let the request through, and what was answered.
  std::pair<bool, std::string> tryHttp(const Row& row, const std::string& bearer) {
    auto parts = split(row.request, ' ');
    std::string path = replaceAll(parts.at(1), placeholders());
    std::string body = row.body == "-" ? "" : replaceAll(row.body, placeholders());
    std::string type = "application/json";
    if (row.body == "sdp") {
      body = "v=0\r\n";  // admitted publishers and viewers then fail on the SDP, not on access
      type = "application/sdp";
    }
    auto r = call(parts.at(0), path, bearer, body, type);
    bool passed = r.status != 401 && r.status != 403;
    EXPECT_LT(r.status, 500) << row.text << "\n" << r.body;
    return {passed, std::to_string(r.status) + " " + r.body.substr(0, 200)};
  }

  std::pair<bool, std::string> tryWs(const Row& row, const std::string& role, bool in_room) {
    std::string key = role + (in_room ? "/in" : "/out");
    auto& conn = sockets[key];
    if (!conn) {
      conn = WsClient::connect(node.httpPort());
      EXPECT_TRUE(conn);
      if (!conn)
        return {false, "no connection"};
      hellos[key] = conn->hello(room_id, token(role, {in_room ? room_id : "another-room"}));
    }
    const json& hello = hellos[key];
    if (hello["type"] != "welcome" || row.request == "hello")
      return {hello["type"] == "welcome", hello.dump()};
    json frame = json::parse(replaceAll(row.body, placeholders()));
    frame["type"] = row.request;
    json reply = conn->call(frame);
    std::string code = reply.value("code", "");
    bool refused = reply["type"] == "error" &&
                   (code == "unauthorized" || code == "forbidden" || code == "room_forbidden");
    return {!refused, reply.dump()};
  }

  std::map<std::string, std::string> placeholders() const {
    return {{"{room}", room_id}, {"{job}", job_id}, {"{application}", application_id}};
  }

  RedisServer redis;
  TempDir dir{"access-table"};
  std::string config = dir.path() + "/jobcast.yaml";
  Jobcastd node{{.args = {"--config", config}, .redis = redis.address()}};
  std::string room_id, job_id, application_id;
  std::map<std::string, std::unique_ptr<WsClient>> sockets;
  std::map<std::string, json> hellos;
};

TEST_F(AccessTable, EveryRouteAndActionAnswersEveryRoleAsTheTableSays) {
  auto rows = readTable();
  ASSERT_GT(rows.size(), 30u);
  ASSERT_NO_FATAL_FAILURE(seed());
  size_t checked = 0;
  for (const auto& row : rows) {
    for (const auto& role : kRoles) {
      for (bool in_room : {true, false}) {
        if (role == "anonymous" && !in_room)
          continue;
        // Out of the room: refused wherever the rooms claim counts.
        bool expected = row.allowed.at(role) && (in_room || row.scope == "any");
        std::vector<std::string> rooms = {in_room ? room_id : "another-room"};
        if (row.scope == "all" && in_room)
          rooms = {"*"};
        auto [passed, answer] =
            row.surface == "ws" ? tryWs(row, role, in_room) : tryHttp(row, token(role, rooms));
        EXPECT_EQ(passed, expected)
            << row.surface << " " << row.request << " as " << role
            << (in_room ? " (in the room)" : " (token for another room)") << ": " << answer;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 400u);
}

// Every room operation the table names is one of the policy's operations
// (rooms::Operation); the others are the room-independent checks.
TEST(AccessTableDoc, OperationsAreThePolicys) {
  const std::set<std::string> room_independent = {
      "-",           "manage_employers", "manage_webhooks", "manage_accounts", "read_reports",
      "create_room", "profile"};
  for (const auto& row : readTable()) {
    if (room_independent.count(row.operation))
      continue;
    EXPECT_TRUE(rooms::parseOperation(row.operation).has_value()) << row.text;
  }
}

// docs/access.md shows the same table: each row of the TSV, as a Markdown row.
TEST(AccessTableDoc, TheDocShowsEveryRow) {
  std::ifstream in(std::string(JOBCAST_SOURCE_DIR) + "/docs/access.md");
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& row : readTable()) {
    std::string md = "| " + row.surface + " | `" + row.request + "` | " + row.operation + " | " +
                     row.scope + " |";
    for (const auto& role : kRoles)
      md += std::string(" ") + (row.allowed.at(role) ? "yes" : "no") + " |";
    EXPECT_NE(text.str().find(md), std::string::npos) << "missing from docs/access.md: " << md;
  }
}

}  // namespace
}  // namespace jobcast::test
