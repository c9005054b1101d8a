// The quarterly report's pure parts (quarters in China Standard Time, the
// region tree) and the recommendation counter against a real redis-server:
// the column other features feed, read back through ReportStore.

#include "rooms/report.h"

#include <gtest/gtest.h>

#include <optional>

#include "rooms/keys.h"
#include "tests/support/redis_client_for.h"
#include "tests/support/redis_server.h"
#include "tests/support/run_loop.h"

namespace jobcast::rooms {
namespace {

TEST(Quarter, EndsAtMidnightInChinaStandardTime) {
  // 2026-03-31 16:00:00 UTC is 2026-04-01 00:00 in Beijing.
  EXPECT_EQ(Quarter::of(1774972800).str(), "2026Q2");
  EXPECT_EQ(Quarter::of(1774972799).str(), "2026Q1");
  // 2025-12-31 16:00:00 UTC opens 2026 in Beijing.
  EXPECT_EQ(Quarter::of(1767196800).str(), "2026Q1");
  EXPECT_EQ(Quarter::of(1767196799).str(), "2025Q4");
}

TEST(Regions, LevelsRunFromTheWholeServiceDown) {
  EXPECT_EQ(regionLevels("150203"), (std::vector<std::string>{"", "150000", "150200", "150203"}));
  EXPECT_EQ(regionLevels("1502"), (std::vector<std::string>{"", "150000", "150200"}));
  EXPECT_EQ(regionLevels("15"), (std::vector<std::string>{"", "150000"}));
  EXPECT_EQ(regionLevels(""), (std::vector<std::string>{""}));
  EXPECT_EQ(regionOf("150200").zh, "包头市");
  EXPECT_EQ(regionOf("150200").mn, "ᠪᠤᠭᠤᠲᠤ");
  EXPECT_EQ(regionOf("150200").level, 2);
  // A banner the table does not name is still a region below its league.
  EXPECT_EQ(regionOf("150429").parent, "150400");
  EXPECT_EQ(regionOf("150429").level, 3);
  EXPECT_EQ(regionChildren("").size(), 1u);
  EXPECT_EQ(regionChildren("15").size(), 12u);
  for (const auto& league : regionChildren("150000")) {
    EXPECT_EQ(league.level, 2) << league.code;
    EXPECT_FALSE(league.mn.empty()) << league.code;
  }
  EXPECT_EQ(keys::reportCounts("", "2026Q4"), "jc:{g:all}:2026Q4:counts");
  EXPECT_EQ(keys::reportCounts("150200", "2026Q4"), "jc:{g:150200}:2026Q4:counts");
}

TEST(ReportStore, RecommendationsCountPerPersonInEveryLevel) {
  test::RedisServer redis;
  Loop loop;
  auto owned = test::redisClientFor(loop, redis);
  RedisClient& client = *owned;
  client.start();
  ASSERT_TRUE(test::runUntil(loop, [&] { return client.ready(); }));
  ReportStore store(client);
  const int64_t q3 = 1754006400;  // 2025-08-01 00:00 UTC
  const int64_t q4 = 1760000000;  // 2025-10-09
  auto count = [&](const std::string& user, const std::string& region, int64_t at, int64_t n) {
    std::optional<Result<bool>> out;
    store.countRecommendations(user, region, at, n, [&](Result<bool> r) { out = r; });
    ASSERT_TRUE(test::runUntil(loop, [&] { return out.has_value(); }));
    ASSERT_TRUE(out->ok()) << out->error().message;
  };
  count("u1", "150203", q3, 2);
  count("u1", "150203", q4, 1);  // the third of u1's year
  count("u2", "150203", q4, 1);
  count("u3", "150100", q4, 4);
  auto quarterly = [&](const std::string& region, Quarter q) {
    std::optional<Result<QuarterlyReport>> out;
    store.quarterly(region, q, [&](Result<QuarterlyReport> r) { out = std::move(r); });
    EXPECT_TRUE(test::runUntil(loop, [&] { return out.has_value(); }));
    EXPECT_TRUE(out->ok());
    return out->value();
  };
  auto baotou = quarterly("150200", {2025, 4});
  EXPECT_EQ(baotou.total.quarter.recommendations, 2);
  EXPECT_EQ(baotou.total.quarter.people_recommended, 2);
  EXPECT_EQ(baotou.total.quarter.people_reached_3, 1);  // u1 reached 3 in Q4
  EXPECT_EQ(baotou.total.year_to_date.recommendations, 4);
  EXPECT_EQ(baotou.total.year_to_date.people_recommended, 2);
  EXPECT_DOUBLE_EQ(baotou.total.year_to_date.recommendationsPerPerson(), 2.0);
  auto all = quarterly("", {2025, 4});
  EXPECT_EQ(all.total.quarter.recommendations, 6);
  EXPECT_EQ(all.total.quarter.people_recommended, 3);
  EXPECT_EQ(all.total.quarter.people_reached_3, 2);  // u1 and u3
  EXPECT_EQ(all.total.year_to_date.recommendations, 8);
  auto q3_only = quarterly("150203", {2025, 3});
  EXPECT_EQ(q3_only.total.quarter.recommendations, 2);
  EXPECT_EQ(q3_only.total.quarter.people_reached_3, 0);
}

}  // namespace
}  // namespace jobcast::rooms
