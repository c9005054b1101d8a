// Redis Cluster support: key slots (CRC16 and hash tags), and RedisClient in
// cluster mode against a real cluster of 3 masters and 3 replicas on
// loopback: commands spread over every master, scripts on every shard, ASK
// and MOVED while a slot migrates, and a master killed (its replica promoted).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "core/redis.h"
#include "core/redis_slots.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/redis_server.h"
#include "tests/support/run_loop.h"

namespace jobcast {
namespace {

using test::runUntil;

TEST(RedisSlots, Crc16AndSlotsOfKnownKeys) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(keySlot("123456789"), 12739);
  EXPECT_EQ(keySlot(""), 0);
  // Values from CLUSTER KEYSLOT of Redis 7.
  EXPECT_EQ(keySlot("foo"), 12182);
  EXPECT_EQ(keySlot("bar"), 5061);
}

TEST(RedisSlots, HashTags) {
  // Only the text between the first '{' and the next '}' counts...
  EXPECT_EQ(keySlot("{user1000}.following"), keySlot("{user1000}.followers"));
  EXPECT_EQ(keySlot("{user1000}.following"), keySlot("user1000"));
  EXPECT_EQ(keySlot("foo{bar}{zap}"), keySlot("bar"));
  EXPECT_EQ(keySlot("foo{{bar}}zap"), keySlot("{bar"));
  // ...unless it is empty or unclosed: then the whole key.
  EXPECT_EQ(keySlot("foo{}{bar}"), crc16("foo{}{bar}") % 16384);
  EXPECT_EQ(keySlot("foo{bar"), crc16("foo{bar") % 16384);
  // Every key of a room shares its slot.
  EXPECT_EQ(keySlot("jc:{r:fair1}:room"), keySlot("jc:{r:fair1}:events"));
  EXPECT_EQ(keySlot("jc:{r:fair1}:room"), keySlot("r:fair1"));
}

TEST(RedisSlots, FirstKeyOfTheCommandsJobcastSends) {
  using Args = std::vector<std::string>;
  EXPECT_EQ(firstKeyIndex(Args{"GET", "k"}), 1u);
  EXPECT_EQ(firstKeyIndex(Args{"hget", "k", "f"}), 1u);
  EXPECT_EQ(firstKeyIndex(Args{"EVALSHA", "sha", "2", "a", "b", "x"}), 3u);
  EXPECT_EQ(firstKeyIndex(Args{"EVAL", "return 1", "0"}), std::nullopt);
  EXPECT_EQ(firstKeyIndex(Args{"XREAD", "COUNT", "10", "STREAMS", "s", "0"}), 4u);
  EXPECT_EQ(
      firstKeyIndex(Args{"XREADGROUP", "GROUP", "g", "c", "BLOCK", "10", "STREAMS", "s", ">"}), 7u);
  EXPECT_EQ(firstKeyIndex(Args{"XGROUP", "CREATE", "s", "g", "0"}), 2u);
  EXPECT_EQ(firstKeyIndex(Args{"PING"}), std::nullopt);
  EXPECT_EQ(firstKeyIndex(Args{"SCRIPT", "LOAD", "x"}), std::nullopt);
}

RedisAddress at(const std::string& text) {
  return RedisAddress::parse(text).value();
}

// Runs one command through `client` and waits for its outcome.
Result<RedisReply> call(Loop& loop, RedisClient& client, std::vector<std::string> args) {
  std::optional<Result<RedisReply>> out;
  client.command(std::move(args), [&](Result<RedisReply> r) { out = std::move(r); });
  EXPECT_TRUE(runUntil(
      loop, [&] { return out.has_value(); }, std::chrono::seconds(10)));
  return out ? std::move(*out) : Result<RedisReply>(Error{"timeout", "no answer"});
}

TEST(RedisClusterClient, CommandsAndScriptsReachTheMasterOfEachSlot) {
  test::RedisCluster cluster;
  Loop loop;
  // One seed is enough: the client learns the other masters from it.
  RedisClient client(loop, std::vector<RedisAddress>{at(cluster.nodes()[0].address())},
                     RedisClient::Options{});
  client.start();
  ASSERT_TRUE(runUntil(
      loop, [&] { return client.ready(); }, std::chrono::seconds(10)));
  EXPECT_TRUE(client.clustered());

  std::set<int> masters;
  int answered = 0;
  const int kKeys = 300;
  for (int i = 0; i < kKeys; ++i) {
    std::string key = "k" + std::to_string(i);
    masters.insert(cluster.masterOf(keySlot(key)));
    client.command({"SET", key, "v" + std::to_string(i)}, [&](Result<RedisReply> r) {
      EXPECT_TRUE(r.ok() && r->str == "OK") << (r.ok() ? r->str : r.error().message);
      ++answered;
    });
  }
  ASSERT_TRUE(runUntil(
      loop, [&] { return answered == kKeys; }, std::chrono::seconds(10)));
  EXPECT_EQ(masters.size(), 3u);
  // Each value is where the cluster says it is, read straight from that node.
  for (int i = 0; i < kKeys; i += 37) {
    std::string key = "k" + std::to_string(i);
    EXPECT_EQ(cluster.command(static_cast<size_t>(cluster.masterOf(keySlot(key))), {"GET", key}),
              "v" + std::to_string(i));
  }
  // A script runs on every shard: NOSCRIPT on each one falls back to EVAL there.
  RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  for (int node : {0, 1, 2}) {
    int master = cluster.masterOf(keySlot(cluster.keyServedBy(node, "s")));
    std::string key = cluster.keyServedBy(master, "counter");
    ASSERT_FALSE(key.empty());
    for (int round = 0; round < 2; ++round) {
      std::optional<Result<RedisReply>> out;
      script.run(client, {key}, {"5"}, [&](Result<RedisReply> r) { out = std::move(r); });
      ASSERT_TRUE(runUntil(loop, [&] { return out.has_value(); }));
      ASSERT_TRUE(out->ok());
      EXPECT_EQ((*out)->integer, 5 * (round + 1)) << (*out)->str;
    }
  }
  // Keys in two slots in one script: Redis refuses, the reply says so.
  auto cross = call(loop, client, {"EVAL", "return 1", "2", "a", "b"});
  ASSERT_TRUE(cross.ok());
  EXPECT_TRUE(cross->isError());
  EXPECT_EQ(cross->str.rfind("CROSSSLOT", 0), 0u) << cross->str;
}

TEST(RedisClusterClient, FollowsAskAndMovedWhileASlotMigrates) {
  test::RedisCluster cluster;
  Loop loop;
  RedisClient client(loop, std::vector<RedisAddress>{at(cluster.nodes()[0].address())},
                     RedisClient::Options{});
  client.start();
  ASSERT_TRUE(runUntil(
      loop, [&] { return client.ready(); }, std::chrono::seconds(10)));

  const std::string moved = "{mig}moved";
  const std::string stays = "{mig}stays";
  const int slot = keySlot(moved);
  ASSERT_TRUE(call(loop, client, {"SET", moved, "m"}).ok());
  ASSERT_TRUE(call(loop, client, {"SET", stays, "s"}).ok());
  const size_t from = static_cast<size_t>(cluster.masterOf(slot));
  size_t to = from;
  for (size_t n = 1; n < 6 && to == from; ++n) {
    size_t candidate = (from + n) % 6;
    if (cluster.command(candidate, {"INFO", "replication"}).find("role:master") !=
        std::string::npos)
      to = candidate;
  }
  ASSERT_NE(to, from) << "no second master";
  const std::string from_id = cluster.command(from, {"CLUSTER", "MYID"});
  const std::string to_id = cluster.command(to, {"CLUSTER", "MYID"});
  const std::string s = std::to_string(slot);

  // Mid-migration: one key moved, the other not yet.
  EXPECT_EQ(cluster.command(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", from_id}), "OK");
  EXPECT_EQ(cluster.command(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", to_id}), "OK");
  EXPECT_EQ(cluster.command(from, {"MIGRATE", "127.0.0.1", std::to_string(cluster.nodes()[to].port),
                                   moved, "0", "5000"}),
            "OK");
  // The moved key answers ASK from the old owner: read on the new one after ASKING.
  auto asked = call(loop, client, {"GET", moved});
  ASSERT_TRUE(asked.ok());
  EXPECT_EQ(asked->str, "m");
  auto here = call(loop, client, {"GET", stays});
  ASSERT_TRUE(here.ok());
  EXPECT_EQ(here->str, "s");

  // Migration done: the old owner answers MOVED; the client follows and learns.
  EXPECT_EQ(cluster.command(from, {"MIGRATE", "127.0.0.1", std::to_string(cluster.nodes()[to].port),
                                   stays, "0", "5000"}),
            "OK");
  for (size_t n = 0; n < 6; ++n) {
    if (cluster.command(n, {"INFO", "replication"}).find("role:master") != std::string::npos)
      cluster.command(n, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
  }
  for (const auto& key : {moved, stays}) {
    auto r = call(loop, client, {"GET", key});
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->isError()) << r->str;
    EXPECT_EQ(r->str, key == moved ? "m" : "s");
  }
  auto written = call(loop, client, {"SET", moved, "m2"});
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->str, "OK");
  EXPECT_EQ(cluster.command(to, {"GET", moved}), "m2");
  EXPECT_TRUE(client.ready());
}

TEST(RedisClusterClient, AKilledMasterIsReplacedByItsReplicaAndCommandsResume) {
  test::RedisCluster cluster;
  Loop loop;
  std::vector<RedisAddress> seeds;
  for (const auto& n : cluster.nodes())
    seeds.push_back(at(n.address()));
  RedisClient client(loop, seeds, RedisClient::Options{});
  client.start();
  ASSERT_TRUE(runUntil(
      loop, [&] { return client.ready(); }, std::chrono::seconds(10)));

  const std::string key = "{failover}counter";
  const int victim = cluster.masterOf(keySlot(key));
  ASSERT_GE(victim, 0);
  ASSERT_EQ(call(loop, client, {"INCR", key})->integer, 1);
  // The replica has the write before the crash (WAIT from another connection
  // would not wait for it).
  ASSERT_TRUE(cluster.waitReplicated(static_cast<size_t>(victim), std::chrono::seconds(5)));
  auto killed = std::chrono::steady_clock::now();
  cluster.kill(static_cast<size_t>(victim));

  // Until the replica is promoted, commands for that slot fail cleanly
  // (redis_unavailable or outcome_unknown), and keep being tried.
  std::optional<std::chrono::steady_clock::time_point> back;
  int failures = 0;
  long long value = 0;
  while (!back && std::chrono::steady_clock::now() - killed < std::chrono::seconds(30)) {
    auto r = call(loop, client, {"INCR", key});
    if (r.ok() && !r->isError()) {
      back = std::chrono::steady_clock::now();
      value = r->integer;
    } else {
      ++failures;
      if (!r.ok()) {
        EXPECT_TRUE(r.error().code == "redis_unavailable" || r.error().code == "outcome_unknown")
            << r.error().code;
      }
      runUntil(
          loop, [] { return false; }, std::chrono::milliseconds(50));
    }
  }
  ASSERT_TRUE(back) << "no command succeeded within 30 s of the crash; "
                    << cluster.command(static_cast<size_t>((victim + 1) % 6), {"CLUSTER", "NODES"});
  // The replica had the first increment; at most the ones with an unknown outcome added more.
  EXPECT_GE(value, 2);
  int promoted = cluster.masterOf(keySlot(key));
  EXPECT_NE(promoted, victim);
  EXPECT_GE(promoted, 0);
  std::printf("[cluster] master killed: commands for its slots back after %.2f s (%d failed)\n",
              std::chrono::duration<double>(*back - killed).count(), failures);
  // The client says ready again once its map is whole and every master answers.
  EXPECT_TRUE(runUntil(
      loop, [&] { return client.ready(); }, std::chrono::seconds(10)));
}

}  // namespace
}  // namespace jobcast

namespace jobcast::test {
namespace {

// The switch that runs the whole suite against a cluster: with
// JOBCAST_TEST_REDIS=cluster a RedisServer is a 3+3 cluster whose command()
// reaches every slot's master, whose whole-data-set commands cover every
// master, and whose restart keeps the data.
TEST(RedisServerOnACluster, RoutesMergesAndKeepsDataAcrossRestartAndCrash) {
  bool was_set = RedisServer::clusterMode();
  ::setenv("JOBCAST_TEST_REDIS", "cluster", 1);
  RedisServer redis;
  if (!was_set)
    ::unsetenv("JOBCAST_TEST_REDIS");
  ASSERT_NE(redis.cluster(), nullptr);
  EXPECT_EQ(redis.seeds().size(), 6u);
  EXPECT_EQ(redis.address(), redis.cluster()->seeds());

  // Keys on slots of every master.
  std::set<int> masters;
  for (int i = 0; i < 30; ++i) {
    std::string key = "k" + std::to_string(i);
    ASSERT_EQ(redis.command({"SET", key, "v" + std::to_string(i)}), "OK");
    masters.insert(redis.cluster()->masterOf(keySlot(key)));
  }
  EXPECT_EQ(masters.size(), 3u);
  EXPECT_EQ(redis.command({"GET", "k17"}), "v17");
  EXPECT_EQ(redis.command({"DBSIZE"}), "30");
  std::string keys = redis.command({"KEYS", "k*"});
  EXPECT_EQ(std::count(keys.begin(), keys.end(), '\n'), 29);
  std::string info = redis.command({"INFO", "keyspace"});
  EXPECT_NE(info.find("db0:keys=30,"), std::string::npos) << info;

  redis.restart();
  EXPECT_EQ(redis.command({"GET", "k17"}), "v17");
  EXPECT_EQ(redis.command({"DBSIZE"}), "30");

  redis.kill();
  EXPECT_FALSE(redis.running());
  EXPECT_EQ(redis.command({"GET", "k17"}), "(connection failed)");
  redis.start();
  EXPECT_EQ(redis.command({"GET", "k3"}), "v3");
  ASSERT_EQ(redis.command({"FLUSHALL"}), "OK");
  EXPECT_EQ(redis.command({"DBSIZE"}), "0");
}

}  // namespace
}  // namespace jobcast::test
