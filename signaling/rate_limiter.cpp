#include "signaling/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace jobcast {

RateLimiter::RateLimiter(Options options, const Clock& clock) : options_(options), clock_(clock) {}

void RateLimiter::refill(Bucket& bucket, std::chrono::steady_clock::time_point now) const {
  double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  bucket.tokens = std::min(options_.burst, bucket.tokens + elapsed * options_.per_second);
  bucket.updated = now;
}

bool RateLimiter::allow(const std::string& key) {
  auto now = clock_.now();
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    while (!recent_.empty() && buckets_.size() >= std::max<size_t>(1, options_.max_keys)) {
      buckets_.erase(recent_.back());
      recent_.pop_back();
    }
    recent_.push_front(key);
    it = buckets_.emplace(key, Bucket{options_.burst, now, recent_.begin()}).first;
  } else {
    recent_.splice(recent_.begin(), recent_, it->second.recency);
  }
  refill(it->second, now);
  if (it->second.tokens < 1)
    return false;
  it->second.tokens -= 1;
  return true;
}

int RateLimiter::retryAfterSeconds(const std::string& key) const {
  auto it = buckets_.find(key);
  if (it == buckets_.end() || options_.per_second <= 0)
    return 1;
  Bucket bucket = it->second;
  refill(bucket, clock_.now());
  double missing = std::max(0.0, 1 - bucket.tokens);
  return std::max(1, static_cast<int>(std::ceil(missing / options_.per_second)));
}

}  // namespace jobcast
