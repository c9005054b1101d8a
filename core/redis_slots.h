#pragma once
// Redis Cluster key slots: CRC16 (XMODEM) of the key, or of its hash tag (the
// text between the first '{' and the next '}', when not empty), modulo 16384;
// and which argument of a command is its first key, for routing.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobcast {

inline constexpr int kRedisSlots = 16384;

uint16_t crc16(std::string_view data);
int keySlot(std::string_view key);

// The index in `args` of the command's first key; nullopt for commands
// without one (PING, SCRIPT, EVAL with 0 keys...), which any master may run.
std::optional<size_t> firstKeyIndex(const std::vector<std::string>& args);

}  // namespace jobcast
