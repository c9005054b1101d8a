// Fuzz target: the access-token parser (Jwt::verify) and base64url decoding.
// Any input must be refused or accepted without crashing, and an accepted token
// must carry the signature of the secret.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/jwt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const jobcast::Jwt jwt("fuzz-secret-0123456789abcdef");
  auto claims = jwt.verify(text, 1700000000);
  if (claims.ok()) {
    // Only a correctly signed token may verify: re-signing must verify as well.
    auto again = jwt.verify(jwt.sign(claims.value()), 1700000000);
    if (!again.ok())
      __builtin_trap();
  }
  (void)jobcast::base64UrlDecode(text);
  return 0;
}
