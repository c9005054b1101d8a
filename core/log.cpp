#include "core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace jobcast::log {
namespace {

std::atomic<Level> g_level{Level::Info};
std::atomic<Format> g_format{Format::Json};
std::mutex g_write_mutex;

const char* levelName(Level level) {
  switch (level) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
  }
  return "info";
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

}  // namespace

std::optional<Level> parseLevel(std::string_view name) {
  if (name == "debug")
    return Level::Debug;
  if (name == "info")
    return Level::Info;
  if (name == "warn" || name == "warning")
    return Level::Warn;
  if (name == "error")
    return Level::Error;
  return std::nullopt;
}

std::optional<Format> parseFormat(std::string_view name) {
  if (name == "json")
    return Format::Json;
  if (name == "text")
    return Format::Text;
  return std::nullopt;
}

void configure(Level level, Format format) {
  g_level = level;
  g_format = format;
}

bool enabled(Level level) {
  return level >= g_level.load();
}

void write(Level level, std::string_view msg, const nlohmann::json& fields) {
  if (!enabled(level))
    return;
  std::string line;
  if (g_format.load() == Format::Json) {
    // Ordered: ts, level and msg lead every line; fields follow.
    nlohmann::ordered_json obj;
    obj["ts"] = timestamp();
    obj["level"] = levelName(level);
    obj["msg"] = msg;
    if (fields.is_object()) {
      for (auto it = fields.begin(); it != fields.end(); ++it)
        obj[it.key()] = it.value();
    }
    line = obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = timestamp() + " " + levelName(level) + " " + std::string(msg);
    if (fields.is_object()) {
      for (auto it = fields.begin(); it != fields.end(); ++it) {
        line += " " + it.key() + "=";
        line += it.value().is_string()
                    ? it.value().get<std::string>()
                    : it.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
    }
  }
  line += '\n';
  std::lock_guard<std::mutex> lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace jobcast::log
