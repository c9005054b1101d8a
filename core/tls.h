#pragma once
// TLS material: a self-signed certificate for a server with none configured, so
// browsers on a LAN can use WebRTC pages over HTTPS after accepting it once.

#include <string>

#include "core/result.h"

namespace jobcast::tls {

// OpenSSL cipher lists for the HTTPS listener: TLS 1.2 with ECDHE and AEAD
// ciphers only, and TLS 1.3's suites. Older protocol versions are refused.
extern const char* const kTls12Ciphers;
extern const char* const kTls13Ciphers;

struct CertPaths {
  std::string cert;
  std::string key;
};

// Returns dir/tls/self-signed.{crt,key}, creating them (ECDSA P-256, one year,
// SAN localhost, 127.0.0.1, ::1 and `hostname`) when they do not exist yet.
Result<CertPaths> ensureSelfSigned(const std::string& dir, const std::string& hostname);

}  // namespace jobcast::tls
