#include "core/redis_slots.h"

#include <algorithm>
#include <cctype>

namespace jobcast {

uint16_t crc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<uint16_t>(byte) << 8;
    for (int i = 0; i < 8; ++i)
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
  }
  return crc;
}

int keySlot(std::string_view key) {
  auto open = key.find('{');
  if (open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % kRedisSlots;
}

std::optional<size_t> firstKeyIndex(const std::vector<std::string>& args) {
  if (args.empty())
    return std::nullopt;
  std::string verb = args[0];
  std::transform(verb.begin(), verb.end(), verb.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (verb == "EVAL" || verb == "EVALSHA" || verb == "EVAL_RO" || verb == "EVALSHA_RO" ||
      verb == "FCALL") {
    if (args.size() < 4 || args[2] == "0")
      return std::nullopt;
    return 3;
  }
  if (verb == "XREAD" || verb == "XREADGROUP") {
    for (size_t i = 1; i + 1 < args.size(); ++i) {
      std::string word = args[i];
      std::transform(word.begin(), word.end(), word.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      if (word == "STREAMS")
        return i + 1;
    }
    return std::nullopt;
  }
  if (verb == "XGROUP" || verb == "XINFO" || verb == "OBJECT" || verb == "MEMORY")
    return args.size() > 2 ? std::optional<size_t>(2) : std::nullopt;
  static const char* const kNoKey[] = {"PING",   "INFO",     "SCRIPT",   "CLUSTER", "TIME",
                                       "DBSIZE", "FLUSHALL", "FLUSHDB",  "CONFIG",  "CLIENT",
                                       "ECHO",   "MULTI",    "EXEC",     "DISCARD", "ASKING",
                                       "WAIT",   "SELECT",   "READONLY", "HELLO",   "COMMAND"};
  for (const char* v : kNoKey) {
    if (verb == v)
      return std::nullopt;
  }
  return args.size() > 1 ? std::optional<size_t>(1) : std::nullopt;
}

}  // namespace jobcast
