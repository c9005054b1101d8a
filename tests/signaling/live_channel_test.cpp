// The live room channel end to end: real redis-server, real jobcastd processes,
// real WebSocket clients (tests/support/ws_client.h).

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "core/jwt.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/ws_client.h"

namespace jobcast::test {
namespace {

using nlohmann::json;

constexpr const char* kRoom = "fair1";
constexpr const char* kEmployer = "emp-acme";

std::string token(Role role, const std::string& sub, const std::string& name = "",
                  const std::string& employer = "") {
  Jwt jwt("test-secret-0123456789abcdef-0123456789");
  Claims c;
  c.sub = sub;
  c.name = name.empty() ? sub : name;
  c.role = role;
  c.rooms = {"*"};
  c.employer = employer;
  c.iat = std::time(nullptr);
  c.exp = c.iat + 3600;
  return jwt.sign(c);
}

void createRoom(const RedisServer& redis, const std::string& room = kRoom) {
  redis.command({"HSET", "jc:{r:" + room + "}:room", "id", room, "title", "Harbour jobs", "status",
                 "live", "employer_id", kEmployer, "pinned_job", "job-7", "counsellors",
                 R"(["c-1"])", "captioners", R"(["cap-1"])"});
}

// Appends an event the way every room script does (docs/redis-schema.md).
std::string appendEvent(const RedisServer& redis, const std::string& kind, const json& data,
                        const std::string& aud = "all", const std::string& room = kRoom) {
  std::string prefix = "jc:{r:" + room + "}:";
  std::string id = redis.command(
      {"XADD", prefix + "events", "*", "kind", kind, "data", data.dump(), "aud", aud});
  redis.command({RedisServer::notifyCommand(), prefix + "notify", id});
  return id;
}

// For tests that open many connections from 127.0.0.1 at once.
constexpr const char* kManyFromOneAddress =
    "limits:\n"
    "  session_rate_per_second: 100000\n"
    "  session_rate_burst: 100000\n"
    "server:\n"
    "  max_connections_per_ip: 0\n";

class LiveChannel : public ::testing::Test {
 protected:
  void SetUp() override { createRoom(redis_); }

  // A node with test-friendly limits plus `extra` YAML lines under live:.
  std::unique_ptr<Jobcastd> startNode(const std::string& extra = "") {
    std::string path = dir_.path() + "/node" + std::to_string(configs_++) + ".yaml";
    std::ofstream(path) << "live:\n"
                           "  chat_rate_count: 1000\n"
                           "  frames_per_s: 5000\n"
                           "  heartbeat_ms: 200\n"
                           "  viewer_ttl_ms: 1000\n"
                           "  queue_grace_ms: 1000\n"
                           "  blocked_words: [darn]\n"
                        << extra;
    auto node = std::make_unique<Jobcastd>(
        Jobcastd::Options{.args = {"--config", path}, .redis = redis_.address()});
    node->start();
    return node;
  }

  std::unique_ptr<WsClient> join(const Jobcastd& node, const std::string& tok = "",
                                 const std::string& since = "", json* welcome = nullptr) {
    std::string error;
    auto c = WsClient::connect(node.httpPort(), {}, &error);
    EXPECT_TRUE(c) << error;
    if (!c)
      return nullptr;
    json w = c->hello(kRoom, tok, since);
    EXPECT_EQ(w["type"], "welcome") << w.dump();
    if (welcome)
      *welcome = w;
    return c;
  }

  // A job card added the way the room's employer adds one (REST); its id.
  std::string addJob(const Jobcastd& node) {
    auto r = httpJson("POST", node.url(std::string("/api/v1/rooms/") + kRoom + "/jobs"),
                      {{"title", "Driller"},
                       {"wage_min", 6000},
                       {"wage_max", 9000},
                       {"wage_unit", "month"},
                       {"hours", "12h shifts"},
                       {"location", "Baotou"},
                       {"headcount", 5}},
                      token(Role::Employer, kEmployer, "Acme", kEmployer));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("id", "");
  }

  void putProfile(const Jobcastd& node, const std::string& tok) {
    auto r = httpJson("PUT", node.url("/api/v1/me/profile"),
                      {{"name", "Ama"}, {"phone", "13800138000"}}, tok);
    EXPECT_EQ(r.status, 200) << r.body;
  }

  RedisServer redis_;
  TempDir dir_{"live-test"};
  int configs_ = 0;
};

TEST_F(LiveChannel, WelcomeCarriesTheSnapshotAndAnonymousViewersOnlyRead) {
  auto node = startNode();
  json welcome;
  auto viewer = join(*node, "", "", &welcome);
  ASSERT_TRUE(viewer);
  EXPECT_EQ(welcome["room"], kRoom);
  EXPECT_EQ(welcome["resume"], "none");
  EXPECT_EQ(welcome["snapshot"]["room"]["status"], "live");
  EXPECT_EQ(welcome["snapshot"]["room"]["pinned_job"], "job-7");
  EXPECT_TRUE(welcome["snapshot"]["questions"].is_array());
  EXPECT_EQ(welcome["snapshot"]["queue"]["length"], 0);
  EXPECT_EQ(welcome["you"]["role"], "viewer");

  json r = viewer->call({{"type", "chat.send"}, {"text", "hello"}});
  EXPECT_EQ(r["type"], "error");
  EXPECT_EQ(r["code"], "unauthorized");
  r = viewer->call({{"type", "ping"}});
  EXPECT_EQ(r["type"], "ack");
  EXPECT_EQ(r["pong"], true);

  // A room that does not exist: error, then close 4404.
  auto lost = WsClient::connect(node->httpPort());
  ASSERT_TRUE(lost);
  json e = lost->hello("no-such-room");
  EXPECT_EQ(e["code"], "room_not_found");
  EXPECT_EQ(lost->waitClosed(), 4404);

  // Only /ws with the jobcast.v1 subprotocol upgrades.
  std::string error;
  EXPECT_FALSE(WsClient::connect(node->httpPort(), {.path = "/other"}, &error));
}

TEST_F(LiveChannel, ChatArrivesInOrderMaskedAndWithinLimits) {
  auto node = startNode("  chat_max_chars: 20\n");
  auto viewer = join(*node);
  auto js = join(*node, token(Role::Jobseeker, "js-1", "Ama"));
  ASSERT_TRUE(viewer && js);
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    json ack = js->call({{"type", "chat.send"}, {"text", "msg " + std::to_string(i)}});
    ASSERT_EQ(ack["type"], "ack") << ack.dump();
    ids.push_back(ack["event"]);
  }
  for (int i = 0; i < 40; ++i) {
    json ev = viewer->waitEvent("chat.message");
    ASSERT_FALSE(ev.is_null()) << "message " << i << " missing";
    EXPECT_EQ(ev["data"]["text"], "msg " + std::to_string(i));
    EXPECT_EQ(ev["id"], ids[static_cast<size_t>(i)]);
    EXPECT_EQ(ev["data"]["name"], "Ama");
  }
  json masked = js->call({{"type", "chat.send"}, {"text", "Darn it"}});
  ASSERT_EQ(masked["type"], "ack");
  EXPECT_EQ(viewer->waitEvent("chat.message")["data"]["text"], "**** it");
  json longer = js->call({{"type", "chat.send"}, {"text", std::string(21, 'x')}});
  EXPECT_EQ(longer["code"], "too_long");
  json blank = js->call({{"type", "chat.send"}, {"text", "   "}});
  EXPECT_EQ(blank["code"], "invalid_field");
}

TEST_F(LiveChannel, ChatRateAndSlowModeAreEnforced) {
  auto node = startNode("  chat_rate_count: 3\n");
  auto js = join(*node, token(Role::Jobseeker, "js-1"));
  auto mod = join(*node, token(Role::Counsellor, "c-1"));
  ASSERT_TRUE(js && mod);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(js->call({{"type", "chat.send"}, {"text", "hi"}})["type"], "ack");
  json limited = js->call({{"type", "chat.send"}, {"text", "hi"}});
  EXPECT_EQ(limited["code"], "rate_limited");
  // When to send again is a field, not only words in the message.
  EXPECT_GE(limited.value("retry_s", 0), 1) << limited.dump();

  auto js2 = join(*node, token(Role::Jobseeker, "js-2"));
  EXPECT_EQ(mod->call({{"type", "mod.slowmode"}, {"seconds", 30}})["type"], "ack");
  EXPECT_FALSE(js2->waitEvent("slowmode.changed").is_null());
  EXPECT_EQ(js2->call({{"type", "chat.send"}, {"text", "one"}})["type"], "ack");
  json slowed = js2->call({{"type", "chat.send"}, {"text", "two"}});
  EXPECT_EQ(slowed["code"], "slow_mode");
  EXPECT_GE(slowed.value("retry_s", 0), 1) << slowed.dump();
  EXPECT_LE(slowed.value("retry_s", 0), 30) << slowed.dump();
  // Staff are not slowed.
  EXPECT_EQ(mod->call({{"type", "chat.send"}, {"text", "a"}})["type"], "ack");
  EXPECT_EQ(mod->call({{"type", "chat.send"}, {"text", "b"}})["type"], "ack");
}

TEST_F(LiveChannel, ResumeDeliversExactlyTheMissedEvents) {
  auto node = startNode();
  auto js = join(*node, token(Role::Jobseeker, "js-1"));
  auto viewer = join(*node);
  ASSERT_TRUE(js && viewer);
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(js->call({{"type", "chat.send"}, {"text", "before " + std::to_string(i)}})["type"],
              "ack");
  std::string last;
  for (int i = 0; i < 5; ++i)
    last = viewer->waitEvent("chat.message")["id"];
  viewer.reset();  // the connection drops

  for (int i = 0; i < 7; ++i)
    ASSERT_EQ(js->call({{"type", "chat.send"}, {"text", "missed " + std::to_string(i)}})["type"],
              "ack");
  json welcome;
  auto back = join(*node, "", last, &welcome);
  ASSERT_TRUE(back);
  EXPECT_EQ(welcome["resume"], "ok");
  for (int i = 7; i < 10; ++i)
    ASSERT_EQ(js->call({{"type", "chat.send"}, {"text", "after " + std::to_string(i)}})["type"],
              "ack");
  std::vector<std::string> texts;
  while (texts.size() < 10) {
    json ev = back->waitEvent("chat.message");
    ASSERT_FALSE(ev.is_null()) << "got only " << texts.size();
    texts.push_back(ev["data"]["text"]);
  }
  for (int i = 0; i < 7; ++i)
    EXPECT_EQ(texts[static_cast<size_t>(i)], "missed " + std::to_string(i));
  for (int i = 7; i < 10; ++i)
    EXPECT_EQ(texts[static_cast<size_t>(i)], "after " + std::to_string(i));
  // Nothing repeated afterwards.
  EXPECT_TRUE(back->waitEvent("chat.message", nullptr, 500ms).is_null());

  // A cursor older than the retained window: say so, fresh snapshot, no gap-filling.
  redis_.command({"XTRIM", "jc:{r:fair1}:events", "MAXLEN", "0"});
  ASSERT_EQ(js->call({{"type", "chat.send"}, {"text", "new"}})["type"], "ack");
  json stale;
  auto again = join(*node, "", last, &stale);
  ASSERT_TRUE(again);
  EXPECT_EQ(stale["resume"], "expired");
  EXPECT_TRUE(stale["snapshot"].is_object());
  EXPECT_TRUE(again->waitEvent("chat.message", nullptr, 500ms).is_null());
}

TEST_F(LiveChannel, TwoNodesOnOneRedisActAsOne) {
  auto a = startNode();
  auto b = startNode();
  auto on_b = join(*b);
  auto on_b2 = join(*b);
  auto js_a = join(*a, token(Role::Jobseeker, "js-1"));
  ASSERT_TRUE(on_b && on_b2 && js_a);
  json ack = js_a->call({{"type", "chat.send"}, {"text", "from A"}});
  ASSERT_EQ(ack["type"], "ack");
  json ev = on_b->waitEvent("chat.message");
  ASSERT_FALSE(ev.is_null());
  EXPECT_EQ(ev["data"]["text"], "from A");
  EXPECT_EQ(ev["id"], ack["event"]);

  // Viewer counts add up across nodes: 2 on B + 1 on A.
  EXPECT_FALSE(
      js_a->waitEvent("viewers.changed", [](const json& e) { return e["data"]["count"] == 3; })
          .is_null());
  // B dies: its share expires.
  b->stop(SIGKILL);
  EXPECT_FALSE(
      js_a->waitEvent("viewers.changed", [](const json& e) { return e["data"]["count"] == 1; })
          .is_null());
}

TEST_F(LiveChannel, ModerationMuteDeleteAndBan) {
  auto node = startNode();
  auto js = join(*node, token(Role::Jobseeker, "js-1"));
  auto viewer = join(*node);
  auto emp = join(*node, token(Role::Employer, kEmployer, "Acme"));
  auto other_emp = join(*node, token(Role::Employer, "emp-other"));
  ASSERT_TRUE(js && viewer && emp && other_emp);

  json sent = js->call({{"type", "chat.send"}, {"text", "buy my crypto"}});
  ASSERT_EQ(sent["type"], "ack");
  // Only this room's employer (and counsellors, admins) moderate.
  EXPECT_EQ(other_emp->call({{"type", "mod.delete"}, {"id", sent["id"]}})["code"], "forbidden");
  EXPECT_EQ(js->call({{"type", "mod.delete"}, {"id", sent["id"]}})["code"], "forbidden");
  EXPECT_EQ(emp->call({{"type", "mod.delete"}, {"id", sent["id"]}})["type"], "ack");
  for (auto* c : {js.get(), viewer.get(), other_emp.get()}) {
    json d = c->waitEvent("chat.deleted");
    ASSERT_FALSE(d.is_null());
    EXPECT_EQ(d["data"]["id"], sent["id"]);
  }

  EXPECT_EQ(emp->call({{"type", "mod.mute"}, {"sub", "js-1"}, {"seconds", 60}})["type"], "ack");
  json refused = js->call({{"type", "chat.send"}, {"text", "hello?"}});
  EXPECT_EQ(refused["type"], "error");
  EXPECT_EQ(refused["code"], "muted");
  EXPECT_EQ(js->call({{"type", "question.ask"}, {"text", "why?"}})["code"], "muted");
  EXPECT_EQ(emp->call({{"type", "mod.mute"}, {"sub", "js-1"}, {"seconds", 0}})["type"], "ack");
  EXPECT_EQ(js->call({{"type", "chat.send"}, {"text", "thanks"}})["type"], "ack");

  EXPECT_EQ(emp->call({{"type", "mod.ban"}, {"sub", "js-1"}})["type"], "ack");
  EXPECT_EQ(js->waitClosed(), 4403);
  EXPECT_FALSE(viewer->waitEvent("user.banned").is_null());
  auto again = WsClient::connect(node->httpPort());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->hello(kRoom, token(Role::Jobseeker, "js-1"))["code"], "banned");
  EXPECT_EQ(again->waitClosed(), 4403);
}

// A blocked Chinese or Mongolian word is masked inside running text: those
// scripts have no spaces between words.
TEST_F(LiveChannel, ChineseAndMongolianBlockedWordsAreMaskedInsideText) {
  auto node = startNode("  blocked_words: [darn, 傻瓜, ᠮᠠᠭᠤ]\n");
  auto viewer = join(*node);
  auto js = join(*node, token(Role::Jobseeker, "js-1", "Ama"));
  ASSERT_TRUE(viewer && js);
  ASSERT_EQ(js->call({{"type", "chat.send"}, {"text", "你是傻瓜吗"}})["type"], "ack");
  EXPECT_EQ(viewer->waitEvent("chat.message")["data"]["text"], "你是**吗");
  ASSERT_EQ(js->call({{"type", "chat.send"}, {"text", "ᠲᠡᠷᠡ ᠮᠠᠭᠤᠬᠠᠢ"}})["type"], "ack");
  EXPECT_EQ(viewer->waitEvent("chat.message")["data"]["text"], "ᠲᠡᠷᠡ ****ᠬᠠᠢ");
  ASSERT_EQ(js->call({{"type", "question.ask"}, {"text", "darn工资多少"}})["type"], "ack");
  EXPECT_EQ(viewer->waitEvent("question.asked")["data"]["text"], "****工资多少");
}

// A kick closes the user's connections with 4409 and, unlike a ban, they may
// join again at once; others stay connected.
TEST_F(LiveChannel, KickDisconnectsWith4409AndTheUserMayRejoin) {
  auto node = startNode();
  auto js = join(*node, token(Role::Jobseeker, "js-1"));
  auto js_tab = join(*node, token(Role::Jobseeker, "js-1"));
  auto other = join(*node, token(Role::Jobseeker, "js-2"));
  auto mod = join(*node, token(Role::Counsellor, "c-1"));
  ASSERT_TRUE(js && js_tab && other && mod);
  EXPECT_EQ(other->call({{"type", "mod.kick"}, {"sub", "js-1"}})["code"], "forbidden");
  EXPECT_EQ(mod->call({{"type", "mod.kick"}, {"sub", "c-1"}})["code"], "invalid_field");
  json ack = mod->call({{"type", "mod.kick"}, {"sub", "js-1"}});
  ASSERT_EQ(ack["type"], "ack") << ack.dump();
  EXPECT_EQ(js->waitClosed(), 4409);
  EXPECT_EQ(js_tab->waitClosed(), 4409);
  json kicked = other->waitEvent("user.kicked");
  ASSERT_FALSE(kicked.is_null());
  EXPECT_EQ(kicked["data"]["sub"], "js-1");
  EXPECT_EQ(other->call({{"type", "ping"}})["type"], "ack");

  auto back = join(*node, token(Role::Jobseeker, "js-1"));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->call({{"type", "chat.send"}, {"text", "sorry"}})["type"], "ack");
}

// A pinned message is on everyone's screen, in the snapshot of whoever joins
// later, replaced by the next pin, and gone when unpinned or deleted.
TEST_F(LiveChannel, PinnedMessageReachesLateJoinersUntilUnpinnedOrDeleted) {
  auto node = startNode();
  auto js = join(*node, token(Role::Jobseeker, "js-1", "Ama"));
  auto mod = join(*node, token(Role::Counsellor, "c-1", "Bayar"));
  ASSERT_TRUE(js && mod);
  json first = js->call({{"type", "chat.send"}, {"text", "Is there a dormitory?"}});
  json second = js->call({{"type", "chat.send"}, {"text", "And meals?"}});
  ASSERT_EQ(first["type"], "ack");
  ASSERT_EQ(second["type"], "ack");
  EXPECT_EQ(js->call({{"type", "chat.pin"}, {"id", first["id"]}})["code"], "forbidden");
  EXPECT_EQ(mod->call({{"type", "chat.pin"}, {"id", "m-none"}})["code"], "not_found");
  ASSERT_EQ(mod->call({{"type", "chat.pin"}, {"id", first["id"]}})["type"], "ack");
  json pinned = js->waitEvent("chat.pinned");
  ASSERT_FALSE(pinned.is_null());
  EXPECT_EQ(pinned["data"]["text"], "Is there a dormitory?");
  EXPECT_EQ(pinned["data"]["by"], "Bayar");

  json welcome;
  auto late = join(*node, "", "", &welcome);
  ASSERT_TRUE(late);
  EXPECT_EQ(welcome["snapshot"]["pinned_message"]["id"], first["id"]);
  EXPECT_EQ(welcome["snapshot"]["pinned_message"]["name"], "Ama");

  ASSERT_EQ(mod->call({{"type", "chat.pin"}, {"id", second["id"]}})["type"], "ack");
  ASSERT_EQ(mod->call({{"type", "chat.unpin"}})["type"], "ack");
  EXPECT_EQ(late->waitEvent("chat.unpinned")["data"]["id"], second["id"]);
  EXPECT_EQ(mod->call({{"type", "chat.unpin"}})["code"], "not_found");
  join(*node, "", "", &welcome);
  EXPECT_FALSE(welcome["snapshot"].contains("pinned_message")) << welcome.dump();

  // Deleting the pinned message unpins it.
  ASSERT_EQ(mod->call({{"type", "chat.pin"}, {"id", first["id"]}})["type"], "ack");
  ASSERT_EQ(mod->call({{"type", "mod.delete"}, {"id", first["id"]}})["type"], "ack");
  EXPECT_EQ(late->waitEvent("chat.unpinned")["data"]["id"], first["id"]);
  join(*node, "", "", &welcome);
  EXPECT_FALSE(welcome["snapshot"].contains("pinned_message")) << welcome.dump();
}

// Staff who open the console late see the recent chat in the snapshot, in
// order and without deleted messages.
TEST_F(LiveChannel, LateJoinersGetTheRecentChatWithoutDeletedMessages) {
  auto node = startNode();
  auto js = join(*node, token(Role::Jobseeker, "js-1", "Ama"));
  auto emp = join(*node, token(Role::Employer, kEmployer, "Acme", kEmployer));
  ASSERT_TRUE(js && emp);
  std::vector<std::string> ids;
  for (int i = 0; i < 55; ++i) {
    json ack = js->call({{"type", "chat.send"}, {"text", "line " + std::to_string(i)}});
    ASSERT_EQ(ack["type"], "ack") << ack.dump();
    ids.push_back(ack["id"]);
  }
  ASSERT_EQ(emp->call({{"type", "mod.delete"}, {"id", ids[54]}})["type"], "ack");
  json welcome;
  auto mod = join(*node, token(Role::Counsellor, "c-1"), "", &welcome);
  ASSERT_TRUE(mod);
  const json& chat = welcome["snapshot"]["chat"];
  ASSERT_TRUE(chat.is_array()) << welcome.dump();
  ASSERT_EQ(chat.size(), 49u);  // the last 50, one of them deleted
  EXPECT_EQ(chat.front()["id"], ids[5]);
  EXPECT_EQ(chat.front()["text"], "line 5");
  EXPECT_EQ(chat.back()["id"], ids[53]);
  EXPECT_EQ(chat.back()["name"], "Ama");
  EXPECT_EQ(chat.back()["role"], "jobseeker");
}

// A card taken down leaves everyone's screen and the snapshot.
TEST_F(LiveChannel, CardHideTakesTheCardDown) {
  auto node = startNode();
  auto viewer = join(*node);
  auto counsellor = join(*node, token(Role::Counsellor, "c-1", "Bayar"));
  auto emp = join(*node, token(Role::Employer, kEmployer, "Acme", kEmployer));
  ASSERT_TRUE(viewer && counsellor && emp);
  EXPECT_EQ(counsellor->call({{"type", "card.hide"}})["code"], "not_found");
  ASSERT_EQ(counsellor->call({{"type", "card.show"},
                              {"card", "policy"},
                              {"title", "Fair pay"},
                              {"body", "Paid monthly"}})["type"],
            "ack");
  EXPECT_FALSE(viewer->waitEvent("card.shown").is_null());
  EXPECT_EQ(emp->call({{"type", "card.hide"}})["code"], "forbidden");
  ASSERT_EQ(counsellor->call({{"type", "card.hide"}})["type"], "ack");
  json hidden = viewer->waitEvent("card.hidden");
  ASSERT_FALSE(hidden.is_null());
  EXPECT_EQ(hidden["data"]["by"], "Bayar");
  json welcome;
  join(*node, "", "", &welcome);
  EXPECT_FALSE(welcome["snapshot"].contains("card")) << welcome.dump();
}

// A client that retries a write sends the same client_id: one message, one
// event, and the first answer again.
TEST_F(LiveChannel, ChatWithAClientIdIsStoredOnceHoweverOftenItIsSent) {
  auto node = startNode();
  auto viewer = join(*node);
  auto js = join(*node, token(Role::Jobseeker, "js-1", "Ama"));
  ASSERT_TRUE(viewer && js);
  json send = {{"type", "chat.send"}, {"text", "hello"}, {"client_id", "c-1"}};
  json first = js->call(send);
  ASSERT_EQ(first["type"], "ack") << first.dump();
  json again = js->call(send);
  ASSERT_EQ(again["type"], "ack") << again.dump();
  EXPECT_EQ(again["id"], first["id"]);
  EXPECT_EQ(again["event"], first["event"]);
  // Another client id is another message.
  json other = js->call({{"type", "chat.send"}, {"text", "bye"}, {"client_id", "c-2"}});
  ASSERT_EQ(other["type"], "ack") << other.dump();
  EXPECT_NE(other["id"], first["id"]);
  ASSERT_FALSE(
      viewer->waitEvent("chat.message", [&](const json& e) { return e["id"] == other["event"]; })
          .is_null());
  auto messages = viewer->events("chat.message");
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0]["data"]["text"], "hello");
  EXPECT_EQ(redis_.command({"GET", "jc:{r:fair1}:seq"}), "2");

  // Votes and queue actions too: the repeat answers as the first time did.
  json q = js->call({{"type", "question.ask"}, {"text", "Housing?"}, {"client_id", "q-1"}});
  ASSERT_EQ(q["type"], "ack") << q.dump();
  EXPECT_EQ(js->call({{"type", "question.ask"}, {"text", "Housing?"}, {"client_id", "q-1"}})["id"],
            q["id"]);
  json vote = {{"type", "question.vote"}, {"id", q["id"]}, {"client_id", "v-1"}};
  EXPECT_EQ(js->call(vote)["votes"], 1);
  EXPECT_EQ(js->call(vote)["votes"], 1);
  json leave = {{"type", "queue.leave"}, {"client_id", "l-1"}};
  ASSERT_EQ(js->call({{"type", "queue.join"}, {"client_id", "j-1"}})["position"], 1);
  EXPECT_EQ(js->call(leave)["type"], "ack");
  EXPECT_EQ(js->call(leave)["type"], "ack");  // not "not_queued"

  for (const json& bad :
       {json(12), json(""), json(std::string(65, 'a')), json("a b"), json("caf\u00e9")}) {
    json r = js->call({{"type", "chat.send"}, {"text", "x"}, {"client_id", bad}});
    EXPECT_EQ(r["code"], "invalid_field") << bad.dump();
  }
  EXPECT_EQ(redis_.command({"GET", "jc:{r:fair1}:seq"}), "3");
}

// Redis stops answering while a chat message is on its way: the message may
// be stored (here it is), so the answer is outcome_unknown, not "nothing was
// stored"; the client's retry with the same client_id posts nothing new.
TEST_F(LiveChannel, ChatLostWithRedisHasAnUnknownOutcomeAndItsRetryPostsNothingNew) {
  auto node = startNode();
  auto js = join(*node, token(Role::Jobseeker, "js-1", "Ama"));
  ASSERT_TRUE(js);
  ASSERT_EQ(js->call({{"type", "chat.send"}, {"text", "first"}})["type"], "ack");
  redis_.pause();
  json send = {{"type", "chat.send"}, {"text", "are you there?"}, {"client_id", "c-9"}};
  json lost = js->call(send, std::chrono::seconds(10));
  redis_.resume();
  EXPECT_EQ(lost["type"], "error") << lost.dump();
  EXPECT_EQ(lost["code"], "outcome_unknown") << lost.dump();
  EXPECT_EQ(redis_.command({"GET", "jc:{r:fair1}:seq"}), "2") << "Redis stored it after all";
  // The client retries until the node has Redis again.
  json retry;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    retry = js->call(send);
  } while (retry["code"] == "redis_unavailable" && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(retry["type"], "ack") << retry.dump();
  EXPECT_EQ(retry["id"], "m2");
  EXPECT_EQ(redis_.command({"GET", "jc:{r:fair1}:seq"}), "2");
}

TEST_F(LiveChannel, QuestionVotesCountOncePerUser) {
  auto node = startNode();
  auto a = join(*node, token(Role::Jobseeker, "js-a"));
  auto b = join(*node, token(Role::Jobseeker, "js-b"));
  auto counsellor = join(*node, token(Role::Counsellor, "c-1", "Kofi"));
  ASSERT_TRUE(a && b && counsellor);
  json q = a->call({{"type", "question.ask"}, {"text", "Is there housing?"}});
  ASSERT_EQ(q["type"], "ack");
  std::string qid = q["id"];
  EXPECT_EQ(a->call({{"type", "question.vote"}, {"id", qid}})["votes"], 1);
  EXPECT_EQ(a->call({{"type", "question.vote"}, {"id", qid}})["code"], "already_voted");
  EXPECT_EQ(b->call({{"type", "question.vote"}, {"id", qid}})["votes"], 2);
  EXPECT_EQ(b->call({{"type", "question.vote"}, {"id", "q999"}})["code"], "not_found");
  EXPECT_EQ(a->call({{"type", "question.answer"}, {"id", qid}, {"answer", "yes"}})["code"],
            "forbidden");
  EXPECT_EQ(counsellor->call({{"type", "question.answer"}, {"id", qid}, {"answer", "Yes"}})["type"],
            "ack");
  EXPECT_FALSE(b->waitEvent("question.answered").is_null());

  json welcome;
  auto late = join(*node, token(Role::Jobseeker, "js-b"), "", &welcome);
  ASSERT_TRUE(late);
  auto questions = welcome["snapshot"]["questions"];
  ASSERT_EQ(questions.size(), 1u);
  EXPECT_EQ(questions[0]["votes"], 2);
  EXPECT_EQ(questions[0]["voted"], true);
  EXPECT_EQ(questions[0]["answered"], true);
  EXPECT_EQ(redis_.command({"SCARD", "jc:{r:fair1}:q:" + qid + ":voters"}), "2");
}

TEST_F(LiveChannel, InterviewQueuePositionsOfferAndGracePeriod) {
  auto node = startNode();
  auto emp = join(*node, token(Role::Employer, kEmployer, "Acme"));
  auto j1 = join(*node, token(Role::Jobseeker, "js-1", "Ama"));
  auto j2 = join(*node, token(Role::Jobseeker, "js-2", "Kwame"));
  auto j3 = join(*node, token(Role::Jobseeker, "js-3", "Efua"));
  ASSERT_TRUE(emp && j1 && j2 && j3);
  auto position = [](WsClient& c, int want) {
    return !c.waitEvent("queue.position", [want](const json& e) {
               return e["data"]["position"] == want;
             }).is_null();
  };
  EXPECT_EQ(j1->call({{"type", "queue.join"}})["position"], 1);
  EXPECT_EQ(j2->call({{"type", "queue.join"}})["position"], 2);
  EXPECT_EQ(j3->call({{"type", "queue.join"}})["position"], 3);
  EXPECT_EQ(j2->call({{"type", "queue.join"}})["position"], 2);  // idempotent
  EXPECT_TRUE(position(*j3, 3));
  json eta = j3->events("queue.position").back();
  EXPECT_GT(eta["data"]["eta_s"].get<int>(), 0);
  EXPECT_EQ(emp->call({{"type", "queue.join"}})["code"], "forbidden");

  EXPECT_EQ(j2->call({{"type", "queue.leave"}})["type"], "ack");
  EXPECT_TRUE(position(*j3, 2));
  json list = emp->waitEvent("queue.list", [](const json& e) { return e["data"]["length"] == 2; });
  ASSERT_FALSE(list.is_null());
  EXPECT_EQ(list["data"]["entries"][0]["name"], "Ama");

  EXPECT_EQ(j1->call({{"type", "queue.next"}})["code"], "forbidden");
  json next = emp->call({{"type", "queue.next"}});
  ASSERT_EQ(next["type"], "ack") << next.dump();
  EXPECT_EQ(next["jobseeker"]["sub"], "js-1");
  json offer_js = j1->waitEvent("interview.offer");
  json offer_emp = emp->waitEvent("interview.offer");
  ASSERT_FALSE(offer_js.is_null());
  ASSERT_FALSE(offer_emp.is_null());
  EXPECT_EQ(offer_js["data"]["call_id"], next["call_id"]);
  EXPECT_EQ(offer_emp["data"]["call_id"], next["call_id"]);
  EXPECT_TRUE(j2->events("interview.offer").empty());
  EXPECT_TRUE(position(*j3, 1));

  // Disconnected longer than the grace period (1 s here): out of the queue.
  j3.reset();
  EXPECT_FALSE(emp->waitEvent("queue.list", [](const json& e) { return e["data"]["length"] == 0; })
                   .is_null());
  EXPECT_EQ(redis_.command({"ZCARD", "jc:{r:fair1}:queue"}), "0");
}

TEST_F(LiveChannel, QueuedPersonWhoReconnectsWithinGraceKeepsTheirPlace) {
  auto node = startNode("  queue_grace_ms: 3000\n");
  auto j1 = join(*node, token(Role::Jobseeker, "js-1"));
  ASSERT_TRUE(j1);
  EXPECT_EQ(j1->call({{"type", "queue.join"}})["position"], 1);
  j1.reset();
  std::this_thread::sleep_for(500ms);
  json welcome;
  auto back = join(*node, token(Role::Jobseeker, "js-1"), "", &welcome);
  ASSERT_TRUE(back);
  EXPECT_EQ(welcome["snapshot"]["queue"]["position"], 1);
  std::this_thread::sleep_for(3500ms);
  EXPECT_EQ(redis_.command({"ZCARD", "jc:{r:fair1}:queue"}), "1");
}

// A queued jobseeker whose page only listens keeps their place however long
// the wait: the node pings a quiet connection and the PONG keeps it. A phone
// gone without a word (no PONG) is closed within server.ws_timeout_s, even
// while the room's chat is still being written to it, and leaves the queue
// after the grace: the employer is not offered someone who is gone.
TEST_F(LiveChannel, AListenerThatAnswersPingsStaysAndAVanishedPhoneIsClosed) {
  auto node = startNode("server:\n  ws_ping_s: 1\n  ws_timeout_s: 3\n");
  auto emp = join(*node, token(Role::Employer, kEmployer, "Acme"));
  auto listening = join(*node, token(Role::Jobseeker, "js-1", "Ama"));
  auto vanished = join(*node, token(Role::Jobseeker, "js-2", "Kwame"));
  auto chatty = join(*node, token(Role::Jobseeker, "js-3", "Efua"));
  auto talking = join(*node, token(Role::Jobseeker, "js-4", "Kofi"));
  ASSERT_TRUE(emp && listening && vanished && chatty && talking);
  EXPECT_EQ(listening->call({{"type", "queue.join"}})["position"], 1);
  EXPECT_EQ(vanished->call({{"type", "queue.join"}})["position"], 2);
  // Several PINGs long, with chat going on: the listener and the employer
  // only read (and so answer PINGs); the vanished one reads nothing more;
  // the talking one sends frames but reads nothing either (its frames count).
  int heard = 0, heard_late = 0;
  auto start = std::chrono::steady_clock::now();
  for (int n = 1; std::chrono::steady_clock::now() < start + 8s; ++n) {
    json ack = chatty->call({{"type", "chat.send"}, {"text", "hello " + std::to_string(n)}});
    ASSERT_EQ(ack["type"], "ack") << ack.dump();
    if (n % 5 == 0)
      talking->sendJson({{"type", "ping"}, {"req", n}});
    for (auto* c : {listening.get(), emp.get()}) {
      while (auto m = c->read(1ms)) {
        heard += m->opcode == 1;
        heard_late += m->opcode == 1 && std::chrono::steady_clock::now() > start + 6s;
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(listening->closed());
  EXPECT_FALSE(emp->closed());
  EXPECT_EQ(talking->call({{"type", "ping"}})["type"], "ack");
  EXPECT_GT(heard_late, 0) << "the listeners stopped hearing the chat (" << heard << " frames)";
  EXPECT_EQ(redis_.command({"ZRANGE", "jc:{r:fair1}:queue", "0", "-1"}), "js-1");
  json next = emp->call({{"type", "queue.next"}});
  ASSERT_EQ(next["type"], "ack") << next.dump();
  EXPECT_EQ(next["jobseeker"]["sub"], "js-1");
  // The vanished one's socket was hung up, without a close frame.
  EXPECT_EQ(vanished->waitClosed(1s), 0);
}

// A figure from the node's /metrics (0 when absent).
double metric(const Jobcastd& node, const std::string& name) {
  auto r = httpGet(node.url("/metrics"));
  for (size_t at = r.body.find(name); at != std::string::npos; at = r.body.find(name, at + 1)) {
    bool line_start = at == 0 || r.body[at - 1] == '\n';
    size_t after = at + name.size();
    if (line_start && after < r.body.size() && (r.body[after] == ' ' || r.body[after] == '{')) {
      size_t space = r.body.find(' ', after);
      return std::stod(r.body.substr(space + 1));
    }
  }
  return 0;
}

// A small event travels in its notification and goes out without a read of
// the stream; an event whose notification was missed (here: none was sent)
// is read from the stream when the next notice does not follow the feed's
// position, before that notice's event, so none is lost or reordered.
TEST_F(LiveChannel, EventsTravelInTheirNoticeAndAMissedOneIsReadFromTheStream) {
  auto node = startNode();
  auto viewer = join(*node);
  ASSERT_TRUE(viewer);
  auto sender = join(*node, token(Role::Counsellor, "c-1", "Chen"));
  ASSERT_TRUE(sender);
  double inline_before = metric(*node, "jobcast_ws_events_inline_total");
  json first = sender->call({{"type", "chat.send"}, {"text", "first"}});
  ASSERT_EQ(first["type"], "ack") << first.dump();
  json got = viewer->waitEvent("chat.message");
  ASSERT_FALSE(got.is_null());
  EXPECT_EQ(got["data"]["text"], "first");
  EXPECT_GE(metric(*node, "jobcast_ws_events_inline_total"), inline_before + 1);

  // An event that no notice announces, then one more chat message.
  std::string prefix = "jc:{r:" + std::string(kRoom) + "}:";
  std::string silent = redis_.command({"XADD", prefix + "events", "*", "kind", "caption", "data",
                                       R"({"text":"unannounced"})", "aud", "all"});
  double inline_mid = metric(*node, "jobcast_ws_events_inline_total");
  json second = sender->call({{"type", "chat.send"}, {"text", "second"}});
  ASSERT_EQ(second["type"], "ack");
  json caption = viewer->waitEvent("caption");
  ASSERT_FALSE(caption.is_null()) << "the unannounced event was not read from the stream";
  EXPECT_EQ(caption["id"], silent);
  json next = viewer->waitEvent("chat.message");
  ASSERT_FALSE(next.is_null());
  EXPECT_EQ(next["data"]["text"], "second");
  EXPECT_GT(next["id"].get<std::string>(), caption["id"].get<std::string>());
  EXPECT_EQ(metric(*node, "jobcast_ws_events_inline_total"), inline_mid)
      << "a notice that does not follow the feed's position was taken inline";
}

// A tick to hundreds of viewers is sent by the fan-out threads, one send()
// per socket and frame, some ticks carrying several frames, to sockets with
// small and large receive buffers. Every viewer gets every event whole, once
// and in stream order.
TEST_F(LiveChannel, FanOutThreadsDeliverEveryEventWholeOnceAndInOrder) {
  auto node = startNode(std::string("  fanout_threads: 4\n") + kManyFromOneAddress);
  constexpr int kViewers = 400;  // a fan-out of 256 or more uses the threads
  std::vector<std::unique_ptr<WsClient>> viewers;
  for (int i = 0; i < kViewers; ++i) {
    std::string error;
    WsClient::Options o;
    o.receive_buffer = i % 10 == 0 ? 4096 : 0;
    auto c = WsClient::connect(node->httpPort(), o, &error);
    ASSERT_TRUE(c) << error;
    c->sendJson({{"type", "hello"}, {"room", kRoom}, {"token", nullptr}});
    viewers.push_back(std::move(c));
  }
  for (auto& v : viewers) {
    ASSERT_FALSE(v->waitFor([](const json& m) { return m["type"] == "welcome"; }, 10s).is_null());
  }
  // Small and large events, some appended together (one batch frame), some
  // apart (one frame each): 40 events, about 0.5 MB for every viewer.
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    size_t size = i % 3 == 0 ? 40000 : 50;
    ids.push_back(
        appendEvent(redis_, "caption", {{"text", std::string(size, 'a' + i % 26)}, {"n", i}}));
    if (i % 5 == 4)
      std::this_thread::sleep_for(100ms);
  }
  for (int i = 0; i < kViewers; ++i) {
    std::vector<std::string> got;
    while (got.size() < ids.size()) {
      json ev = viewers[i]->waitEvent("caption", nullptr, 10s);
      if (ev.is_null())
        break;
      int n = ev["data"]["n"];
      ASSERT_EQ(ev["data"]["text"].get<std::string>(),
                std::string(n % 3 == 0 ? 40000 : 50, static_cast<char>('a' + n % 26)));
      got.push_back(ev["id"]);
    }
    ASSERT_EQ(got, ids) << "viewer " << i;
    EXPECT_FALSE(viewers[i]->closed()) << "viewer " << i;
  }
  EXPECT_GE(metric(*node, "jobcast_ws_fanout_sends_total{result=\"whole\"}"), kViewers);
  EXPECT_EQ(metric(*node, "jobcast_ws_fanout_sends_total{result=\"broken\"}"), 0);
  EXPECT_TRUE(node->running());
}

// Events that reach a node together travel in one frame: one batch per
// audience, in stream order, each audience with only its own events.
TEST_F(LiveChannel, EventsThatComeTogetherArriveInOneBatchFramePerAudience) {
  auto node = startNode();
  auto viewer = join(*node);
  auto other = join(*node);
  auto staff = join(*node, token(Role::Counsellor, "c-1", "Chen"));
  auto seeker = join(*node, token(Role::Jobseeker, "js-1", "Ama"));
  ASSERT_TRUE(viewer && other && staff && seeker);
  // Five entries in one script: the node's next read sees all or none.
  std::string ids = redis_.command(
      {"EVAL",
       "local ids = {}\n"
       "local function add(kind, data, aud)\n"
       "  ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', 'kind', kind, 'data', data, 'aud', "
       "aud)\n"
       "end\n"
       "add('caption', '{\"text\":\"one\",\"lang\":\"en\",\"final\":true,\"by\":\"x\"}', 'all')\n"
       "add('queue.list', '{\"length\":0,\"entries\":[]}', 'staff')\n"
       "add('caption', '{\"text\":\"two\",\"lang\":\"en\",\"final\":true,\"by\":\"x\"}', 'all')\n"
       "add('queue.position', '{\"position\":1,\"length\":1,\"eta_s\":0}', 'user:js-1')\n"
       "add('caption', '{\"text\":\"three\",\"lang\":\"en\",\"final\":true,\"by\":\"x\"}', 'all')\n"
       "redis.call(ARGV[1], KEYS[2], ids[#ids])\n"
       "return ids",
       "2", "jc:{r:fair1}:events", "jc:{r:fair1}:notify", RedisServer::notifyCommand()});
  std::vector<std::string> id;
  for (size_t at = 0, nl; at < ids.size(); at = nl + 1) {
    nl = ids.find('\n', at);
    if (nl == std::string::npos)
      nl = ids.size();
    id.push_back(ids.substr(at, nl - at));
  }
  ASSERT_EQ(id.size(), 5u) << ids;
  auto expect = [&](WsClient& c, const std::vector<std::string>& want, const char* who) {
    const std::set<std::string> ours(id.begin(), id.end());
    std::vector<std::string> got;
    json last = c.waitFor([&](const json& j) { return j["id"] == id[4]; });
    ASSERT_FALSE(last.is_null()) << who;
    for (const auto& j : c.received()) {
      if (j["type"] == "event" && ours.count(j["id"]))
        got.push_back(j["id"]);
    }
    EXPECT_EQ(got, want) << who;
    int frames = 0;
    for (const auto& f : c.frames()) {
      bool has = false;
      if (f["type"] == "batch") {
        for (const auto& e : f["events"])
          has = has || ours.count(e["id"]) > 0;
      } else {
        has = f["type"] == "event" && ours.count(f["id"]) > 0;
      }
      frames += has ? 1 : 0;
    }
    EXPECT_EQ(frames, 1) << who << ": all in one frame";
  };
  expect(*viewer, {id[0], id[2], id[4]}, "viewer");
  expect(*other, {id[0], id[2], id[4]}, "another viewer");
  expect(*staff, {id[0], id[1], id[2], id[4]}, "staff");
  expect(*seeker, {id[0], id[2], id[3], id[4]}, "the queued jobseeker");
}

// Joiners who come in a burst while chat goes on: each gets every message
// after its welcome's last_id (or its since) exactly once, in order.
TEST_F(LiveChannel, ABurstOfJoinersDuringChatGetsEveryLaterMessageExactlyOnce) {
  auto node = startNode(kManyFromOneAddress);
  auto sender = join(*node, token(Role::Counsellor, "c-1", "Chen"));
  ASSERT_TRUE(sender);
  std::vector<std::string> sent;
  std::mutex sent_mutex;
  auto say = [&](int i) {
    json ack = sender->call({{"type", "chat.send"}, {"text", "m" + std::to_string(i)}});
    if (ack["type"] != "ack")
      return false;
    std::lock_guard lock(sent_mutex);
    sent.push_back(ack["event"]);
    return true;
  };
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(say(i));
  const std::string early = sent[1];
  constexpr int kJoiners = 60;
  std::vector<std::unique_ptr<WsClient>> joiners;
  std::vector<std::string> since(kJoiners);
  for (int i = 0; i < kJoiners; ++i) {
    std::string error;
    auto c = WsClient::connect(node->httpPort(), {}, &error);
    ASSERT_TRUE(c) << error;
    joiners.push_back(std::move(c));
  }
  std::atomic<bool> stop{false};
  std::thread chat([&] {
    for (int i = 5; !stop && i < 2000; ++i) {
      if (!say(i))
        break;
      std::this_thread::sleep_for(2ms);
    }
  });
  // Joined however the test ends.
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop = true;
      if (t.joinable())
        t.join();
    }
  } joiner{stop, chat};
  for (int i = 0; i < kJoiners; ++i) {
    // Every fifth one resumes from an early message; two share a token.
    json h{{"type", "hello"}, {"room", kRoom}, {"token", nullptr}};
    if (i % 5 == 0) {
      since[i] = early;
      h["since"] = early;
    }
    if (i % 7 == 1)
      h["token"] = token(Role::Jobseeker, "js-7", "Ama");
    joiners[i]->sendJson(h);
  }
  std::vector<json> welcomes;
  for (auto& c : joiners) {
    json w =
        c->waitFor([](const json& j) { return j["type"] == "welcome" || j["type"] == "error"; });
    ASSERT_EQ(w["type"], "welcome") << w.dump();
    welcomes.push_back(w);
  }
  // A few more after everybody is in, then the last one marks the end.
  std::this_thread::sleep_for(100ms);
  stop = true;
  chat.join();
  ASSERT_TRUE(say(99999));
  const std::string last = sent.back();
  ASSERT_GT(sent.size(), 10u);
  for (int i = 0; i < kJoiners; ++i) {
    auto& c = *joiners[i];
    json end = c.waitEvent(
        "chat.message", [&](const json& e) { return e["id"] == last; }, 10s);
    ASSERT_FALSE(end.is_null()) << "joiner " << i << " never got the last message";
    std::string from = since[i].empty() ? welcomes[i]["last_id"].get<std::string>() : since[i];
    if (!since[i].empty()) {
      EXPECT_EQ(welcomes[i]["resume"], "ok");
    }
    auto after = [](const std::string& a, const std::string& b) {
      auto split = [](const std::string& s) {
        auto dash = s.find('-');
        return std::pair(std::stoull(s.substr(0, dash)), std::stoull(s.substr(dash + 1)));
      };
      return split(a) > split(b);
    };
    std::vector<std::string> want, got;
    for (const auto& s : sent) {
      if (after(s, from))
        want.push_back(s);
    }
    for (const auto& e : c.events("chat.message"))
      got.push_back(e["id"]);
    EXPECT_EQ(got, want) << "joiner " << i << " from " << from;
  }
}

// Joiners who arrive while a snapshot is being read wait for one more read
// that serves them all, not one read each.
TEST_F(LiveChannel, JoinersOfOneMomentShareOneSnapshotRead) {
  auto node = startNode(kManyFromOneAddress);
  auto first = join(*node);
  ASSERT_TRUE(first);
  double before = metric(*node, "jobcast_ws_snapshots_total");
  constexpr int kJoiners = 40;
  std::vector<std::unique_ptr<WsClient>> joiners;
  for (int i = 0; i < kJoiners; ++i) {
    std::string error;
    auto c = WsClient::connect(node->httpPort(), {}, &error);
    ASSERT_TRUE(c) << error;
    joiners.push_back(std::move(c));
  }
  // Redis holds the first snapshot read while the others say hello.
  redis_.pause();
  for (auto& c : joiners)
    c->sendJson({{"type", "hello"}, {"room", kRoom}, {"token", nullptr}});
  bool all_waiting =
      eventually([&] { return metric(*node, "jobcast_ws_joining") >= kJoiners; }, 1000ms);
  redis_.resume();
  ASSERT_TRUE(all_waiting);
  std::string welcome;
  for (auto& c : joiners) {
    json w =
        c->waitFor([](const json& j) { return j["type"] == "welcome" || j["type"] == "error"; });
    ASSERT_EQ(w["type"], "welcome") << w.dump();
    if (welcome.empty())
      welcome = w.dump();
    EXPECT_EQ(w.dump(), welcome) << "the same welcome for all";
  }
  EXPECT_LE(metric(*node, "jobcast_ws_snapshots_total") - before, 2)
      << "one read in flight, one for all who came meanwhile";
  // And they are live.
  auto js = join(*node, token(Role::Jobseeker, "js-1"));
  json ack = js->call({{"type", "chat.send"}, {"text", "hello all"}});
  ASSERT_EQ(ack["type"], "ack");
  for (auto& c : joiners)
    EXPECT_FALSE(c->waitEvent("chat.message", [&](const json& e) {
                    return e["id"] == ack["event"];
                  }).is_null());
}

// Over live.max_connections the node refuses at once with a clear close code
// and keeps serving those it has.
TEST_F(LiveChannel, AFullNodeShedsNewConnectionsWith1013) {
  auto node = startNode("  max_connections: 3\n");
  auto a = join(*node);
  auto b = join(*node);
  auto c = join(*node);
  ASSERT_TRUE(a && b && c);
  std::string error;
  auto d = WsClient::connect(node->httpPort(), {}, &error);
  ASSERT_TRUE(d) << error;
  json refused = d->waitFor([](const json& j) { return j["type"] == "error"; });
  EXPECT_EQ(refused["code"], "node_full") << refused.dump();
  EXPECT_EQ(d->waitClosed(), 1013);
  c.reset();
  ASSERT_TRUE(eventually([&] { return metric(*node, "jobcast_ws_connections") < 3; }));
  auto e = join(*node);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->received().front()["type"], "welcome");
}

// The overload pattern that once crashed a node inside libhiredis: viewers
// arrive and leave while their snapshot reads are outstanding, Redis stalls
// long enough for the health check to drop the connection under them, then
// dies and comes back. The node keeps running and serves again.
TEST_F(LiveChannel, ViewersComingAndGoingWhileRedisStallsAndRestartsDoNotStopTheNode) {
  auto node = startNode(kManyFromOneAddress);
  auto churn = [&](int n) {
    std::vector<std::unique_ptr<WsClient>> cs;
    for (int i = 0; i < n; ++i) {
      std::string error;
      auto c = WsClient::connect(node->httpPort(), {}, &error);
      if (!c)
        continue;
      json h{{"type", "hello"}, {"room", kRoom}, {"token", nullptr}};
      if (i % 3 == 0)
        h["token"] = token(Role::Jobseeker, "js-" + std::to_string(i));
      c->sendJson(h);
      cs.push_back(std::move(c));
    }
    for (size_t i = 0; i < cs.size(); i += 2)
      cs[i].reset();  // half leave before any answer
    return cs;
  };
  auto before = churn(100);
  redis_.pause();
  auto stalled = churn(200);
  ASSERT_TRUE(eventually(
      [&] { return node->log().find("health check timed out") != std::string::npos; }, 10s));
  stalled = churn(100);  // while Redis is unreachable
  redis_.resume();
  auto during = churn(100);
  redis_.kill();
  auto dead = churn(100);
  redis_.start();
  ASSERT_TRUE(node->running());
  before.clear();
  stalled.clear();
  during.clear();
  dead.clear();
  ASSERT_TRUE(node->running()) << node->log().substr(0, 2000);
  // Serving again once Redis is back.
  std::unique_ptr<WsClient> back;
  ASSERT_TRUE(eventually(
      [&] {
        std::string error;
        auto c = WsClient::connect(node->httpPort(), {}, &error);
        if (!c || c->hello(kRoom)["type"] != "welcome")
          return false;
        back = std::move(c);
        return true;
      },
      15s));
  auto js = join(*node, token(Role::Jobseeker, "js-1"));
  ASSERT_TRUE(js);
  json ack = js->call({{"type", "chat.send"}, {"text", "still here"}});
  ASSERT_EQ(ack["type"], "ack") << ack.dump();
  EXPECT_FALSE(back->waitEvent("chat.message").is_null());
  EXPECT_TRUE(node->running());
}

// A connection that never says hello is closed (1008) after
// live.hello_timeout_s, while the others carry on.
TEST_F(LiveChannel, AConnectionWithoutHelloIsClosedAfterTheTimeout) {
  auto node = startNode("  hello_timeout_s: 1\n");
  auto viewer = join(*node);
  ASSERT_TRUE(viewer);
  std::string error;
  auto silent = WsClient::connect(node->httpPort(), {}, &error);
  ASSERT_TRUE(silent) << error;
  EXPECT_EQ(silent->waitClosed(10s), 1008);
  auto js = join(*node, token(Role::Jobseeker, "js-1"));
  json ack = js->call({{"type", "chat.send"}, {"text", "still open"}});
  ASSERT_EQ(ack["type"], "ack");
  EXPECT_FALSE(viewer->waitEvent("chat.message").is_null());
}

TEST_F(LiveChannel, SlowReaderIsDisconnectedWhileFastReadersKeepReceiving) {
  auto node = startNode("  send_queue_frames: 64\n  send_queue_bytes: 1048576\n");
  std::string error;
  auto slow = WsClient::connect(node->httpPort(), {.receive_buffer = 4096}, &error);
  ASSERT_TRUE(slow) << error;
  ASSERT_EQ(slow->hello(kRoom)["type"], "welcome");
  auto fast = join(*node);
  ASSERT_TRUE(fast);
  // 200 events of 64 KB: 12.8 MB, far more than the slow reader's socket buffers
  // and its 1 MB send queue. The test paces the writer by the fast reader, in
  // batches of 8 (512 KB, half its queue), so "fast" is a property of the test,
  // not of how busy the machine is; the slow reader never reads.
  std::vector<std::string> got;
  std::string blob(64 * 1024, 'x');
  std::vector<std::string> ids;
  constexpr int kBatch = 8;
  for (int i = 0; i < 200; i += kBatch) {
    for (int j = i; j < std::min(i + kBatch, 200); ++j)
      ids.push_back(appendEvent(redis_, "caption", {{"text", blob}, {"n", j}}));
    while (got.size() < ids.size()) {
      json ev = fast->waitEvent("caption", nullptr, 10s);
      if (ev.is_null())
        break;
      got.push_back(ev["id"]);
    }
    ASSERT_EQ(got.size(), ids.size()) << "the fast reader stopped receiving at " << got.size();
  }
  EXPECT_EQ(got, ids) << "the fast reader missed events";
  EXPECT_FALSE(fast->closed());
  // The slow reader now drains what reached its socket, then finds it closed.
  int code = slow->waitClosed(10s);
  EXPECT_TRUE(code == 4408 || code == 0) << code;
  EXPECT_LT(slow->events("caption").size(), 200u);
  EXPECT_NE(node->log().find("too slow"), std::string::npos);
  // The fan-out's send() found the slow reader's socket full, or took part of
  // a frame (the rest went through lws): the fast reader's frames stayed whole.
  EXPECT_GE(metric(*node, "jobcast_ws_fanout_sends_total{result=\"partial\"}") +
                metric(*node, "jobcast_ws_fanout_sends_total{result=\"full\"}"),
            1);
}

TEST_F(LiveChannel, BadFramesGetErrorsAndRepeatedAbuseCloses) {
  auto node = startNode("  abuse_limit: 5\n  max_frame_bytes: 1024\n");
  auto c = join(*node);
  ASSERT_TRUE(c);
  auto expectError = [&](const std::string& frame, const std::string& code) {
    c->sendText(frame);
    json e = c->waitFor([](const json& j) { return j["type"] == "error"; });
    EXPECT_EQ(e["code"], code) << frame;
  };
  expectError("not json", "bad_frame");
  expectError(R"({"type":"dance","req":1})", "unknown_type");
  expectError(R"({"type":"chat.send"})", "missing_field");
  expectError(std::string(R"({"type":"ping","req":1,"pad":")") + std::string(2000, 'a') + "\"}",
              "too_large");
  // Still connected and served.
  EXPECT_EQ(c->call({{"type", "ping"}})["type"], "ack");
  c->sendBinary("\x01\x02");
  EXPECT_EQ(c->waitClosed(), 1008);

  // Actions before hello are refused; a second hello too.
  auto d = WsClient::connect(node->httpPort());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->call({{"type", "ping"}})["code"], "hello_required");
  ASSERT_EQ(d->hello(kRoom)["type"], "welcome");
  EXPECT_EQ(d->hello(kRoom)["code"], "already_joined");
  auto e = WsClient::connect(node->httpPort());
  EXPECT_EQ(e->hello(kRoom, "not-a-token")["code"], "invalid_token");
  EXPECT_EQ(e->waitClosed(), 4401);
}

TEST_F(LiveChannel, StaffOnlyAndPersonalEventsReachOnlyTheirAudience) {
  auto node = startNode();
  auto viewer = join(*node);
  auto js = join(*node, token(Role::Jobseeker, "js-1"));
  auto counsellor = join(*node, token(Role::Counsellor, "c-1"));
  ASSERT_TRUE(viewer && js && counsellor);
  // Real actions, so the payloads are the ones apply.lua and the queue scripts
  // write: an application (staff), its count (all), a queue place (the person).
  std::string job = addJob(*node);
  putProfile(*node, token(Role::Jobseeker, "js-1"));
  json applied = js->call({{"type", "apply"}, {"job", job}});
  ASSERT_EQ(applied["type"], "ack") << applied.dump();
  ASSERT_EQ(js->call({{"type", "queue.join"}})["type"], "ack");
  json marker = counsellor->call({{"type", "chat.send"}, {"text", "marker"}});
  ASSERT_EQ(marker["type"], "ack");
  auto isMarker = [&](const json& e) { return e["id"] == marker["event"]; };
  for (auto* c : {viewer.get(), js.get(), counsellor.get()})
    ASSERT_FALSE(c->waitEvent("chat.message", isMarker).is_null());

  auto created = counsellor->events("application.created");
  ASSERT_EQ(created.size(), 1u);
  ASSERT_TRUE(created[0]["data"]["application"].is_object()) << created[0].dump();
  EXPECT_EQ(created[0]["data"]["application"]["id"], applied["application"]["id"]);
  EXPECT_EQ(created[0]["data"]["application"]["job_id"], job);
  EXPECT_EQ(created[0]["data"]["application"]["applicant"], "js-1");
  for (auto* c : {viewer.get(), js.get()}) {
    auto count = c->events("application.count");
    ASSERT_EQ(count.size(), 1u);
    EXPECT_EQ(count[0]["data"]["job_id"], job);
    EXPECT_EQ(count[0]["data"]["job_count"], 1);
    EXPECT_EQ(count[0]["data"]["total"], 1);
    EXPECT_FALSE(count[0]["data"].contains("applicant"));
  }
  EXPECT_TRUE(viewer->events("application.created").empty());
  EXPECT_TRUE(js->events("application.created").empty());
  EXPECT_TRUE(viewer->events("queue.position").empty());
  EXPECT_TRUE(counsellor->events("queue.position").empty());
  ASSERT_EQ(js->events("queue.position").size(), 1u);
  EXPECT_EQ(js->events("queue.position")[0]["data"]["position"], 1);
  EXPECT_FALSE(counsellor->events("queue.list").empty());
  EXPECT_TRUE(viewer->events("queue.list").empty());

  // Cards and captions need their roles.
  json card{{"type", "card.show"}, {"card", "policy"}, {"title", "Fair pay"}, {"body", "..."}};
  EXPECT_EQ(js->call(card)["code"], "forbidden");
  EXPECT_EQ(counsellor->call(card)["type"], "ack");
  EXPECT_EQ(viewer->waitEvent("card.shown")["data"]["title"], "Fair pay");
  // A card's link is an http(s) URL or a site path, nothing a page would run.
  for (const char* url : {"javascript:alert(1)", "//evil.example/x", "data:text/html,x"}) {
    json bad = card;
    bad["url"] = url;
    auto refused = counsellor->call(bad);
    EXPECT_EQ(refused["type"], "error") << url;
  }
  json linked = card;
  linked["url"] = "/docs/policy.pdf";
  EXPECT_EQ(counsellor->call(linked)["type"], "ack");
  auto captioner = join(*node, token(Role::Captioner, "cap-1"));
  EXPECT_EQ(counsellor->call({{"type", "caption.send"}, {"text", "hi"}})["code"], "forbidden");
  EXPECT_EQ(captioner->call({{"type", "caption.send"}, {"text", "Welcome all"}})["type"], "ack");
  EXPECT_EQ(viewer->waitEvent("caption")["data"]["text"], "Welcome all");
}

// Captions are room history: a late joiner's snapshot holds them in order,
// a correction (of the last one, or of one by id) keeps its id and start and
// reaches everyone as a caption event, and Redis keeps them per room.
TEST_F(LiveChannel, CaptionsAreKeptForLateJoinersAndCorrected) {
  auto node = startNode();
  auto viewer = join(*node);
  auto captioner = join(*node, token(Role::Captioner, "cap-1", "Sarnai"));
  ASSERT_TRUE(viewer && captioner);
  // Nothing to correct yet.
  EXPECT_EQ(
      captioner->call({{"type", "caption.send"}, {"text", "x"}, {"replaces", "last"}})["code"],
      "not_found");
  int64_t before = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto first =
      captioner->call({{"type", "caption.send"}, {"text", "欢迎来到招聘会"}, {"lang", "zh"}});
  ASSERT_EQ(first["type"], "ack") << first.dump();
  std::string first_id = first["id"];
  EXPECT_EQ(first_id.substr(0, 1), "c");
  json shown = viewer->waitEvent("caption");
  EXPECT_EQ(shown["data"]["id"], first_id);
  EXPECT_EQ(shown["data"]["by"], "Sarnai");
  int64_t at = shown["data"]["at"];
  EXPECT_GE(at, before);
  auto second = captioner->call({{"type", "caption.send"}, {"text", "[掌声]"}});
  ASSERT_EQ(second["type"], "ack");
  // Correct the last one, then the first one by its id.
  auto fix_last =
      captioner->call({{"type", "caption.send"}, {"text", "[音乐]"}, {"replaces", "last"}});
  ASSERT_EQ(fix_last["type"], "ack") << fix_last.dump();
  EXPECT_EQ(fix_last["id"], second["id"]);
  auto fix_first = captioner->call(
      {{"type", "caption.send"}, {"text", "欢迎来到春季招聘会"}, {"replaces", first_id}});
  ASSERT_EQ(fix_first["type"], "ack");
  EXPECT_EQ(fix_first["id"], first_id);
  EXPECT_EQ(
      captioner->call({{"type", "caption.send"}, {"text", "x"}, {"replaces", "c999"}})["code"],
      "not_found");
  // The viewer saw four caption events; the last names the first caption again.
  viewer->waitEvent("caption",
                    [](const json& e) { return e["data"]["text"] == "欢迎来到春季招聘会"; });
  auto events = viewer->events("caption");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[3]["data"]["id"], first_id);
  EXPECT_EQ(events[3]["data"]["at"], at);  // a correction keeps its start
  EXPECT_TRUE(events[3]["data"].contains("edited_at"));

  // A late joiner gets the history, corrections applied, oldest first.
  json welcome;
  auto late = join(*node, "", "", &welcome);
  ASSERT_TRUE(late);
  const json& history = welcome["snapshot"]["captions"];
  ASSERT_EQ(history.size(), 2u) << history.dump();
  EXPECT_EQ(history[0]["id"], first_id);
  EXPECT_EQ(history[0]["text"], "欢迎来到春季招聘会");
  EXPECT_EQ(history[0]["at"], at);
  EXPECT_EQ(history[1]["text"], "[音乐]");
  // Kept in Redis under the room's keys (rooms/keys.h).
  EXPECT_EQ(redis_.command({"HLEN", "jc:{r:" + std::string(kRoom) + "}:captions"}), "2");
  EXPECT_EQ(redis_.command({"LLEN", "jc:{r:" + std::string(kRoom) + "}:captions:order"}), "2");
  // A bad correction target is refused with a clear error.
  EXPECT_EQ(captioner->call({{"type", "caption.send"}, {"text", "x"}, {"replaces", ""}})["code"],
            "invalid_field");
}

TEST_F(LiveChannel, ApplyGoesThroughTheRoomStore) {
  auto node = startNode();
  std::string js_token = token(Role::Jobseeker, "js-1");
  auto js = join(*node, js_token);
  auto viewer = join(*node);
  auto emp = join(*node, token(Role::Employer, kEmployer, "Acme", kEmployer));
  ASSERT_TRUE(js && viewer && emp);
  EXPECT_EQ(viewer->call({{"type", "apply"}, {"job", "job-7"}})["code"], "unauthorized");
  EXPECT_EQ(js->call({{"type", "apply"}})["code"], "invalid_field");
  std::string job = addJob(*node);
  // The store's own rules answer: no profile yet, then an unknown job.
  EXPECT_EQ(js->call({{"type", "apply"}, {"job", job}})["code"], "profile_required");
  putProfile(*node, js_token);
  EXPECT_EQ(js->call({{"type", "apply"}, {"job", "no-such-job"}})["code"], "not_found");

  json first = js->call({{"type", "apply"}, {"job", job}});
  ASSERT_EQ(first["type"], "ack") << first.dump();
  EXPECT_EQ(first["created"], true);
  EXPECT_EQ(first["application"]["job_id"], job);
  EXPECT_EQ(first["application"]["applicant"], "js-1");
  EXPECT_EQ(first["application"]["status"], "applied");
  // The room's employer hears of it on the channel, as the studio does.
  json created = emp->waitEvent("application.created");
  ASSERT_FALSE(created.is_null());
  ASSERT_TRUE(created["data"]["application"].is_object()) << created.dump();
  EXPECT_EQ(created["data"]["application"]["id"], first["application"]["id"]);

  // One click, one application: a repeat answers the same one.
  json again = js->call({{"type", "apply"}, {"job", job}});
  ASSERT_EQ(again["type"], "ack") << again.dump();
  EXPECT_EQ(again["created"], false);
  EXPECT_EQ(again["application"]["id"], first["application"]["id"]);

  // It is stored where REST reads it.
  auto mine =
      httpGet(node->url("/api/v1/me/applications"), {{"Authorization", "Bearer " + js_token}});
  ASSERT_EQ(mine.status, 200) << mine.body;
  ASSERT_EQ(mine.json()["items"].size(), 1u);
  EXPECT_EQ(mine.json()["items"][0]["id"], first["application"]["id"]);
}

}  // namespace
}  // namespace jobcast::test

namespace jobcast::test {
namespace {

// A counsellor token for every room ("*") gives no powers in a room that does
// not list the counsellor: no moderation, no ban of the employer, no cards.
TEST_F(LiveChannel, CounsellorPowersFollowTheRoomsListNotTheTokensRooms) {
  auto node = startNode();
  json welcome;
  auto stranger = join(*node, token(Role::Counsellor, "c-stranger"), "", &welcome);
  auto js = join(*node, token(Role::Jobseeker, "js-1"));
  ASSERT_TRUE(stranger && js);
  EXPECT_EQ(welcome["you"]["staff"], false);
  EXPECT_FALSE(welcome["snapshot"]["queue"].contains("entries"));
  json sent = js->call({{"type", "chat.send"}, {"text", "hello"}});
  ASSERT_EQ(sent["type"], "ack");
  EXPECT_EQ(stranger->call({{"type", "mod.delete"}, {"id", sent["id"]}})["code"], "forbidden");
  EXPECT_EQ(stranger->call({{"type", "mod.ban"}, {"sub", kEmployer}})["code"], "forbidden");
  EXPECT_EQ(stranger->call({{"type", "mod.slowmode"}, {"seconds", 30}})["code"], "forbidden");
  EXPECT_EQ(stranger->call({{"type", "card.show"}, {"card", "policy"}, {"title", "T"}})["code"],
            "forbidden");
  auto uncaptioned = join(*node, token(Role::Captioner, "cap-stranger"));
  ASSERT_TRUE(uncaptioned);
  EXPECT_EQ(uncaptioned->call({{"type", "caption.send"}, {"text", "hi"}})["code"], "forbidden");

  json listed_welcome;
  auto listed = join(*node, token(Role::Counsellor, "c-1"), "", &listed_welcome);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed_welcome["you"]["staff"], true);
  EXPECT_TRUE(listed_welcome["snapshot"]["queue"]["entries"].is_array());
  EXPECT_EQ(listed->call({{"type", "mod.delete"}, {"id", sent["id"]}})["type"], "ack");
}

// The stage and the live channel share jc:{r:ROOM}:stage: after a stage change
// a new viewer still joins, and sees who is on the stage.
TEST_F(LiveChannel, JoinAfterAStageChangeSeesTheStage) {
  auto node = startNode();
  auto first = join(*node);
  ASSERT_TRUE(first);
  auto put = httpJson("PUT", node->url(std::string("/api/v1/rooms/") + kRoom + "/stage/c-1"),
                      {{"slot", "guest"}, {"name", "Ms Li"}}, token(Role::Counsellor, "c-1"));
  ASSERT_EQ(put.status, 200) << put.body;
  json changed = first->waitEvent("stage.changed");
  ASSERT_FALSE(changed.is_null());
  EXPECT_EQ(changed["data"]["guests"][0]["sub"], "c-1");

  json welcome;
  auto second = join(*node, "", "", &welcome);
  ASSERT_TRUE(second);
  ASSERT_EQ(welcome["type"], "welcome") << welcome.dump();
  EXPECT_EQ(welcome["snapshot"]["stage"]["guests"][0]["name"], "Ms Li");
  EXPECT_EQ(welcome["snapshot"]["stage"]["layout"], "composite");
  auto js = join(*node, token(Role::Jobseeker, "js-2"));
  ASSERT_TRUE(js);
  EXPECT_EQ(js->call({{"type", "chat.send"}, {"text", "after the stage"}})["type"], "ack");
}

}  // namespace
}  // namespace jobcast::test
