// Sharded pub/sub (core/redis_sharded_subscriber.h) against a real Redis
// Cluster of 3 masters and 3 replicas on loopback: channels on every shard
// heard from their shard only, dropped and taken again, in order under a
// stream of messages; followed to the promoted replica when their master
// dies, and to the new owner when their slot moves.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/redis.h"
#include "core/redis_sharded_subscriber.h"
#include "core/redis_slots.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/run_loop.h"

namespace jobcast {
namespace {

using test::runUntil;

std::vector<int> masters(const test::RedisCluster& cluster) {
  std::set<int> out;
  for (int slot = 0; slot < kRedisSlots; slot += 97)
    out.insert(cluster.masterOf(slot));
  out.insert(cluster.masterOf(kRedisSlots - 1));
  return {out.begin(), out.end()};
}

class ShardedPubSub : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<RedisAddress> seeds;
    for (const auto& n : cluster.nodes())
      seeds.push_back(RedisAddress::parse(n.address()).value());
    client = std::make_unique<RedisClient>(loop, seeds, RedisClient::Options{});
    client->start();
    ASSERT_TRUE(runUntil(
        loop, [&] { return client->ready(); }, std::chrono::seconds(10)));
    sub = std::make_unique<RedisShardedSubscriber>(loop, *client);
    sub->onMessage([this](const std::string& channel, const std::string& payload) {
      heard[channel].push_back(payload);
    });
    sub->onSubscribed([this](const std::string& channel) { ++subscribed[channel]; });
    sub->start();
  }

  // SPUBLISH on the node that serves the channel now; the number of
  // subscribers it reached.
  int publish(const std::string& channel, const std::string& payload) {
    int owner = cluster.masterOf(keySlot(channel));
    EXPECT_GE(owner, 0);
    return std::atoi(
        cluster.command(static_cast<size_t>(owner), {"SPUBLISH", channel, payload}).c_str());
  }

  bool hears(const std::string& channel, const std::string& payload) {
    return runUntil(
        loop,
        [&] {
          for (const auto& p : heard[channel])
            if (p == payload)
              return true;
          return false;
        },
        std::chrono::seconds(10));
  }

  test::RedisCluster cluster;
  Loop loop;
  std::unique_ptr<RedisClient> client;
  std::unique_ptr<RedisShardedSubscriber> sub;
  std::map<std::string, std::vector<std::string>> heard;
  std::map<std::string, int> subscribed;
};

TEST_F(ShardedPubSub, ChannelsOnEveryShardAreHeardFromTheirShardOnly) {
  auto owners = masters(cluster);
  ASSERT_EQ(owners.size(), 3u);
  std::vector<std::string> channels;
  for (int m : owners)
    channels.push_back(cluster.keyServedBy(m, "jc:{r:room"));
  for (const auto& c : channels)
    sub->subscribe(c);
  ASSERT_TRUE(runUntil(
      loop, [&] { return sub->confirmed() == 3; }, std::chrono::seconds(10)));
  EXPECT_EQ(sub->connections(), 3u);

  for (size_t i = 0; i < channels.size(); ++i) {
    // Subscribed on its own shard, and only there.
    for (size_t n = 0; n < cluster.nodes().size(); ++n) {
      std::string count = cluster.command(n, {"PUBSUB", "SHARDNUMSUB", channels[i]});
      bool owner = static_cast<int>(n) == owners[i];
      EXPECT_EQ(count, channels[i] + "\n" + (owner ? "1" : "0")) << "node " << n;
    }
    EXPECT_EQ(publish(channels[i], "hello " + std::to_string(i)), 1);
    EXPECT_TRUE(hears(channels[i], "hello " + std::to_string(i)));
  }

  // A plain PUBLISH of the same name, and sharded messages of channels not
  // asked for, do not reach the user.
  cluster.command(0, {"PUBLISH", channels[0], "plain"});
  std::string other = cluster.keyServedBy(owners[1], "jc:{r:other");
  EXPECT_EQ(publish(other, "not mine"), 0);
  EXPECT_EQ(publish(channels[2], "marker"), 1);
  ASSERT_TRUE(hears(channels[2], "marker"));
  EXPECT_EQ(heard[channels[0]].size(), 1u);
  EXPECT_EQ(heard.count(other), 0u);

  // Dropped: nothing more; taken again at once (while the drop's replies
  // are on their way): heard again.
  sub->unsubscribe(channels[1]);
  sub->subscribe(channels[1]);
  ASSERT_TRUE(runUntil(
      loop, [&] { return sub->confirmed() == 3 && subscribed[channels[1]] == 2; },
      std::chrono::seconds(10)));
  EXPECT_EQ(publish(channels[1], "again"), 1);
  EXPECT_TRUE(hears(channels[1], "again"));
  sub->unsubscribe(channels[1]);
  ASSERT_TRUE(runUntil(
      loop,
      [&] {
        return cluster.command(static_cast<size_t>(owners[1]),
                               {"PUBSUB", "SHARDNUMSUB", channels[1]}) == channels[1] + "\n0";
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(publish(channels[1], "gone"), 0);

  // A stream of messages stays whole and in order while other channels come
  // and go on the same connection.
  for (int i = 0; i < 200; ++i) {
    publish(channels[0], std::to_string(i));
    if (i % 20 == 0) {
      std::string extra = cluster.keyServedBy(owners[0], "jc:{r:extra" + std::to_string(i) + "-");
      sub->subscribe(extra);
      runUntil(
          loop, [] { return false; }, std::chrono::milliseconds(2));
      sub->unsubscribe(extra);
    }
  }
  ASSERT_TRUE(hears(channels[0], "199"));
  std::vector<std::string> expected{"hello 0"};
  for (int i = 0; i < 200; ++i)
    expected.push_back(std::to_string(i));
  EXPECT_EQ(heard[channels[0]], expected);
}

TEST_F(ShardedPubSub, AChannelFollowsItsSlotToThePromotedReplica) {
  std::string channel = cluster.keyServedBy(masters(cluster)[0], "jc:{r:failover");
  sub->subscribe(channel);
  ASSERT_TRUE(runUntil(
      loop, [&] { return subscribed[channel] == 1; }, std::chrono::seconds(10)));
  const int victim = cluster.masterOf(keySlot(channel));
  cluster.kill(static_cast<size_t>(victim));
  ASSERT_TRUE(runUntil(
      loop,
      [&] {
        int now = cluster.masterOf(keySlot(channel));
        return now >= 0 && now != victim && subscribed[channel] == 2;
      },
      std::chrono::seconds(30)))
      << "subscriptions " << subscribed[channel];
  EXPECT_EQ(publish(channel, "after failover"), 1);
  EXPECT_TRUE(hears(channel, "after failover"));
}

TEST_F(ShardedPubSub, AChannelFollowsItsSlotToItsNewOwner) {
  auto owners = masters(cluster);
  std::string channel = cluster.keyServedBy(owners[0], "jc:{r:moving");
  sub->subscribe(channel);
  ASSERT_TRUE(runUntil(
      loop, [&] { return subscribed[channel] == 1; }, std::chrono::seconds(10)));
  // The slot (no keys in it) is given to another master on every master.
  const std::string slot = std::to_string(keySlot(channel));
  const std::string to_id = cluster.command(static_cast<size_t>(owners[1]), {"CLUSTER", "MYID"});
  for (int m : owners)
    EXPECT_EQ(cluster.command(static_cast<size_t>(m), {"CLUSTER", "SETSLOT", slot, "NODE", to_id}),
              "OK");
  ASSERT_TRUE(runUntil(
      loop,
      [&] {
        return subscribed[channel] == 2 &&
               cluster.command(static_cast<size_t>(owners[1]),
                               {"PUBSUB", "SHARDNUMSUB", channel}) == channel + "\n1";
      },
      std::chrono::seconds(15)))
      << "subscriptions " << subscribed[channel];
  EXPECT_EQ(cluster.command(static_cast<size_t>(owners[1]), {"SPUBLISH", channel, "moved"}), "1");
  EXPECT_TRUE(hears(channel, "moved"));
}

}  // namespace
}  // namespace jobcast
