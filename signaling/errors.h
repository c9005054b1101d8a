#pragma once
// The error catalogue: every error code a client can see, with the HTTP status
// it is answered with and how the WebSocket channel treats it. The one table;
// REST handlers, WHIP, WHEP, the stage API and the WebSocket channel all read
// it, and docs/api.md and docs/websocket.md list its codes (a test checks).
// The WebSocket error frame carries the code itself: {"type":"error","code":CODE}.

#include <cstdint>
#include <span>
#include <string_view>

namespace jobcast {

namespace ws {
// Close codes the server uses (RFC 6455 section 7.4 and the private 4000 range).
enum CloseCode : uint16_t {
  kCloseGoingAway = 1001,
  kClosePolicy = 1008,  // repeated abuse
  kCloseInternal = 1011,
  kCloseDraining = 1012,      // service restart: this node is draining; reconnect (elsewhere) now
  kCloseTryLater = 1013,      // this node is full: try again later or elsewhere
  kCloseUnauthorized = 4401,  // bad or expired token
  kCloseBanned = 4403,        // banned from the room, or token not valid for it
  kCloseRoomNotFound = 4404,
  kCloseSlowConsumer = 4408,  // send queue stayed over its bound
  kCloseKicked = 4409,        // removed by a moderator; may join again
  kCloseRevoked = 4410,       // the token's account was revoked or disabled: sign in again
};
}  // namespace ws

namespace errors {

// Where a code is sent: over HTTP, as a WebSocket error frame, or both.
enum Channel : uint8_t { kHttp = 1, kWs = 2, kBoth = 3 };

struct ErrorCode {
  std::string_view code;
  int http_status;         // the status an HTTP answer with this code carries
  Channel channel;         // where it is sent
  bool ws_strike = false;  // a WebSocket error frame with it counts towards the abuse limit
  uint16_t ws_close = 0;   // non-zero: the WebSocket is closed with this after the frame
};

// Every code, in the order the docs list them.
std::span<const ErrorCode> all();
// The entry of `code`, or nullptr for a code not in the catalogue.
const ErrorCode* find(std::string_view code);
// The HTTP status of `code`; 500 for a code not in the catalogue (a bug).
int httpStatus(std::string_view code);

}  // namespace errors
}  // namespace jobcast
