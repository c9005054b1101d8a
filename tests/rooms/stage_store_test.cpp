// rooms/stage.lua against a real redis-server: who may change the stage, the
// limits, and the stage.changed event each change appends.

#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "rooms/stage.h"
#include "tests/support/redis_client_for.h"
#include "tests/support/redis_server.h"
#include "tests/support/run_loop.h"

namespace jobcast::rooms {
namespace {

using namespace std::chrono_literals;

Claims person(Role role, const std::string& sub, const std::string& room = "r1") {
  Claims c;
  c.sub = sub;
  c.role = role;
  c.rooms = {room};
  return c;
}

class StageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_server.start();
    redis_server.command({"HSET", "jc:{r:r1}:room", "id", "r1", "status", "live", "employer_id",
                          "emp1", "counsellors", R"(["c1"])"});
    redis = test::redisClientFor(loop, redis_server);
    redis->start();
    ASSERT_TRUE(pump([&] { return redis->ready(); }));
    store = std::make_unique<StageStore>(*redis);
  }
  bool pump(const std::function<bool()>& done) { return test::runUntil(loop, done); }
  Result<StageChange> put(const Claims& actor, StageSlot slot, const std::string& sub,
                          const std::string& name) {
    std::optional<Result<StageChange>> out;
    store->put("r1", actor, slot, {sub, name}, [&](Result<StageChange> r) { out = r; });
    EXPECT_TRUE(pump([&] { return out.has_value(); }));
    return *out;
  }
  Result<StageChange> remove(const Claims& actor, const std::string& sub) {
    std::optional<Result<StageChange>> out;
    store->remove("r1", actor, sub, [&](Result<StageChange> r) { out = r; });
    EXPECT_TRUE(pump([&] { return out.has_value(); }));
    return *out;
  }
  std::string code(const Result<StageChange>& r) { return r ? "ok" : r.error().code; }

  test::RedisServer redis_server;
  Loop loop;
  std::unique_ptr<RedisClient> redis;
  std::unique_ptr<StageStore> store;
  Claims employer = person(Role::Employer, "emp1");
  Claims counsellor = person(Role::Counsellor, "c1");
  static Claims admin() { return person(Role::Admin, "ops", "*"); }
};

TEST_F(StageStoreTest, CounsellorJoiningMakesTheCompositeAndAnnouncesIt) {
  auto main = put(employer, StageSlot::Main, "emp1", "Acme Foods");
  ASSERT_TRUE(main.ok()) << main.error().message;
  EXPECT_EQ(main->stage.layout, StageLayout::Passthrough);
  auto guest = put(counsellor, StageSlot::Guest, "c1", "Ms Li, counsellor");
  ASSERT_TRUE(guest.ok());
  EXPECT_EQ(guest->stage.layout, StageLayout::Composite);
  EXPECT_EQ(guest->stage.version, 2);
  ASSERT_EQ(guest->stage.guests.size(), 1u);
  EXPECT_EQ(guest->stage.guests[0].name, "Ms Li, counsellor");

  // The event is in the room's stream, for everyone, with the stage as data.
  std::string entry =
      redis_server.command({"XRANGE", "jc:{r:r1}:events", guest->event_id, guest->event_id});
  EXPECT_NE(entry.find("stage.changed"), std::string::npos) << entry;
  EXPECT_NE(entry.find("\"layout\":\"composite\""), std::string::npos) << entry;
  EXPECT_NE(entry.find("\"by\":\"c1\""), std::string::npos) << entry;
  EXPECT_NE(entry.find("all"), std::string::npos);
  EXPECT_EQ(redis_server.command({"XLEN", "jc:{r:r1}:events"}), "2");

  // Leaving returns to passthrough; the stored stage agrees.
  auto left = remove(counsellor, "c1");
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->stage.layout, StageLayout::Passthrough);
  EXPECT_EQ(left->stage.toJson()["guests"], nlohmann::json::array());
  std::optional<Result<Stage>> stored;
  store->get("r1", [&](Result<Stage> s) { stored = s; });
  ASSERT_TRUE(pump([&] { return stored.has_value(); }));
  ASSERT_TRUE(stored->ok());
  EXPECT_EQ(stored->value().version, 3);
  EXPECT_TRUE(stored->value().guests.empty());
}

TEST_F(StageStoreTest, InterpreterVariantExistsOnlyWhileOnStage) {
  ASSERT_TRUE(put(employer, StageSlot::Main, "emp1", "Acme").ok());
  auto on = put(counsellor, StageSlot::Interpreter, "i1", "Sign interpreter");
  ASSERT_TRUE(on.ok());
  EXPECT_TRUE(on->stage.interpreterVariant());
  EXPECT_EQ(on->stage.layout, StageLayout::Passthrough);
  auto off = remove(employer, "i1");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->stage.interpreterVariant());
}

TEST_F(StageStoreTest, OnlyTheRoomsEmployerOrCounsellorChangesIt) {
  EXPECT_EQ(code(put(person(Role::Jobseeker, "js1"), StageSlot::Guest, "js1", "Me")), "forbidden");
  Claims other_employer = person(Role::Employer, "emp2");
  EXPECT_EQ(code(put(other_employer, StageSlot::Main, "emp2", "Rival")), "forbidden");
  EXPECT_EQ(code(put(person(Role::Counsellor, "c9", "r7"), StageSlot::Guest, "c9", "X")),
            "forbidden");
  // A token for every room gives a counsellor nothing in a room that does not list them.
  EXPECT_EQ(code(put(person(Role::Counsellor, "c9", "*"), StageSlot::Guest, "c9", "X")),
            "forbidden");
  // A listed counsellor whose token names another room is refused too.
  EXPECT_EQ(code(put(person(Role::Counsellor, "c1", "r7"), StageSlot::Guest, "c1", "X")),
            "forbidden");
  Claims admin = person(Role::Admin, "ops", "*");
  EXPECT_EQ(code(put(admin, StageSlot::Guest, "c2", "Helper")), "ok");
  EXPECT_EQ(redis_server.command({"XLEN", "jc:{r:r1}:events"}), "1");
}

TEST_F(StageStoreTest, LimitsAndUnknowns) {
  EXPECT_EQ(code(put(counsellor, StageSlot::Guest, "g1", "One")), "ok");
  EXPECT_EQ(code(put(counsellor, StageSlot::Guest, "g2", "Two")), "ok");
  EXPECT_EQ(code(put(counsellor, StageSlot::Guest, "g3", "Three")), "stage_full");
  EXPECT_EQ(code(put(counsellor, StageSlot::Guest, "g2", "Two, renamed")), "ok");
  // A guest promoted to main leaves the guest tiles.
  auto promoted = put(employer, StageSlot::Main, "g1", "One");
  ASSERT_TRUE(promoted.ok());
  EXPECT_EQ(promoted->stage.guests.size(), 1u);
  EXPECT_EQ(code(remove(counsellor, "nobody")), "not_on_stage");
  std::optional<Result<StageChange>> out;
  store->put("r404", admin(), StageSlot::Main, {"a", "b"}, [&](Result<StageChange> r) { out = r; });
  ASSERT_TRUE(pump([&] { return out.has_value(); }));
  EXPECT_EQ(code(*out), "room_not_found");
  // Text that is not UTF-8 never reaches the stored stage.
  EXPECT_EQ(code(put(counsellor, StageSlot::Guest, std::string("bad\xff\xfe"), "X")),
            "invalid_field");
  EXPECT_EQ(code(put(counsellor, StageSlot::Guest, "g5", std::string("\xc0\xaf"))),
            "invalid_field");
  EXPECT_EQ(code(put(counsellor, StageSlot::Guest, "g2", "Two, again")), "ok");
  redis_server.command({"HSET", "jc:{r:r1}:room", "status", "ended"});
  EXPECT_EQ(code(put(counsellor, StageSlot::Guest, "g4", "Late")), "room_ended");
}

}  // namespace
}  // namespace jobcast::rooms
