#include "core/metrics.h"

#include <cmath>
#include <cstdio>

namespace jobcast {
namespace {

std::string escapeLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v))
    return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return std::to_string(static_cast<long long>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::string Metrics::labelText(const Labels& labels) {
  if (labels.empty())
    return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i)
      out += ",";
    out += labels[i].first + "=\"" + escapeLabel(labels[i].second) + "\"";
  }
  return out + "}";
}

void Metrics::describe(const std::string& name, Type type, const std::string& help) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  }
}

void Metrics::add(const std::string& name, const Labels& labels, double delta) {
  families_[name].values[labelText(labels)] += delta;
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
  families_[name].values[labelText(labels)] = value;
}

void Metrics::gaugeFn(const std::string& name, const Labels& labels, std::function<double()> fn) {
  families_[name].fns[labelText(labels)] = std::move(fn);
}

double Metrics::value(const std::string& name, const Labels& labels) const {
  auto family = families_.find(name);
  if (family == families_.end())
    return 0;
  auto text = labelText(labels);
  if (auto fn = family->second.fns.find(text); fn != family->second.fns.end())
    return fn->second();
  auto it = family->second.values.find(text);
  return it == family->second.values.end() ? 0 : it->second;
}

std::string Metrics::render() const {
  std::string out;
  for (const auto& [name, family] : families_) {
    if (!family.help.empty())
      out += "# HELP " + name + " " + family.help + "\n";
    out += "# TYPE " + name + (family.type == Type::Counter ? " counter\n" : " gauge\n");
    for (const auto& [labels, value] : family.values) {
      out += name + labels + " " + number(value) + "\n";
    }
    for (const auto& [labels, fn] : family.fns)
      out += name + labels + " " + number(fn()) + "\n";
  }
  return out;
}

}  // namespace jobcast
