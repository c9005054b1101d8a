#include "core/crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>

#include "core/jwt.h"

namespace jobcast {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kIvBytes = 12;
constexpr size_t kTagBytes = 16;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

Result<std::string> decodeHexKey(const std::string& hex) {
  if (hex.size() != kKeyBytes * 2)
    return Error{"invalid_key", "data key must be 64 hex characters"};
  std::string raw(kKeyBytes, '\0');
  for (size_t i = 0; i < kKeyBytes; ++i) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9')
        return c - '0';
      if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
      if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
      return -1;
    };
    int hi = nibble(hex[2 * i]);
    int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return Error{"invalid_key", "data key must be 64 hex characters"};
    raw[i] = static_cast<char>(hi * 16 + lo);
  }
  return raw;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* bytes(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

}  // namespace

std::string DataCipher::keyIdOf(const std::string& raw_key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(bytes(raw_key), raw_key.size(), digest);
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 4; ++i) {
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 15];
  }
  return id;
}

Result<DataCipher> DataCipher::fromHex(const std::string& hex_key) {
  auto raw = decodeHexKey(hex_key);
  if (!raw)
    return raw.error();
  DataCipher cipher;
  cipher.current_ = keyIdOf(raw.value());
  cipher.keys_[cipher.current_] = raw.value();
  return cipher;
}

Result<DataCipher> DataCipher::fromRing(const std::map<std::string, std::string>& hex_keys_by_id,
                                        const std::string& current) {
  DataCipher cipher;
  for (const auto& [id, hex] : hex_keys_by_id) {
    if (id.empty() || id.find('.') != std::string::npos)
      return Error{"invalid_key", "key ids must be non-empty and contain no '.'"};
    auto raw = decodeHexKey(hex);
    if (!raw)
      return raw.error();
    cipher.keys_[id] = raw.value();
  }
  if (!cipher.keys_.count(current))
    return Error{"invalid_key", "the current key id is not in the ring"};
  cipher.current_ = current;
  return cipher;
}

Result<std::string> DataCipher::seal(std::string_view plaintext, std::string_view aad) const {
  const std::string& key = keys_.at(current_);
  std::string blob(kIvBytes + plaintext.size() + kTagBytes, '\0');
  if (RAND_bytes(bytes(blob), kIvBytes) != 1)
    return Error{"encrypt_failed", "no random bytes for the IV"};
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kIvBytes, nullptr) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key), bytes(blob)) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), bytes(blob) + kIvBytes, &len, bytes(plaintext),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), bytes(blob) + kIvBytes + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          bytes(blob) + kIvBytes + plaintext.size()) == 1;
  if (!ok)
    return Error{"encrypt_failed", "AES-256-GCM encryption failed"};
  return "v1." + current_ + "." + base64UrlEncode(blob);
}

Result<std::string> DataCipher::open(std::string_view sealed, std::string_view aad) const {
  if (sealed.substr(0, 3) != "v1.")
    return Error{"decrypt_failed", "not a sealed value"};
  auto dot = sealed.find('.', 3);
  if (dot == std::string_view::npos)
    return Error{"decrypt_failed", "not a sealed value"};
  std::string key_id(sealed.substr(3, dot - 3));
  auto key = keys_.find(key_id);
  if (key == keys_.end())
    return Error{"unknown_key", "sealed with a key that is not configured"};
  auto blob = base64UrlDecode(sealed.substr(dot + 1));
  if (!blob || blob->size() < kIvBytes + kTagBytes)
    return Error{"decrypt_failed", "not a sealed value"};
  size_t text_len = blob->size() - kIvBytes - kTagBytes;
  std::string plain(text_len, '\0');
  std::string tag = blob->substr(kIvBytes + text_len);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kIvBytes, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key->second), bytes(*blob)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), bytes(plain), &len, bytes(*blob) + kIvBytes,
                        static_cast<int>(text_len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), bytes(plain) + len, &len) == 1;
  if (!ok)
    return Error{"decrypt_failed", "the value does not authenticate"};
  return plain;
}

}  // namespace jobcast
