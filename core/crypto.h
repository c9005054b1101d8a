#pragma once
// Personal data at rest: AES-256-GCM (OpenSSL EVP) with the key id stored beside
// each ciphertext, so a new key can encrypt while older keys still decrypt.

#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

namespace jobcast {

// Seals and opens small values. Sealed text is
//   "v1." KEY_ID "." base64url(iv[12] || ciphertext || tag[16])
// `aad` (associated data, e.g. the owner's user id) is authenticated but not
// stored: a value copied under another owner fails to open.
class DataCipher {
 public:
  // One key, 64 hex characters; its id is derived from the key (keyIdOf).
  static Result<DataCipher> fromHex(const std::string& hex_key);
  // A key ring: `current` encrypts, every key decrypts what it sealed.
  static Result<DataCipher> fromRing(const std::map<std::string, std::string>& hex_keys_by_id,
                                     const std::string& current);
  // Eight hex characters of SHA-256 over the raw key: stable, reveals nothing.
  static std::string keyIdOf(const std::string& raw_key);

  Result<std::string> seal(std::string_view plaintext, std::string_view aad) const;
  // Errors: "decrypt_failed" (tampered, wrong aad) or "unknown_key" (key id not in the ring).
  Result<std::string> open(std::string_view sealed, std::string_view aad) const;

  const std::string& currentKeyId() const { return current_; }

 private:
  DataCipher() = default;
  std::map<std::string, std::string> keys_;  // id -> 32 raw bytes
  std::string current_;
};

}  // namespace jobcast
