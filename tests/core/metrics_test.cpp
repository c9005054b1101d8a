#include "core/metrics.h"

#include <gtest/gtest.h>

namespace jobcast {
namespace {

TEST(Metrics, RendersPrometheusTextFormat) {
  Metrics m;
  m.describe("jobcast_things_total", Metrics::Type::Counter, "Things seen.");
  m.add("jobcast_things_total", {{"kind", "a\"b"}});
  m.add("jobcast_things_total", {{"kind", "a\"b"}}, 2);
  m.describe("jobcast_level", Metrics::Type::Gauge, "A level.");
  m.gaugeFn("jobcast_level", {}, [] { return 0.5; });
  std::string text = m.render();
  EXPECT_NE(text.find("# HELP jobcast_things_total Things seen.\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE jobcast_things_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("jobcast_things_total{kind=\"a\\\"b\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE jobcast_level gauge\njobcast_level 0.5\n"), std::string::npos);
  EXPECT_EQ(m.value("jobcast_things_total", {{"kind", "a\"b"}}), 3);
}

}  // namespace
}  // namespace jobcast
