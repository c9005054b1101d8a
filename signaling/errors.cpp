#include "signaling/errors.h"

#include <array>

namespace jobcast::errors {
namespace {

using ws::kCloseBanned;
using ws::kCloseDraining;
using ws::kCloseInternal;
using ws::kCloseRevoked;
using ws::kCloseRoomNotFound;
using ws::kCloseTryLater;
using ws::kCloseUnauthorized;

// One code per meaning: a missing room is room_not_found (not_found is any
// other missing item), a body or frame field that does not fit is
// invalid_field, a missing token is unauthorized.
constexpr std::array kCatalogue = {
    // Input that does not fit.
    ErrorCode{"malformed_request", 400, kHttp},
    ErrorCode{"invalid_json", 400, kHttp},
    ErrorCode{"invalid_field", 400, kBoth},
    ErrorCode{"invalid_query", 400, kHttp},
    // A sign-in code that is unknown, used already or expired.
    ErrorCode{"invalid_signin_code", 400, kHttp},
    ErrorCode{"bad_sdp", 400, kHttp},
    ErrorCode{"unsupported_media", 400, kHttp},
    ErrorCode{"unsupported_codec", 400, kHttp},
    ErrorCode{"bad_variant", 400, kHttp},
    ErrorCode{"too_long", 400, kWs},
    ErrorCode{"payload_too_large", 413, kHttp},
    ErrorCode{"unsupported_media_type", 415, kHttp},
    ErrorCode{"range_not_satisfiable", 416, kHttp},
    ErrorCode{"header_too_large", 431, kHttp},
    // Frames the WebSocket channel refuses; each is a strike.
    ErrorCode{"bad_frame", 400, kWs, true},
    ErrorCode{"missing_field", 400, kWs, true},
    ErrorCode{"unknown_type", 400, kWs, true},
    ErrorCode{"too_large", 413, kWs, true},
    ErrorCode{"binary_not_supported", 400, kWs, true},
    ErrorCode{"rate_limited_frames", 429, kWs, true},
    ErrorCode{"hello_required", 400, kWs, true},
    ErrorCode{"already_joined", 409, kWs, true},
    // Who is asking.
    ErrorCode{"unauthorized", 401, kBoth},
    ErrorCode{"invalid_token", 401, kBoth, false, kCloseUnauthorized},
    ErrorCode{"token_expired", 401, kBoth, false, kCloseUnauthorized},
    // The token's staff account was revoked or disabled (docs/access.md).
    ErrorCode{"token_revoked", 401, kBoth, false, kCloseRevoked},
    ErrorCode{"account_disabled", 403, kHttp},
    ErrorCode{"forbidden", 403, kBoth},
    ErrorCode{"room_forbidden", 403, kWs, false, kCloseBanned},
    ErrorCode{"banned", 403, kWs, false, kCloseBanned},
    ErrorCode{"muted", 403, kWs},
    ErrorCode{"call_forbidden", 403, kWs},  // not a party of the interview call
    // What is asked for.
    ErrorCode{"room_not_found", 404, kBoth, false, kCloseRoomNotFound},
    ErrorCode{"not_found", 404, kBoth},
    ErrorCode{"session_not_found", 404, kHttp},
    ErrorCode{"segment_not_found", 404, kHttp},
    ErrorCode{"no_stream", 404, kHttp},
    ErrorCode{"variant_unavailable", 404, kHttp},
    ErrorCode{"not_on_stage", 404, kHttp},
    ErrorCode{"call_not_found", 404, kWs},
    ErrorCode{"recording_node_gone", 410, kHttp},
    ErrorCode{"moved", 307, kHttp},  // not a failure: the room's media is on another node
    ErrorCode{"method_not_allowed", 405, kHttp},
    ErrorCode{"trickle_not_supported", 405, kHttp},
    ErrorCode{"request_timeout", 408, kHttp},
    // The state does not allow it.
    ErrorCode{"conflict", 409, kHttp},
    ErrorCode{"illegal_transition", 409, kHttp},
    ErrorCode{"room_ended", 409, kHttp},
    ErrorCode{"room_not_live", 409, kHttp},
    ErrorCode{"employer_unverified", 409, kHttp},
    ErrorCode{"profile_required", 409, kHttp},
    ErrorCode{"slot_taken", 409, kHttp},
    ErrorCode{"stage_full", 409, kHttp},
    ErrorCode{"already_voted", 409, kWs},
    ErrorCode{"not_queued", 409, kWs},
    ErrorCode{"queue_empty", 409, kWs},
    ErrorCode{"call_ended", 409, kWs},
    ErrorCode{"rate_limited", 429, kBoth},
    ErrorCode{"slow_mode", 429, kWs},
    // The node or its Redis.
    ErrorCode{"internal", 500, kBoth},
    ErrorCode{"media_failed", 500, kHttp},
    ErrorCode{"media_error", 500, kHttp},
    ErrorCode{"redis_unavailable", 503, kBoth},
    ErrorCode{"outcome_unknown", 503, kBoth},
    ErrorCode{"unavailable", 503, kWs},
    ErrorCode{"join_failed", 503, kWs, false, kCloseInternal},
    ErrorCode{"viewer_limit", 503, kHttp},
    ErrorCode{"node_full", 503, kWs, false, kCloseTryLater},
    ErrorCode{"node_draining", 503, kBoth, false, kCloseDraining},
    ErrorCode{"media_unavailable", 503, kHttp},
    ErrorCode{"not_yet_available", 503, kHttp},
};

}  // namespace

std::span<const ErrorCode> all() {
  return kCatalogue;
}

const ErrorCode* find(std::string_view code) {
  for (const auto& e : kCatalogue) {
    if (e.code == code)
      return &e;
  }
  return nullptr;
}

int httpStatus(std::string_view code) {
  const ErrorCode* e = find(code);
  return e ? e->http_status : 500;
}

}  // namespace jobcast::errors
