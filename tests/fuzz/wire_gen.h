#pragma once
// Structure-aware input for the wire fuzz targets: the fuzzer's bytes choose a
// message of signaling/schema/ and, for each of its fields, whether it is sent
// and with which JSON type and value (the schema's example, a string, an
// integer at or past a range edge, a float, a bool, null, an object, a list).
// So libFuzzer's byte mutations become type and range mutations of documents
// that are otherwise well formed. When the bytes run out every choice is 0:
// the schema's own example, field by field.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "signaling/wire.h"

namespace jobcast::fuzz {

class Choices {
 public:
  Choices(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t below(uint32_t n) { return n == 0 ? 0 : byte() % n; }
  int64_t int64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v = (v << 8) | byte();
    return static_cast<int64_t>(v);
  }
  // Text of valid UTF-8 (JSON strings must be), with blanks, control
  // characters, multi-byte letters and characters ids do not allow.
  std::string text() {
    static const char* const kPieces[] = {"a",  "Z",    "0",    "9",    "-",  "_",  ".", " ",
                                          "\n", "\t",   "\x01", "\x7f", "\"", "\\", "/", "é",
                                          "汉", "🙂", "darn", ":",    "@",  "%",  "{", "1-0"};
    constexpr uint32_t kCount = sizeof(kPieces) / sizeof(kPieces[0]);
    std::string out;
    uint32_t length = byte();
    if (length > 200)
      length = (length - 200) * 100;  // now and then a long one (up to 5500)
    for (uint32_t i = 0; i < length; ++i)
      out += kPieces[below(kCount)];
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

inline nlohmann::json value(Choices& c, const nlohmann::json& field, const nlohmann::json& example,
                            int depth = 0) {
  using nlohmann::json;
  switch (c.below(depth > 2 ? 7 : 11)) {
    case 0:
      return example;
    case 1:
      return c.text();
    case 2:
      return c.int64();
    case 3: {  // at or just past the field's range
      int64_t min = field.value("minimum", int64_t{0});
      int64_t max = field.value("maximum", int64_t{0});
      const int64_t edges[] = {min,
                               max,
                               min - 1,
                               max + 1,
                               0,
                               -1,
                               std::numeric_limits<int64_t>::min(),
                               std::numeric_limits<int64_t>::max()};
      if (c.below(5) == 0)
        return std::numeric_limits<uint64_t>::max();
      return edges[c.below(8)];
    }
    case 4: {
      const double floats[] = {1.5, -0.0, 1e308, -1e-308, 3.0};
      return floats[c.below(5)];
    }
    case 5:
      return c.below(2) == 1;
    case 6:
      return nullptr;
    case 7: {  // a value the schema names (enum member), else the example's
      if (auto e = field.find("enum"); e != field.end() && !e->empty())
        return (*e)[c.below(static_cast<uint32_t>(e->size()))];
      return example;
    }
    case 8: {
      json o = json::object();
      for (uint32_t i = 0, n = c.below(4); i < n; ++i)
        o[c.text()] = value(c, json::object(), nullptr, depth + 1);
      return o;
    }
    case 9: {
      json a = json::array();
      for (uint32_t i = 0, n = c.below(5); i < n; ++i)
        a.push_back(value(c, field.value("items", json::object()), example, depth + 1));
      return a;
    }
    default:  // a list of the example: right item type, wrong container
      return json::array({example});
  }
}

// A document for one message chosen by the bytes: each field of its schema
// sent (as chosen above) or left out, sometimes with a field the schema does
// not know.
inline const wire::Schema& message(Choices& c, bool rest) {
  const auto& all = wire::schemas();
  std::vector<const wire::Schema*> pool;
  for (const auto& s : all) {
    if (s.rest == rest)
      pool.push_back(&s);
  }
  return *pool[c.below(static_cast<uint32_t>(pool.size()))];
}

inline nlohmann::json document(Choices& c, const wire::Schema& schema) {
  using nlohmann::json;
  const json& example = schema.document["examples"][0];
  json doc = json::object();
  for (const auto& [name, field] : schema.document["properties"].items()) {
    if (c.below(5) == 4)
      continue;  // left out
    doc[name] = value(c, field, example.value(name, json("x")));
  }
  if (c.below(8) == 7)
    doc[c.text()] = value(c, json::object(), nullptr);
  return doc;
}

}  // namespace jobcast::fuzz
