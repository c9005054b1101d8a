// The input boundary (signaling/wire.*, signaling/schema/*.json): every REST
// body and WebSocket frame is checked against its schema, a wrong type answers
// 400 / an error frame naming the field, and no input stops the node. The
// table tests walk the schema files themselves, so a new message is covered
// as soon as its schema exists.

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "core/jwt.h"
#include "rooms/live/live_room.h"
#include "signaling/wire.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/ws_client.h"

namespace jobcast::test {
namespace {

using nlohmann::json;

constexpr const char* kRoom = "wire-room";

std::string token(Role role, const std::string& sub) {
  Jwt jwt("test-secret-0123456789abcdef-0123456789");
  Claims c;
  c.sub = sub;
  c.name = sub;
  c.role = role;
  c.rooms = {"*"};
  c.iat = std::time(nullptr);
  c.exp = c.iat + 3600;
  return jwt.sign(c);
}

// The JSON Schema type names `value` has ("integer" values are numbers too).
std::vector<std::string> typesOf(const json& value) {
  if (value.is_null())
    return {"null"};
  if (value.is_boolean())
    return {"boolean"};
  if (value.is_number_integer())
    return {"integer", "number"};
  if (value.is_number())
    return {"number"};
  if (value.is_string())
    return {"string"};
  if (value.is_array())
    return {"array"};
  return {"object"};
}

// Values of every JSON type that the field's schema does not allow.
std::vector<json> wrongTypes(const json& field_schema) {
  std::vector<std::string> allowed;
  const json& type = field_schema.at("type");
  if (type.is_string())
    allowed.push_back(type.get<std::string>());
  else
    allowed = type.get<std::vector<std::string>>();
  std::vector<json> out;
  for (json candidate : {json(123), json("text"), json(true), json::object(), json::array(),
                         json(nullptr), json(1.5)}) {
    bool fits = false;
    for (const auto& t : typesOf(candidate))
      fits = fits || std::find(allowed.begin(), allowed.end(), t) != allowed.end();
    if (!fits)
      out.push_back(candidate);
  }
  return out;
}

// Fills a route pattern's {params} with ids that need not exist: the body is
// checked before anything is looked up.
std::string concretePath(const std::string& pattern) {
  return std::regex_replace(pattern, std::regex("\\{[a-z]+\\}"), "x1");
}

// ---- the schemas themselves ------------------------------------------------

TEST(WireSchema, EverySchemaLoadsAndItsExamplePasses) {
  ASSERT_FALSE(wire::schemas().empty());
  for (const auto& s : wire::schemas()) {
    ASSERT_TRUE(s.document.contains("examples")) << s.message;
    auto ok = wire::validate(s.message, s.document["examples"][0]);
    EXPECT_TRUE(ok.ok()) << s.message << ": " << (ok.ok() ? "" : ok.error().message);
    for (const auto& [name, field] : s.document["properties"].items())
      EXPECT_TRUE(field.contains("type")) << s.message << " " << name << " needs a type";
  }
}

TEST(WireSchema, EveryWebSocketActionHasASchema) {
  for (int a = 0; a <= static_cast<int>(live::Action::CaptionSend); ++a) {
    const char* name = live::actionName(static_cast<live::Action>(a));
    EXPECT_TRUE(wire::hasSchema(name)) << name;
  }
  EXPECT_TRUE(wire::hasSchema("hello"));
}

TEST(WireSchema, ErrorsNameTheField) {
  auto bad = wire::validate("caption.send", json{{"text", "hi"}, {"final", "yes"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "invalid_field");
  EXPECT_EQ(bad.error().message, "final: must be true or false");
  auto missing = wire::validate("mod.mute", json{{"sub", "u1"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "seconds: is required");
  auto range = wire::validate("mod.slowmode", json{{"seconds", 3601}});
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.error().message, "seconds: must be from 0 to 3600");
  auto id = wire::validate("chat.send", json{{"text", "hi"}, {"client_id", "a b"}});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().message.rfind("client_id: ", 0), 0u);
  EXPECT_TRUE(wire::validate("chat.send", json{{"text", "hi"}, {"extra", 1}}).ok());
  EXPECT_EQ(wire::validate("no.such", json::object()).error().code, "internal");
}

// ---- through a real node ---------------------------------------------------

// One --demo node (the demo sign-in route exists only there) for the suite:
// every test also checks it is the same process, still answering.
class InputBoundary : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = new RedisServer();
    dir_ = new TempDir("wire-test");
    std::string config = dir_->path() + "/node.yaml";
    std::ofstream(config) << "live:\n"
                             "  frames_per_s: 100000\n"
                             "  abuse_limit: 100000\n"
                             "limits:\n"
                             "  api_rate_per_second: 100000\n"
                             "  api_rate_burst: 100000\n"
                             "  session_rate_per_second: 100000\n"
                             "  session_rate_burst: 100000\n"
                             "  http_rate_per_second: 100000\n"
                             "  http_rate_burst: 100000\n";
    redis_->command({"HSET", std::string("jc:{r:") + kRoom + "}:room", "id", kRoom, "title",
                     "Wire fair", "status", "live", "employer_id", "emp-1", "captioners",
                     R"(["cap-1"])", "counsellors", R"(["c-1"])"});
    node_ = new Jobcastd(
        Jobcastd::Options{.args = {"--config", config, "--demo"}, .redis = redis_->address()});
    node_->start();
    pid_ = node_->pid();
  }
  static void TearDownTestSuite() {
    delete node_;
    delete dir_;
    delete redis_;
  }

  // The node that took the input is the one still answering.
  static void expectNodeUp() {
    ASSERT_TRUE(node_->running());
    EXPECT_EQ(node_->pid(), pid_);
    EXPECT_EQ(httpGet(node_->url("/healthz")).status, 200);
  }

  static HttpResponse send(const std::string& method, const std::string& path,
                           const std::string& body, const std::string& bearer) {
    HttpRequest request;
    request.method = method;
    request.url = node_->url(path);
    request.body = body;
    request.headers.emplace_back("content-type", "application/json");
    if (!bearer.empty())
      request.headers.emplace_back("authorization", "Bearer " + bearer);
    return http(request);
  }

  static std::unique_ptr<WsClient> joined(Role role, const std::string& sub) {
    auto c = WsClient::connect(node_->httpPort());
    EXPECT_TRUE(c);
    if (!c)
      return nullptr;
    json welcome = c->hello(kRoom, token(role, sub));
    EXPECT_EQ(welcome["type"], "welcome") << welcome.dump();
    return c;
  }

  static RedisServer* redis_;
  static TempDir* dir_;
  static Jobcastd* node_;
  static pid_t pid_;
};

RedisServer* InputBoundary::redis_ = nullptr;
TempDir* InputBoundary::dir_ = nullptr;
Jobcastd* InputBoundary::node_ = nullptr;
pid_t InputBoundary::pid_ = -1;

TEST_F(InputBoundary, DemoSignInWithANumberForNameIsRejectedAndTheNodeStaysUp) {
  auto r = send("POST", "/api/v1/demo/token", R"({"name":123})", "");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "invalid_field");
  EXPECT_EQ(r.json()["error"]["field"], "name");
  expectNodeUp();
  // A domain check beyond the schema (bytes, not characters) names the field too.
  std::string han;
  for (int i = 0; i < 40; ++i)
    han += "汉";
  auto long_name = send("POST", "/api/v1/demo/token", json{{"name", han}}.dump(), "");
  EXPECT_EQ(long_name.status, 400) << long_name.body;
  EXPECT_EQ(long_name.json()["error"]["field"], "name");
  // The route still works for a good body.
  auto ok = send("POST", "/api/v1/demo/token", R"({"name":"Ama"})", "");
  EXPECT_EQ(ok.status, 201) << ok.body;
}

TEST_F(InputBoundary, CaptionWithAStringForFinalIsRejectedAndTheConnectionStays) {
  auto captioner = joined(Role::Captioner, "cap-1");
  ASSERT_TRUE(captioner);
  ASSERT_TRUE(captioner->sendJson(
      {{"type", "caption.send"}, {"req", 41}, {"text", "hi"}, {"final", "yes"}}));
  json e = captioner->waitFor([](const json& m) { return m.value("req", 0) == 41; });
  EXPECT_EQ(e["type"], "error") << e.dump();
  EXPECT_EQ(e["code"], "invalid_field");
  EXPECT_EQ(e["field"], "final");
  expectNodeUp();
  json ack = captioner->call({{"type", "caption.send"}, {"text", "hi"}, {"final", false}});
  EXPECT_EQ(ack["type"], "ack") << ack.dump();
}

TEST_F(InputBoundary, EveryRestBodyFieldRejectsEveryWrongType) {
  std::string admin = token(Role::Admin, "root");
  int cases = 0;
  for (const auto& s : wire::schemas()) {
    if (!s.rest)
      continue;
    auto space = s.message.find(' ');
    std::string method = s.message.substr(0, space);
    std::string path = concretePath(s.message.substr(space + 1));
    const json& example = s.document["examples"][0];
    for (const auto& [name, field] : s.document["properties"].items()) {
      for (const json& wrong : wrongTypes(field)) {
        json body = example;
        body[name] = wrong;
        auto r = send(method, path, body.dump(), admin);
        EXPECT_EQ(r.status, 400) << s.message << " " << body.dump() << " -> " << r.body;
        EXPECT_EQ(r.json()["error"]["code"], "invalid_field") << s.message << " " << r.body;
        EXPECT_EQ(r.json()["error"]["field"], name) << s.message << " " << r.body;
        ++cases;
      }
    }
  }
  EXPECT_GT(cases, 100);
  expectNodeUp();
}

TEST_F(InputBoundary, EveryWebSocketFrameFieldRejectsEveryWrongType) {
  auto admin = joined(Role::Admin, "root");
  ASSERT_TRUE(admin);
  int64_t req = 1000;
  int cases = 0;
  for (const auto& s : wire::schemas()) {
    if (s.rest)
      continue;
    const json& example = s.document["examples"][0];
    for (const auto& [name, field] : s.document["properties"].items()) {
      for (const json& wrong : wrongTypes(field)) {
        json frame = example;
        frame[name] = wrong;
        frame["type"] = s.message;
        frame["req"] = ++req;
        // hello goes to a fresh connection, which may still join afterwards.
        std::unique_ptr<WsClient> fresh;
        WsClient* c = admin.get();
        if (s.message == "hello") {
          fresh = WsClient::connect(node_->httpPort());
          ASSERT_TRUE(fresh);
          c = fresh.get();
        }
        ASSERT_TRUE(c->sendJson(frame));
        int64_t want = req;
        json e = c->waitFor([want](const json& m) { return m.value("req", int64_t{0}) == want; });
        EXPECT_EQ(e["type"], "error") << frame.dump() << " -> " << e.dump();
        EXPECT_EQ(e["code"], "invalid_field") << frame.dump() << " -> " << e.dump();
        EXPECT_EQ(e["field"], name) << frame.dump() << " -> " << e.dump();
        if (fresh) {
          EXPECT_EQ(fresh->hello(kRoom)["type"], "welcome");
        }
        ++cases;
      }
    }
  }
  EXPECT_GT(cases, 60);
  // The connection that sent all of them is still served.
  EXPECT_EQ(admin->call({{"type", "ping"}})["type"], "ack");
  expectNodeUp();
}

}  // namespace
}  // namespace jobcast::test
