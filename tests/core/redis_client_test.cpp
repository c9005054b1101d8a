#include "core/redis.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <memory>
#include <optional>

#include "tests/support/redis_client_for.h"
#include "tests/support/redis_server.h"
#include "tests/support/run_loop.h"

namespace jobcast {
namespace {

using test::runUntil;

TEST(RedisAddress, Parses) {
  EXPECT_EQ(RedisAddress::parse("127.0.0.1:6380")->port, 6380);
  EXPECT_EQ(RedisAddress::parse("tcp://redis:6379")->host, "redis");
  EXPECT_EQ(RedisAddress::parse("unix:/tmp/r.sock")->unix_path, "/tmp/r.sock");
  EXPECT_EQ(RedisAddress::parse("/tmp/r.sock")->unix_path, "/tmp/r.sock");
  EXPECT_FALSE(RedisAddress::parse("host:notaport").ok());
  EXPECT_FALSE(RedisAddress::parse(":6379").ok());
}

TEST(RedisClient, CommandsRoundTripAgainstARealServer) {
  test::RedisServer server;
  Loop loop;
  auto owned = test::redisClientFor(loop, server);
  RedisClient& client = *owned;
  client.start();
  ASSERT_TRUE(runUntil(loop, [&] { return client.ready(); }));

  // Each reply in its own place: on a cluster, commands on different slots
  // (or without a key) go to different masters and may answer in any order.
  std::vector<RedisReply> replies(5);
  size_t answered = 0;
  auto into = [&](size_t i) {
    return [&, i](Result<RedisReply> r) {
      ASSERT_TRUE(r.ok());
      replies[i] = r.value();
      ++answered;
    };
  };
  client.command({"SET", "k", std::string("v\0w", 3)}, into(0));
  client.command({"GET", "k"}, into(1));
  client.command({"RPUSH", "l", "a", "b"}, into(2));
  client.command({"LRANGE", "l", "0", "-1"}, into(3));
  client.command({"NOSUCHCOMMAND"}, into(4));
  ASSERT_TRUE(runUntil(loop, [&] { return answered == 5; }));
  EXPECT_EQ(replies[0].str, "OK");
  EXPECT_EQ(replies[1].str, std::string("v\0w", 3));
  EXPECT_EQ(replies[2].integer, 2);
  ASSERT_EQ(replies[3].elements.size(), 2u);
  EXPECT_EQ(replies[3].elements[1].str, "b");
  EXPECT_TRUE(replies[4].isError());
}

// Domain code parses replies inside these callbacks: one that throws (a bug)
// is stopped at the hiredis edge, and the connection serves the next command.
TEST(RedisClient, ACallbackThatThrowsDoesNotStopTheClient) {
  test::RedisServer server;
  Loop loop;
  auto owned = test::redisClientFor(loop, server);
  RedisClient& client = *owned;
  client.start();
  ASSERT_TRUE(runUntil(loop, [&] { return client.ready(); }));
  bool threw = false;
  client.command({"SET", "k", "v"}, [&](Result<RedisReply>) {
    threw = true;
    (void)nlohmann::json("text").get<bool>();  // throws type_error
  });
  std::string value;
  client.command({"GET", "k"}, [&](Result<RedisReply> r) { value = r.ok() ? r->str : "error"; });
  ASSERT_TRUE(runUntil(loop, [&] { return !value.empty(); }));
  EXPECT_TRUE(threw);
  EXPECT_EQ(value, "v");
  EXPECT_TRUE(client.ready());
}

TEST(RedisClient, ReportsNotReadyWhenKilledAndRecoversAfterRestart) {
  test::RedisServer server;
  Loop loop;
  auto owned = test::redisClientFor(loop, server);
  RedisClient& client = *owned;
  std::vector<bool> transitions;
  client.onStateChange([&](bool ready) { transitions.push_back(ready); });
  client.start();
  ASSERT_TRUE(runUntil(loop, [&] { return client.ready(); }));

  server.kill();
  ASSERT_TRUE(runUntil(
      loop, [&] { return !client.ready(); }, std::chrono::seconds(2)));

  // Commands while down fail with a clear error instead of hanging.
  bool failed = false;
  client.command({"PING"}, [&](Result<RedisReply> r) {
    failed = !r.ok() && r.error().code == "redis_unavailable";
  });
  ASSERT_TRUE(runUntil(loop, [&] { return failed; }));

  server.start();
  ASSERT_TRUE(runUntil(
      loop, [&] { return client.ready(); }, std::chrono::seconds(5)));
  EXPECT_EQ(transitions, (std::vector<bool>{true, false, true}));
  EXPECT_GE(client.reconnects(), 1u);
}

// Redis stops answering after a write reached it: the write may be applied
// (here it is, once Redis runs again), so the client must not say that
// nothing was stored. The health check's time is the test's: the loop runs on
// a ManualClock, so the timeout is checked at the moment it passes.
TEST(RedisClient, AWriteSentBeforeRedisStopsAnsweringHasAnUnknownOutcome) {
  test::RedisServer server;
  ManualClock clock;
  Loop loop(clock);
  RedisClient::Options options;
  options.ping_interval = std::chrono::milliseconds(100);
  options.ping_timeout = std::chrono::milliseconds(300);
  auto owned = test::redisClientFor(loop, server, options);
  RedisClient& client = *owned;
  client.start();
  ASSERT_TRUE(runUntil(loop, [&] { return client.ready(); }));
  auto tick = [&](std::chrono::milliseconds by) {
    clock.advance(by);
    loop.drain();
  };

  server.pause();
  std::optional<Result<RedisReply>> sent;
  client.command({"SET", "k", "v"}, [&](Result<RedisReply> r) { sent = std::move(r); });
  loop.drain();                          // hiredis writes the command to the socket
  tick(std::chrono::milliseconds(100));  // the health check sends its PING
  tick(std::chrono::milliseconds(100));
  EXPECT_FALSE(sent.has_value()) << "no answer for 100 ms is within the timeout";
  EXPECT_TRUE(client.ready());
  tick(std::chrono::milliseconds(300));  // 400 ms without any answer: over the timeout
  ASSERT_TRUE(runUntil(loop, [&] { return sent.has_value(); }));
  ASSERT_FALSE(sent->ok());
  EXPECT_EQ(sent->error().code, "outcome_unknown") << sent->error().message;
  EXPECT_FALSE(client.ready());

  // With the connection gone, a new command never leaves: nothing is stored.
  std::optional<Result<RedisReply>> unsent;
  client.command({"SET", "k2", "v"}, [&](Result<RedisReply> r) { unsent = std::move(r); });
  ASSERT_TRUE(runUntil(loop, [&] { return unsent.has_value(); }));
  ASSERT_FALSE(unsent->ok());
  EXPECT_EQ(unsent->error().code, "redis_unavailable");

  server.resume();
  EXPECT_EQ(server.command({"GET", "k"}), "v") << "the first write was applied after all";
  EXPECT_EQ(server.command({"EXISTS", "k2"}), "0");
}

// The overload pattern that once crashed a node inside libhiredis: thousands
// of commands outstanding when Redis stalls (the health check gives up and
// frees the connection) or dies, while their callbacks send new commands and
// give up on the work they were for. Every callback runs exactly once, none
// after its owner is gone, and the client serves again after Redis is back.
// (Run it under -fsanitize=address to see a use after free.)
TEST(RedisClient, ThousandsOfPendingCommandsSurviveAStallAKillAndARestart) {
  test::RedisServer server;
  Loop loop;
  RedisClient::Options options;
  options.ping_interval = std::chrono::milliseconds(50);
  options.ping_timeout = std::chrono::milliseconds(200);
  auto owned = test::redisClientFor(loop, server, options);
  RedisClient& client = *owned;
  client.start();
  ASSERT_TRUE(runUntil(loop, [&] { return client.ready(); }));
  server.command({"SET", "big", std::string(64 * 1024, 'x')});

  constexpr int kCommands = 3000;
  // One owner per command, like a WebSocket connection waiting for its
  // snapshot; a failed reply closes the next owner too.
  auto round = [&](const std::function<void()>& fault) {
    std::vector<std::shared_ptr<int>> owners;
    for (int i = 0; i < kCommands; ++i)
      owners.push_back(std::make_shared<int>(i));
    std::vector<int> calls(kCommands, 0);
    int followups = 0;
    for (int i = 0; i < kCommands; ++i) {
      std::weak_ptr<int> owner = owners[i];
      client.command({i % 3 == 0 ? "GET" : "STRLEN", "big"}, [&, i, owner](Result<RedisReply> r) {
        ++calls[i];
        if (r.ok() || owner.expired())
          return;
        if (i + 1 < kCommands)
          owners[i + 1].reset();  // another connection goes meanwhile
        client.command({"PING"}, [&](Result<RedisReply>) { ++followups; });
      });
    }
    fault();
    bool all = runUntil(
        loop, [&] { return std::all_of(calls.begin(), calls.end(), [](int c) { return c >= 1; }); },
        std::chrono::seconds(20));
    EXPECT_TRUE(all) << "every command gets its one answer";
    EXPECT_TRUE(std::all_of(calls.begin(), calls.end(), [](int c) { return c == 1; }));
    loop.drain();
  };

  // Redis stalls with the commands (and a PING) outstanding: the health
  // check frees the connection under them.
  round([&] {
    loop.drain();
    server.pause();
  });
  ASSERT_TRUE(runUntil(
      loop, [&] { return !client.ready(); }, std::chrono::seconds(5)));
  server.resume();
  ASSERT_TRUE(runUntil(
      loop, [&] { return client.ready(); }, std::chrono::seconds(10)));

  // Redis dies mid-answer and comes back on the same port.
  round([&] {
    for (int i = 0; i < 3; ++i)
      g_main_context_iteration(loop.context(), FALSE);
    server.kill();
  });
  server.start();
  ASSERT_TRUE(runUntil(
      loop, [&] { return client.ready(); }, std::chrono::seconds(10)));

  std::string value;
  client.command({"STRLEN", "big"},
                 [&](Result<RedisReply> r) { value = r.ok() ? std::to_string(r->integer) : "-"; });
  ASSERT_TRUE(runUntil(loop, [&] { return !value.empty(); }));
  EXPECT_EQ(value, "65536");
}

TEST(RedisScript, FallsBackToEvalAfterScriptFlush) {
  test::RedisServer server;
  Loop loop;
  auto owned = test::redisClientFor(loop, server);
  RedisClient& client = *owned;
  client.start();
  ASSERT_TRUE(runUntil(loop, [&] { return client.ready(); }));
  RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  std::vector<long long> results;
  for (int i = 0; i < 2; ++i) {
    script.run(client, {"counter"}, {"5"}, [&](Result<RedisReply> r) {
      ASSERT_TRUE(r.ok());
      ASSERT_FALSE(r->isError()) << r->str;
      results.push_back(r->integer);
    });
    ASSERT_TRUE(runUntil(loop, [&] { return results.size() == static_cast<size_t>(i + 1); }));
    server.command({"SCRIPT", "FLUSH"});
  }
  EXPECT_EQ(results, (std::vector<long long>{5, 10}));
}

}  // namespace
}  // namespace jobcast
