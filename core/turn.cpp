#include "core/turn.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace jobcast {

TurnCredential turnCredential(std::string_view secret, std::string_view name, int64_t expires_at) {
  TurnCredential c;
  c.expires_at = expires_at;
  c.username = std::to_string(expires_at) + ":" + std::string(name);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(c.username.data()), c.username.size(), mac, &mac_len);
  // Standard base64 with padding, as coturn computes it.
  std::string b64(4 * ((mac_len + 2) / 3) + 1, '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), mac, static_cast<int>(mac_len));
  b64.resize(n > 0 ? static_cast<size_t>(n) : 0);
  c.password = std::move(b64);
  return c;
}

}  // namespace jobcast
