#pragma once
// Structured logging: one JSON object per line on stderr (or human text).
// Safe from any thread. Never pass personal data or secrets as fields.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace jobcast::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };
enum class Format { Json, Text };

std::optional<Level> parseLevel(std::string_view name);
std::optional<Format> parseFormat(std::string_view name);

void configure(Level level, Format format);
bool enabled(Level level);

void write(Level level, std::string_view msg, const nlohmann::json& fields = nullptr);

inline void debug(std::string_view msg, const nlohmann::json& fields = nullptr) {
  if (enabled(Level::Debug))
    write(Level::Debug, msg, fields);
}
inline void info(std::string_view msg, const nlohmann::json& fields = nullptr) {
  write(Level::Info, msg, fields);
}
inline void warn(std::string_view msg, const nlohmann::json& fields = nullptr) {
  write(Level::Warn, msg, fields);
}
inline void error(std::string_view msg, const nlohmann::json& fields = nullptr) {
  write(Level::Error, msg, fields);
}

}  // namespace jobcast::log
