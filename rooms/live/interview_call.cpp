#include "rooms/live/interview_call.h"

#include "core/turn.h"
#include "rooms/model.h"

namespace jobcast::live {

using nlohmann::json;

json iceServersFor(const CallOptions& options, const std::string& call_id, int64_t now_s) {
  json servers = json::array();
  if (options.turn_urls.empty() || options.turn_secret.empty())
    return servers;
  TurnCredential c = turnCredential(options.turn_secret, call_id, now_s + options.turn_ttl_s);
  servers.push_back({{"urls", options.turn_urls},
                     {"username", c.username},
                     {"credential", c.password},
                     {"expires_at", c.expires_at}});
  return servers;
}

Result<json> peerSignal(const json& args, const std::string& from_role) {
  const std::string kind = args.value("kind", "");
  json out{{"call_id", args.value("call_id", "")}, {"kind", kind}, {"from", from_role}};
  if (auto pc = args.find("pc"); pc != args.end() && pc->is_string())
    out["pc"] = *pc;
  if (kind == "offer" || kind == "answer") {
    auto sdp = args.find("sdp");
    if (sdp == args.end() || !sdp->is_string())
      return Error{"invalid_field", "sdp: required for an " + kind};
    out["sdp"] = *sdp;
  } else if (kind == "candidate") {
    auto cand = args.find("candidate");
    if (cand == args.end() || !cand->is_object())
      return Error{"invalid_field", "candidate: required for a candidate"};
    json c = json::object();
    for (const char* field : {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}) {
      if (auto f = cand->find(field); f != cand->end() && !f->is_null())
        c[field] = *f;
    }
    out["candidate"] = c;
  } else if (kind == "media") {
    out["audio"] = args.value("audio", true);
    out["video"] = args.value("video", true);
  }
  return out;
}

std::string callMovesFromLua() {
  std::string lua = "local CALL_MOVES_FROM = {";
  for (auto status : rooms::callMovesFrom())
    lua += std::string("[\"") + rooms::applicationStatusName(status) + "\"] = true, ";
  return lua + "}\n";
}

}  // namespace jobcast::live
