#include "signaling/rate_limiter.h"

#include <gtest/gtest.h>

namespace jobcast {
namespace {

TEST(RateLimiter, AllowsABurstThenTheSustainedRate) {
  auto now = std::chrono::steady_clock::time_point{};
  RateLimiter limiter({.per_second = 2, .burst = 3}, [&] { return now; });
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_FALSE(limiter.allow("a"));
  EXPECT_EQ(limiter.retryAfterSeconds("a"), 1);
  EXPECT_TRUE(limiter.allow("b"));  // keys are independent
  now += std::chrono::milliseconds(500);
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_FALSE(limiter.allow("a"));
  now += std::chrono::seconds(10);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limiter.allow("a"));
  EXPECT_FALSE(limiter.allow("a"));
}

TEST(RateLimiter, ForgetsIdleKeysWhenFull) {
  auto now = std::chrono::steady_clock::time_point{};
  RateLimiter limiter({.per_second = 1, .burst = 1, .max_keys = 2}, [&] { return now; });
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_TRUE(limiter.allow("b"));
  now += std::chrono::seconds(5);
  EXPECT_TRUE(limiter.allow("c"));  // a and b refilled and were forgotten
  EXPECT_FALSE(limiter.allow("c"));
}

}  // namespace
}  // namespace jobcast
