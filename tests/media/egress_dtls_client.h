#pragma once
// A browser-like DTLS client (the active side) on OpenSSL memory BIOs, for
// tests of the egress engine: it offers SRTP profiles, shows its own
// certificate's fingerprint, and exports the keys as a viewer would.

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "media/egress/dtls.h"

namespace jobcast::media::egress {

class DtlsClient {
 public:
  explicit DtlsClient(const char* profiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") {
    auto made = DtlsCertificate::generate();
    EXPECT_TRUE(made);
    certificate_ = made.value();
    ssl_ = SSL_new(certificate_->context());
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);
    BIO_set_mem_eof_return(out_, -1);
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_tlsext_use_srtp(ssl_, profiles);
    SSL_set_connect_state(ssl_);
    SSL_set_mtu(ssl_, 1200);
  }
  ~DtlsClient() { SSL_free(ssl_); }

  const std::string& fingerprint() const { return certificate_->fingerprint(); }
  void receive(const std::vector<uint8_t>& datagram) {
    BIO_write(in_, datagram.data(), static_cast<int>(datagram.size()));
  }
  std::vector<std::vector<uint8_t>> step() {
    int rc = SSL_do_handshake(ssl_);
    done_ = rc == 1;
    std::vector<std::vector<uint8_t>> out;
    int pending = BIO_ctrl_pending(out_);
    if (pending > 0) {
      std::vector<uint8_t> datagram(static_cast<size_t>(pending));
      datagram.resize(static_cast<size_t>(BIO_read(out_, datagram.data(), pending)));
      out.push_back(std::move(datagram));
    }
    return out;
  }
  bool done() const { return done_; }
  // The close_notify alert a viewer sends when it hangs up.
  std::vector<uint8_t> closeNotify() {
    SSL_shutdown(ssl_);
    std::vector<uint8_t> datagram(static_cast<size_t>(BIO_ctrl_pending(out_)));
    datagram.resize(static_cast<size_t>(
        std::max(0, BIO_read(out_, datagram.data(), static_cast<int>(datagram.size())))));
    return datagram;
  }
  std::vector<uint8_t> material(size_t length) {
    std::vector<uint8_t> out(length);
    const char label[] = "EXTRACTOR-dtls_srtp";
    EXPECT_EQ(SSL_export_keying_material(ssl_, out.data(), out.size(), label, sizeof label - 1,
                                         nullptr, 0, 0),
              1);
    return out;
  }
  std::string peerFingerprint() {
    X509* peer = SSL_get1_peer_certificate(ssl_);
    unsigned char* der = nullptr;
    int length = i2d_X509(peer, &der);
    X509_free(peer);
    std::string out = sha256Fingerprint(der, static_cast<size_t>(length));
    OPENSSL_free(der);
    return out;
  }

 private:
  std::shared_ptr<DtlsCertificate> certificate_;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;
  BIO* out_ = nullptr;
  bool done_ = false;
};

// 16-byte key at `key` and `salt_length` bytes of salt at `salt` of the
// exported material (RFC 5764 4.2 layout).
inline std::vector<uint8_t> keyAndSalt(const std::vector<uint8_t>& material, size_t key,
                                       size_t salt, size_t salt_length) {
  std::vector<uint8_t> out(16 + salt_length);
  for (size_t i = 0; i < 16; ++i)
    out[i] = material.at(key + i);
  for (size_t i = 0; i < salt_length; ++i)
    out[16 + i] = material.at(salt + i);
  return out;
}

}  // namespace jobcast::media::egress
