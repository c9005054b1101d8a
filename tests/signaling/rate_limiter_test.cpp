#include "signaling/rate_limiter.h"

#include <gtest/gtest.h>

namespace jobcast {
namespace {

TEST(RateLimiter, AllowsABurstThenTheSustainedRate) {
  ManualClock clock;
  RateLimiter limiter({.per_second = 2, .burst = 3}, clock);
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_FALSE(limiter.allow("a"));
  EXPECT_EQ(limiter.retryAfterSeconds("a"), 1);
  EXPECT_TRUE(limiter.allow("b"));  // keys are independent
  clock.advance(std::chrono::milliseconds(500));
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_FALSE(limiter.allow("a"));
  clock.advance(std::chrono::seconds(10));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limiter.allow("a"));
  EXPECT_FALSE(limiter.allow("a"));
}

TEST(RateLimiter, ForgetsIdleKeysWhenFull) {
  ManualClock clock;
  RateLimiter limiter({.per_second = 1, .burst = 1, .max_keys = 2}, clock);
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_TRUE(limiter.allow("b"));
  clock.advance(std::chrono::seconds(5));
  EXPECT_TRUE(limiter.allow("c"));  // a was forgotten
  EXPECT_FALSE(limiter.allow("c"));
}

TEST(RateLimiter, NeverHoldsMoreThanMaxKeysAndEvictsTheLeastRecentlyUsed) {
  ManualClock clock;
  // No time passes: every bucket stays drained, so nothing is "full" to forget.
  RateLimiter limiter({.per_second = 1, .burst = 1, .max_keys = 3}, clock);
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_TRUE(limiter.allow("b"));
  EXPECT_TRUE(limiter.allow("c"));
  EXPECT_FALSE(limiter.allow("a"));  // a is now the most recently used
  EXPECT_TRUE(limiter.allow("d"));   // evicts b, the least recently used
  EXPECT_EQ(limiter.size(), 3u);
  EXPECT_FALSE(limiter.allow("a"));  // a kept its empty bucket
  EXPECT_FALSE(limiter.allow("c"));  // so did c
  EXPECT_TRUE(limiter.allow("b"));   // b starts afresh (evicting d)
  for (int i = 0; i < 100000; ++i)
    limiter.allow("k" + std::to_string(i));
  EXPECT_EQ(limiter.size(), 3u);
}

TEST(RateLimiter, ANewKeyCostsTheSameWhateverTheMapHolds) {
  // The old limiter refilled and scanned every bucket for each new key once
  // full: 200,000 new keys over a full map of 100,000 drained buckets took
  // minutes. Bounded work per key finishes this at once.
  ManualClock clock;
  RateLimiter limiter({.per_second = 1, .burst = 1, .max_keys = 100000}, clock);
  for (int i = 0; i < 300000; ++i)
    limiter.allow("ip:" + std::to_string(i));
  EXPECT_EQ(limiter.size(), 100000u);
}

}  // namespace
}  // namespace jobcast
