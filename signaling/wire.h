#pragma once
// The wire contract: one JSON Schema per REST request body and per WebSocket
// client frame, kept in signaling/schema/*.json and embedded in the binary.
// Every body and frame is checked here, by type and range, before domain code
// reads it; the domain keeps the checks a schema cannot state (UTF-8 length,
// blank text, word filter, who may act).
//
// A schema file names its message with "x-route" ("POST /api/v1/rooms", the
// router's pattern) or "x-frame" (the frame's "type"). Fields a schema does not
// list are ignored. Pure functions; safe to call from any thread.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace jobcast::wire {

// Checks `body` (a JSON object) against the schema of `message`. The error has
// code "invalid_field" and a message "FIELD: why" (rooms::fieldOf reads the
// field back), or code
// "internal" when there is no such schema.
Result<bool> validate(std::string_view message, const nlohmann::json& body);
bool hasSchema(std::string_view message);

// Every message with a schema, with its whole schema document.
struct Schema {
  std::string message;  // "POST /api/v1/rooms" or "chat.send"
  bool rest = false;    // REST body (x-route) rather than WebSocket frame (x-frame)
  nlohmann::json document;
};
const std::vector<Schema>& schemas();

// Parses a REST body as a JSON object and validates it against the schema of
// `route` ("METHOD pattern", http::Request::routeKey()). An empty body reads as
// {} when `empty_is_object`. Errors: "invalid_json", "invalid_field", "internal".
Result<nlohmann::json> parseBody(std::string_view route, std::string_view text,
                                 bool empty_is_object = false);

}  // namespace jobcast::wire
