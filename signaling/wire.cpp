#include "signaling/wire.h"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <map>
#include <memory>

#include "core/log.h"
#include "signaling/wire_schemas.h"

namespace jobcast::wire {
namespace {

using nlohmann::json;

// One property of a message, compiled on its own so an error names its field.
struct Field {
  std::string name;
  json schema;
  std::unique_ptr<valijson::Schema> compiled;
};

struct Message {
  std::vector<Field> fields;
  std::vector<std::string> required;
};

struct Catalogue {
  std::vector<Schema> list;
  std::map<std::string, Message, std::less<>> messages;
};

// Built once from the embedded files. A schema that does not load is a bug in
// the repository, caught by tests/signaling/wire_test.cpp; it aborts start-up.
const Catalogue& catalogue() {
  static const Catalogue built = [] {
    Catalogue c;
    for (std::string_view text : files::kAll) {
      json doc = json::parse(text);
      Schema entry;
      entry.rest = doc.contains("x-route");
      entry.message = doc.at(entry.rest ? "x-route" : "x-frame").get<std::string>();
      Message m;
      for (const auto& [name, sub] : doc.at("properties").items()) {
        Field f{name, sub, std::make_unique<valijson::Schema>()};
        valijson::SchemaParser parser;
        valijson::adapters::NlohmannJsonAdapter adapter(f.schema);
        parser.populateSchema(adapter, *f.compiled);
        m.fields.push_back(std::move(f));
      }
      for (const auto& r : doc.value("required", json::array()))
        m.required.push_back(r.get<std::string>());
      entry.document = std::move(doc);
      c.messages.emplace(entry.message, std::move(m));
      c.list.push_back(std::move(entry));
    }
    return c;
  }();
  return built;
}

const char* typeWord(const std::string& type) {
  if (type == "string")
    return "a string";
  if (type == "integer")
    return "a whole number";
  if (type == "number")
    return "a number";
  if (type == "boolean")
    return "true or false";
  if (type == "array")
    return "a list";
  if (type == "object")
    return "an object";
  return "null";
}

bool hasType(const json& value, const std::string& type) {
  if (type == "string")
    return value.is_string();
  if (type == "integer")
    return value.is_number_integer();
  if (type == "number")
    return value.is_number();
  if (type == "boolean")
    return value.is_boolean();
  if (type == "array")
    return value.is_array();
  if (type == "object")
    return value.is_object();
  return value.is_null();
}

// Why `value` does not fit `schema`, in words a client developer can act on.
std::string why(const json& schema, const json& value) {
  std::vector<std::string> types;
  if (auto t = schema.find("type"); t != schema.end()) {
    if (t->is_string())
      types.push_back(t->get<std::string>());
    for (const auto& each : t->is_array() ? *t : json::array())
      types.push_back(each.get<std::string>());
  }
  bool type_ok = types.empty();
  for (const auto& t : types)
    type_ok = type_ok || hasType(value, t);
  if (!type_ok) {
    std::string words;
    for (size_t i = 0; i < types.size(); ++i)
      words += std::string(i == 0 ? "" : " or ") + typeWord(types[i]);
    return "must be " + words;
  }
  if (auto e = schema.find("enum"); e != schema.end()) {
    std::string words;
    for (const auto& v : *e)
      words += (words.empty() ? "" : ", ") + v.get<std::string>();
    return "must be one of " + words;
  }
  if (value.is_number()) {
    return "must be from " + schema.value("minimum", json("any")).dump() + " to " +
           schema.value("maximum", json("any")).dump();
  }
  if (value.is_string()) {
    if (schema.contains("pattern"))
      return "does not match " + schema["pattern"].get<std::string>();
    return "must be " + std::to_string(schema.value("minLength", 0)) + " to " +
           std::to_string(schema.value("maxLength", 0)) + " characters";
  }
  if (value.is_array())
    return "must be a list of at most " + std::to_string(schema.value("maxItems", 0)) +
           " items, each " + why(schema.value("items", json::object()), json::object());
  return "is not allowed";
}

Error invalid(const std::string& field, const std::string& reason) {
  return Error{"invalid_field", field + ": " + reason};
}

Result<bool> check(const Message& m, const json& body) {
  if (!body.is_object())
    return Error{"invalid_json", "expected a JSON object"};
  for (const auto& f : m.fields) {
    auto it = body.find(f.name);
    if (it == body.end())
      continue;
    valijson::Validator validator;
    valijson::adapters::NlohmannJsonAdapter target(*it);
    if (!validator.validate(*f.compiled, target, nullptr))
      return invalid(f.name, why(f.schema, *it));
  }
  for (const auto& name : m.required) {
    if (!body.contains(name))
      return invalid(name, "is required");
  }
  return true;
}

}  // namespace

Result<bool> validate(std::string_view message, const json& body) {
  // Validation must never take the node down: a surprise here answers
  // "internal" and is logged without the body (it may hold personal data).
  try {
    const auto& messages = catalogue().messages;
    auto it = messages.find(message);
    if (it == messages.end())
      return Error{"internal", "no schema for " + std::string(message)};
    return check(it->second, body);
  } catch (const std::exception& e) {
    log::error("schema validation failed", {{"message", message}, {"what", e.what()}});
    return Error{"internal", "the request could not be checked"};
  }
}

bool hasSchema(std::string_view message) {
  const auto& messages = catalogue().messages;
  return messages.find(message) != messages.end();
}

const std::vector<Schema>& schemas() {
  return catalogue().list;
}

Result<json> parseBody(std::string_view route, std::string_view text, bool empty_is_object) {
  if (text.empty() && empty_is_object)
    text = "{}";
  json body = json::parse(text.begin(), text.end(), nullptr, false);
  if (body.is_discarded())
    return Error{"invalid_json", "the body is not valid JSON"};
  if (!body.is_object())
    return Error{"invalid_json", "the body must be a JSON object"};
  auto valid = validate(route, body);
  if (!valid.ok()) {
    if (valid.error().code == "internal")
      log::error("request body without a schema", {{"route", route}});
    return valid.error();
  }
  return body;
}

}  // namespace jobcast::wire
