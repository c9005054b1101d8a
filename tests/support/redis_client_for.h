#pragma once
// The core RedisClient that a test's own code uses to reach a RedisServer:
// one connection to the one server, or the cluster client seeded with every
// node when the server is a Redis Cluster (JOBCAST_TEST_REDIS=cluster).
// Header-only so that the support library does not link jobcast_core.

#include <memory>
#include <vector>

#include "core/redis.h"
#include "tests/support/redis_server.h"

namespace jobcast::test {

inline std::unique_ptr<RedisClient> redisClientFor(Loop& loop, const RedisServer& server,
                                                   RedisClient::Options options = {}) {
  if (!server.cluster())
    return std::make_unique<RedisClient>(loop, RedisAddress::parse(server.address()).value(),
                                         options);
  std::vector<RedisAddress> seeds;
  for (const auto& seed : server.seeds())
    seeds.push_back(RedisAddress::parse(seed).value());
  return std::make_unique<RedisClient>(loop, std::move(seeds), options);
}

}  // namespace jobcast::test
