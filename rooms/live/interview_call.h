#pragma once
// The one-to-one interview call (docs/interview.md): what call.join and
// call.signal accept and answer. The call's state lives in Redis
// (rooms/live/call_shared.lua); the browsers carry the media peer to peer, or
// through TURN with per-call credentials minted here. Control thread only.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace jobcast::live {

struct CallOptions {
  std::vector<std::string> turn_urls;  // turn:/turns: URLs given to both parties
  std::string turn_secret;             // coturn's static-auth-secret
  int64_t turn_ttl_s = 3600;           // how long a call's TURN credentials live
  int64_t ring_ms = 60000;             // an offer not taken up by then is a no_show
};

// The RTCIceServer list for one party of `call_id`: the TURN URLs with a
// credential that expires turn_ttl_s after `now_s`; empty without TURN.
nlohmann::json iceServersFor(const CallOptions& options, const std::string& call_id, int64_t now_s);

// What call.signal sends on to the peer, rebuilt from the frame's known fields
// only (the schema, signaling/schema/ws.call.signal.json, has checked types):
// {call_id, kind, from, ...}. Errors: invalid_field for a kind without its field.
Result<nlohmann::json> peerSignal(const nlohmann::json& args, const std::string& from_role);

// Lua that defines CALL_MOVES_FROM for call_shared.lua: the application
// statuses (rooms/model.h) from which a held call moves it to 'interview'.
std::string callMovesFromLua();

}  // namespace jobcast::live
