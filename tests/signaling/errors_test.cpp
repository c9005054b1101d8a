// The error catalogue (signaling/errors.*) against what reads and what sends
// its codes: the docs list every code with its status, the WebSocket policy
// comes from it, and every code the sources answer with is in it with the
// status they use.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "signaling/errors.h"
#include "signaling/ws_protocol.h"

namespace jobcast {
namespace {

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::filesystem::path source(const std::string& relative) {
  return std::filesystem::path(JOBCAST_SOURCE_DIR) / relative;
}

TEST(ErrorCatalogue, EachCodeOnce) {
  std::set<std::string_view> seen;
  for (const auto& e : errors::all())
    EXPECT_TRUE(seen.insert(e.code).second) << e.code;
  EXPECT_GT(seen.size(), 40u);
}

TEST(ErrorCatalogue, OneCodePerMeaning) {
  // The retired synonyms of room_not_found, invalid_field and unauthorized.
  for (const char* retired : {"bad_request", "token_required", "auth_required"})
    EXPECT_EQ(errors::find(retired), nullptr) << retired;
  EXPECT_EQ(errors::httpStatus("room_not_found"), 404);
  EXPECT_EQ(errors::httpStatus("invalid_field"), 400);
  EXPECT_EQ(errors::httpStatus("unauthorized"), 401);
  EXPECT_EQ(errors::httpStatus("no_such_code"), 500);
}

TEST(ErrorCatalogue, WebSocketPolicyComesFromIt) {
  EXPECT_EQ(ws::errorPolicy("room_not_found").close_code, ws::kCloseRoomNotFound);
  EXPECT_EQ(ws::errorPolicy("invalid_token").close_code, ws::kCloseUnauthorized);
  EXPECT_TRUE(ws::errorPolicy("bad_frame").strike);
  EXPECT_FALSE(ws::errorPolicy("forbidden").strike);
  for (const auto& e : errors::all()) {
    auto policy = ws::errorPolicy(e.code);
    EXPECT_EQ(policy.strike, e.ws_strike) << e.code;
    EXPECT_EQ(policy.close_code, e.ws_close) << e.code;
  }
}

TEST(ErrorCatalogue, ApiDocsListEveryCodeWithItsStatus) {
  std::string api = readFile(source("docs/api.md"));
  ASSERT_FALSE(api.empty());
  for (const auto& e : errors::all()) {
    std::string code(e.code);
    std::regex row("\\| `" + code + "` \\| \\(?" + std::to_string(e.http_status) + "\\)? \\|");
    EXPECT_TRUE(std::regex_search(api, row))
        << "docs/api.md has no row for `" << code << "` with " << e.http_status;
  }
}

TEST(ErrorCatalogue, WebSocketDocsListEveryWebSocketCode) {
  std::string doc = readFile(source("docs/websocket.md"));
  ASSERT_FALSE(doc.empty());
  for (const auto& e : errors::all()) {
    if (!(e.channel & errors::kWs))
      continue;
    std::string code(e.code);
    std::string what = e.ws_close    ? "then close " + std::to_string(e.ws_close)
                       : e.ws_strike ? std::string("a strike")
                                     : std::string("stays open");
    EXPECT_NE(doc.find("| `" + code + "` | " + what + " |"), std::string::npos)
        << "docs/websocket.md has no row for `" << code << "` (" << what << ")";
  }
}

// Every "STATUS, code" the HTTP handlers spell out agrees with the catalogue,
// and every code a Lua script fails with is in it.
TEST(ErrorCatalogue, SourcesAnswerWithCataloguedCodes) {
  std::regex http_error(R"(error\((\d{3}),\s*"([a-z_]+)\")");
  std::regex lua_fail(R"((?:fail\('|error_reply\(')([a-z_]+))");
  int checked = 0;
  for (const char* dir : {"signaling", "routing", "rooms", "rooms/live"}) {
    for (const auto& file : std::filesystem::directory_iterator(source(dir))) {
      auto ext = file.path().extension();
      if (ext != ".cpp" && ext != ".lua")
        continue;
      std::string text = readFile(file.path());
      for (std::sregex_iterator it(text.begin(), text.end(), http_error), end; it != end; ++it) {
        std::string code = (*it)[2];
        const errors::ErrorCode* e = errors::find(code);
        ASSERT_NE(e, nullptr) << file.path() << ": " << code;
        EXPECT_EQ(e->http_status, std::stoi((*it)[1])) << file.path() << ": " << code;
        ++checked;
      }
      for (std::sregex_iterator it(text.begin(), text.end(), lua_fail), end; it != end; ++it) {
        EXPECT_NE(errors::find((*it)[1].str()), nullptr) << file.path() << ": " << (*it)[1];
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 30);
}

}  // namespace
}  // namespace jobcast
