#include "signaling/ws_protocol.h"

#include <map>

#include "rooms/live/live_room.h"
#include "rooms/model.h"
#include "signaling/wire.h"

namespace jobcast::ws {

namespace {

using nlohmann::json;

bool validRoomId(const std::string& id) {
  if (id.empty() || id.size() > 64)
    return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok)
      return false;
  }
  return true;
}

}  // namespace

std::variant<ClientFrame, FrameError> decodeFrame(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return FrameError{"too_large", "frame over " + std::to_string(max_bytes) + " bytes", {}};
  }
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded())
    return FrameError{"bad_frame", "not JSON", {}};
  if (!doc.is_object())
    return FrameError{"bad_frame", "expected a JSON object", {}};
  ClientFrame frame;
  auto req = doc.find("req");
  if (req != doc.end() && !req->is_null()) {
    if (!req->is_number_integer())
      return FrameError{"bad_frame", "'req' must be an integer", {}};
    frame.req = req->get<int64_t>();
  }
  auto type = doc.find("type");
  if (type == doc.end() || !type->is_string())
    return FrameError{"missing_field", "'type' is required", frame.req};
  frame.type = type->get<std::string>();
  bool action = live::parseAction(frame.type).has_value();
  if (!action && frame.type != "hello" && frame.type != "ping") {
    std::string shown = frame.type.substr(0, 40);
    return FrameError{"unknown_type", "unknown type '" + shown + "'", frame.req};
  }
  if ((action || frame.type == "ping") && !frame.req)
    return FrameError{"missing_field", "'req' is required", {}};
  // Each action and hello has a schema (signaling/schema/ws.*.json): types and
  // ranges are settled here, before the channel or the room reads a field.
  if (frame.type != "ping") {
    auto valid = wire::validate(frame.type, doc);
    if (!valid.ok())
      return FrameError{valid.error().code, valid.error().message, frame.req};
  }
  frame.body = std::move(doc);
  return frame;
}

std::variant<Hello, FrameError> decodeHello(const ClientFrame& frame) {
  const json& b = frame.body;
  Hello hello;
  auto room = b.find("room");
  if (room == b.end() || !room->is_string())
    return FrameError{"missing_field", "'room' is required", frame.req};
  hello.room = room->get<std::string>();
  if (!validRoomId(hello.room))
    return FrameError{"bad_frame", "'room' is not a room id", frame.req};
  auto token = b.find("token");
  if (token != b.end() && !token->is_null()) {
    if (!token->is_string() || token->get_ref<const std::string&>().size() > 4096)
      return FrameError{"bad_frame", "'token' must be a string or null", frame.req};
    hello.token = token->get<std::string>();
  }
  auto since = b.find("since");
  if (since != b.end() && !since->is_null()) {
    if (!since->is_string() || !live::StreamId::parse(since->get_ref<const std::string&>()))
      return FrameError{"bad_frame", "'since' must be an event id or null", frame.req};
    hello.since = since->get<std::string>();
  }
  return hello;
}

std::string errorFrame(const std::optional<int64_t>& req, std::string_view code,
                       std::string_view message, int64_t retry_s) {
  json j{{"type", "error"}, {"code", code}, {"message", message}};
  if (retry_s > 0)
    j["retry_s"] = retry_s;
  if (code == "invalid_field") {
    std::string field = rooms::fieldOf(Error{std::string(code), std::string(message)});
    if (!field.empty())
      j["field"] = field;
  }
  if (req)
    j["req"] = *req;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ackFrame(int64_t req, json fields) {
  json j = fields.is_object() ? std::move(fields) : json::object();
  j["type"] = "ack";
  j["req"] = req;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string eventFrame(std::string_view id, std::string_view kind, std::string_view data_json) {
  std::string out;
  out.reserve(48 + id.size() + kind.size() + data_json.size());
  out += R"({"type":"event","id":)";
  out += json(id).dump();
  out += R"(,"kind":)";
  out += json(kind).dump(-1, ' ', false, json::error_handler_t::replace);
  out += R"(,"data":)";
  out += data_json.empty() ? std::string_view("{}") : data_json;
  out += '}';
  return out;
}

ErrorPolicy errorPolicy(std::string_view code) {
  const errors::ErrorCode* e = errors::find(code);
  return e ? ErrorPolicy{e->ws_strike, e->ws_close} : ErrorPolicy{};
}

}  // namespace jobcast::ws
