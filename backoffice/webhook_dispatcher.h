#pragma once
// Delivers webhook events (docs/webhooks.md) on its own thread, with its own
// blocking Redis connection, so a slow receiver never holds the control loop.
// Every node runs one; the Redis consumer group gives each delivery to one of
// them.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "core/redis.h"

namespace jobcast::backoffice {

struct DispatcherOptions {
  std::string consumer;             // this node's name in the consumer group
  int64_t max_attempts = 8;         // then dead-lettered
  int64_t backoff_ms = 1000;        // before the second try; doubles each time
  int64_t backoff_max_ms = 600000;  // cap of the doubling
  int64_t timeout_ms = 5000;        // one HTTP attempt, connect included
  int64_t claim_idle_ms = 60000;    // a delivery read this long ago by a silent consumer is taken
  int64_t sweep_ms = 1000;          // how often room outboxes are drained
  int64_t block_ms = 200;           // XREADGROUP BLOCK
};

class WebhookDispatcher {
 public:
  // `addresses`: the one Redis, or nodes of a Redis Cluster (tried in turn).
  WebhookDispatcher(std::vector<RedisAddress> addresses, DataCipher cipher,
                    DispatcherOptions options);
  ~WebhookDispatcher();  // stops and joins the thread
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  void start();

 private:
  void run();

  std::vector<RedisAddress> addresses_;
  DataCipher cipher_;
  DispatcherOptions options_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

// The consumer group every node reads deliveries with.
inline constexpr char kConsumerGroup[] = "webhooks";

}  // namespace jobcast::backoffice
