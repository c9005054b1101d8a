// Fuzz target: JSON request decoding of the rooms API (rooms/model.h). Every
// decoder must answer a value or an error naming a field, never throw or crash.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rooms/model.h"

namespace {
template <typename T>
void check(const jobcast::Result<T>& r) {
  if (!r.ok() && r.error().code == "invalid_field" && jobcast::rooms::fieldOf(r.error()).empty())
    __builtin_trap();  // a field error must name its field
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace jobcast::rooms;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto body = parseObject(text);
  if (!body.ok())
    return 0;
  check(RoomDraft::fromJson(body.value()));
  check(EmployerDraft::fromJson(body.value()));
  check(Profile::fromJson(body.value()));
  auto card = JobCard::fromJson(body.value());
  check(card);
  if (card.ok()) {
    // What is stored reads back the same.
    auto stored = JobCard::fromStored(card->toJson().dump());
    if (!stored || stored->toJson() != card->toJson())
      __builtin_trap();
  }
  (void)Profile::fromSealable(std::string(text));
  (void)Application::fromStored(std::string(text));
  return 0;
}
