#pragma once
// Token-bucket rate limits per key ("user:SUB", "ip:ADDR"), for the REST API and
// the WebSocket channel alike. Loop thread only (no locks).

#include <chrono>
#include <functional>
#include <list>
#include <string>
#include <unordered_map>

#include "core/clock.h"

namespace jobcast {

class RateLimiter {
 public:
  struct Options {
    double per_second = 20;    // sustained rate per key
    double burst = 60;         // bucket size: how many at once
    size_t max_keys = 100000;  // beyond this, the least recently used key is forgotten
  };

  // `clock` (the loop's; a ManualClock in tests) outlives the limiter.
  explicit RateLimiter(Options options, const Clock& clock = Clock::system());

  // Takes one token from `key`'s bucket; false when it is empty.
  bool allow(const std::string& key);
  // Whole seconds until `key` has a token again (for Retry-After), at least 1.
  int retryAfterSeconds(const std::string& key) const;
  // Keys remembered now (never more than max_keys).
  size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point updated;
    std::list<std::string>::iterator recency;  // its place in recent_
  };
  void refill(Bucket& bucket, std::chrono::steady_clock::time_point now) const;

  Options options_;
  const Clock& clock_;
  std::unordered_map<std::string, Bucket> buckets_;
  // Keys, most recently used first: a new key over max_keys evicts the back in
  // O(1) instead of scanning the map.
  std::list<std::string> recent_;
};

}  // namespace jobcast
