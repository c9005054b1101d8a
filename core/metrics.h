#pragma once
// Prometheus metrics: counters and gauges with labels, rendered in the text
// exposition format. Updated from the control thread; render() also runs there.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace jobcast {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  enum class Type { Counter, Gauge };

  // Declares a metric family once; later calls with the same name are ignored.
  void describe(const std::string& name, Type type, const std::string& help);
  void add(const std::string& name, const Labels& labels, double delta = 1);
  void set(const std::string& name, const Labels& labels, double value);
  // A gauge computed when scraped.
  void gaugeFn(const std::string& name, const Labels& labels, std::function<double()> fn);
  double value(const std::string& name, const Labels& labels) const;

  std::string render() const;

 private:
  struct Family {
    Type type = Type::Counter;
    std::string help;
    std::map<std::string, double> values;  // rendered label set -> value
    std::map<std::string, std::function<double()>> fns;
  };
  static std::string labelText(const Labels& labels);
  std::map<std::string, Family> families_;
};

}  // namespace jobcast
