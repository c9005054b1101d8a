#pragma once
// The jobcast.v1 WebSocket protocol (docs/websocket.md): decoding client frames
// (untrusted input: fuzzed in tests/fuzz/ws_frame_fuzz.cpp), encoding server
// frames, and how an error code is treated (from the catalogue, signaling/errors.h).
// Pure functions; no libwebsockets here.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "signaling/errors.h"

namespace jobcast::ws {

inline constexpr const char* kSubprotocol = "jobcast.v1";
inline constexpr const char* kPath = "/ws";

struct ClientFrame {
  std::string type;
  std::optional<int64_t> req;
  nlohmann::json body;  // the whole object
};

struct Hello {
  std::string room;
  std::optional<std::string> token;
  std::optional<std::string> since;
};

struct FrameError {
  std::string code;
  std::string message;
  std::optional<int64_t> req;  // when the frame's req could be read
};

// Parses one text message. Checks: size, JSON object, "type" known, "req" an
// integer (required for actions), then the frame against its schema
// (signaling/wire.h; error "invalid_field", naming the field).
std::variant<ClientFrame, FrameError> decodeFrame(std::string_view text, size_t max_bytes);
std::variant<Hello, FrameError> decodeHello(const ClientFrame& frame);

// An "invalid_field" error also carries "field", read from its message;
// retry_s > 0 is sent as "retry_s" (slow mode, chat rate: when to send again).
std::string errorFrame(const std::optional<int64_t>& req, std::string_view code,
                       std::string_view message, int64_t retry_s = 0);
std::string ackFrame(int64_t req, nlohmann::json fields);
// data_json is spliced in as it is: the stream holds JSON written by our scripts.
std::string eventFrame(std::string_view id, std::string_view kind, std::string_view data_json);

// How the channel treats an error code: read from the catalogue (signaling/errors.h).
struct ErrorPolicy {
  bool strike = false;      // counts towards the abuse limit
  uint16_t close_code = 0;  // non-zero: close the connection after the error frame
};
ErrorPolicy errorPolicy(std::string_view code);

}  // namespace jobcast::ws
