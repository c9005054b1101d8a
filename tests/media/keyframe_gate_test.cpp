// KeyframeGate with a manual clock: many viewers' requests become at most one
// upstream request per interval, and none is lost.

#include <gtest/gtest.h>

#include "media/keyframe_gate.h"

namespace jobcast::media {
namespace {

using namespace std::chrono_literals;
using D = KeyframeGate::Decision;

TEST(KeyframeGate, FirstRequestGoesUpstreamAtOnce) {
  KeyframeGate gate(1s);
  KeyframeGate::Clock::time_point t{10s};
  EXPECT_EQ(gate.request(t), D::Forward);
  EXPECT_FALSE(gate.pendingAt());
}

TEST(KeyframeGate, BurstWithinIntervalBecomesOneDeferredRequest) {
  KeyframeGate gate(1s);
  KeyframeGate::Clock::time_point t{10s};
  ASSERT_EQ(gate.request(t), D::Forward);
  EXPECT_EQ(gate.request(t + 100ms), D::Deferred);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(gate.request(t + 200ms + i * 1ms), D::Merged);
  ASSERT_TRUE(gate.pendingAt());
  EXPECT_EQ(*gate.pendingAt(), t + 1s);
  EXPECT_FALSE(gate.fireDue(t + 999ms));
  EXPECT_TRUE(gate.fireDue(t + 1s));
  EXPECT_FALSE(gate.fireDue(t + 1s));  // fired once
  EXPECT_EQ(gate.forwarded(), 2u);
  EXPECT_EQ(gate.merged(), 50u);
}

TEST(KeyframeGate, NeverMoreThanOnePerIntervalUnderSteadyLoad) {
  KeyframeGate gate(1s);
  KeyframeGate::Clock::time_point start{100s};
  std::vector<KeyframeGate::Clock::time_point> sent;
  // 200 viewers each asking every 37 ms for 10 s; the owner fires due requests every 10 ms.
  for (auto t = start; t < start + 10s; t += 1ms) {
    auto since = t - start;
    if (since % 37ms == 0ms) {
      for (int v = 0; v < 200; ++v) {
        if (gate.request(t) == D::Forward)
          sent.push_back(t);
      }
    }
    if (since % 10ms == 0ms && gate.fireDue(t))
      sent.push_back(t);
  }
  ASSERT_GE(sent.size(), 9u);
  EXPECT_LE(sent.size(), 11u);
  for (size_t i = 1; i < sent.size(); ++i)
    EXPECT_GE(sent[i] - sent[i - 1], 1s);
}

TEST(KeyframeGate, QuietGateForwardsAgainAfterInterval) {
  KeyframeGate gate(1s);
  KeyframeGate::Clock::time_point t{5s};
  EXPECT_EQ(gate.request(t), D::Forward);
  EXPECT_EQ(gate.request(t + 1500ms), D::Forward);
  EXPECT_EQ(gate.request(t + 1600ms), D::Deferred);
  EXPECT_EQ(*gate.pendingAt(), t + 2500ms);
}

}  // namespace
}  // namespace jobcast::media
