// The media lease scripts (routing/media_lease_*.lua) against a real
// redis-server: two nodes on one Redis take, renew, lose and give up a
// room's lease; only the holder renews or deletes it.

#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "routing/media_lease.h"
#include "tests/support/redis_client_for.h"
#include "tests/support/redis_server.h"
#include "tests/support/run_loop.h"

namespace jobcast {
namespace {

using namespace std::chrono_literals;

class MediaLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_server.start();
    redis = test::redisClientFor(loop, redis_server);
    redis->start();
    ASSERT_TRUE(pump([&] { return redis->ready(); }));
  }
  bool pump(const std::function<bool()>& done) { return test::runUntil(loop, done); }
  MediaLease::Claim claim(MediaLease& lease, const std::string& room = "r1") {
    std::optional<Result<MediaLease::Claim>> out;
    lease.claim(room, [&](Result<MediaLease::Claim> r) { out = r; });
    EXPECT_TRUE(pump([&] { return out.has_value(); }));
    EXPECT_TRUE(out->ok()) << out->error().message;
    return out->ok() ? out->value() : MediaLease::Claim{};
  }
  bool release(MediaLease& lease, const std::string& room = "r1") {
    std::optional<Result<bool>> out;
    lease.release(room, [&](Result<bool> r) { out = r; });
    EXPECT_TRUE(pump([&] { return out.has_value(); }));
    EXPECT_TRUE(out->ok());
    return out->ok() && out->value();
  }
  std::optional<MediaNode> holder(MediaLease& lease, const std::string& room = "r1") {
    std::optional<Result<std::optional<MediaNode>>> out;
    lease.holder(room, [&](Result<std::optional<MediaNode>> r) { out = r; });
    EXPECT_TRUE(pump([&] { return out.has_value(); }));
    EXPECT_TRUE(out->ok());
    return out->ok() ? out->value() : std::nullopt;
  }
  long long pttl() const { return std::stoll(redis_server.command({"PTTL", key})); }

  test::RedisServer redis_server;
  Loop loop;
  std::unique_ptr<RedisClient> redis;
  const std::string key = "jc:{r:r1}:media_node";
  MediaNode node_a{"node-a", "http://127.0.0.1:8001"};
  MediaNode node_b{"node-b", "http://127.0.0.1:8002"};
};

TEST_F(MediaLeaseTest, FirstClaimTakesTheLeaseAndOthersSeeItsHolder) {
  MediaLease a(*redis, node_a, 10s);
  MediaLease b(*redis, node_b, 10s);
  EXPECT_FALSE(holder(b).has_value());

  auto first = claim(a);
  EXPECT_TRUE(first.ours);
  EXPECT_TRUE(first.taken);
  EXPECT_EQ(first.holder.id, "node-a");
  EXPECT_GT(pttl(), 9000);
  EXPECT_LE(pttl(), 10000);
  auto stored = MediaNode::parse(redis_server.command({"GET", key}));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->id, "node-a");
  EXPECT_EQ(stored->url, "http://127.0.0.1:8001");

  auto second = claim(b);
  EXPECT_FALSE(second.ours);
  EXPECT_FALSE(second.taken);
  EXPECT_EQ(second.holder.id, "node-a");
  EXPECT_EQ(second.holder.url, "http://127.0.0.1:8001");
  auto seen = holder(b);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->url, "http://127.0.0.1:8001");
  // Rooms are separate: another room's lease is free.
  EXPECT_TRUE(claim(b, "r2").taken);
}

TEST_F(MediaLeaseTest, OnlyTheHolderRenewsTheLease) {
  MediaLease a(*redis, node_a, 10s);
  MediaLease b(*redis, node_b, 10s);
  ASSERT_TRUE(claim(a).ours);
  redis_server.command({"PEXPIRE", key, "3000"});
  // Another node's claim leaves the time alone.
  EXPECT_FALSE(claim(b).ours);
  EXPECT_LE(pttl(), 3000);
  // The holder's claim renews it, and is not a new take.
  auto renewed = claim(a);
  EXPECT_TRUE(renewed.ours);
  EXPECT_FALSE(renewed.taken);
  EXPECT_GT(pttl(), 9000);
}

TEST_F(MediaLeaseTest, OnlyTheHolderDeletesTheLease) {
  MediaLease a(*redis, node_a, 10s);
  MediaLease b(*redis, node_b, 10s);
  ASSERT_TRUE(claim(a).ours);
  EXPECT_FALSE(release(b));
  EXPECT_EQ(redis_server.command({"EXISTS", key}), "1");
  EXPECT_TRUE(release(a));
  EXPECT_EQ(redis_server.command({"EXISTS", key}), "0");
  EXPECT_FALSE(release(a));  // twice is harmless
  auto next = claim(b);
  EXPECT_TRUE(next.ours);
  EXPECT_TRUE(next.taken);
  // A's late release (its media ended after B took over) leaves B's lease.
  EXPECT_FALSE(release(a));
  EXPECT_EQ(holder(a)->id, "node-b");
}

TEST_F(MediaLeaseTest, ALeaseNotRenewedRunsOutAndAnotherNodeTakesIt) {
  MediaLease a(*redis, node_a, 300ms);
  MediaLease b(*redis, node_b, 10s);
  ASSERT_TRUE(claim(a).ours);
  EXPECT_FALSE(claim(b).ours);
  std::this_thread::sleep_for(400ms);
  EXPECT_FALSE(holder(b).has_value());
  auto taken = claim(b);
  EXPECT_TRUE(taken.ours);
  EXPECT_TRUE(taken.taken);
  EXPECT_FALSE(claim(a).ours);
}

TEST_F(MediaLeaseTest, ANodeRestartedAtTheSameAddressTakesItsLeaseBack) {
  MediaLease before(*redis, {"node-a-100", "http://127.0.0.1:8001"}, 10s);
  MediaLease after(*redis, {"node-a-200", "http://127.0.0.1:8001"}, 10s);
  MediaLease b(*redis, node_b, 10s);
  ASSERT_TRUE(claim(before).ours);
  auto back = claim(after);
  EXPECT_TRUE(back.ours);
  EXPECT_TRUE(back.taken);
  EXPECT_EQ(holder(b)->id, "node-a-200");
  EXPECT_FALSE(release(before));
}

TEST(MediaNode, ValueRoundTripsAndGarbageIsNoNode) {
  MediaNode node{"n1", "https://node1.example.org"};
  auto parsed = MediaNode::parse(node.value());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->id, "n1");
  EXPECT_EQ(parsed->url, "https://node1.example.org");
  EXPECT_EQ(node.value(), (MediaNode{"n1", "https://node1.example.org"}.value()));
  EXPECT_FALSE(MediaNode::parse("node1").has_value());
  EXPECT_FALSE(MediaNode::parse("{\"node\":1}").has_value());
}

}  // namespace
}  // namespace jobcast
