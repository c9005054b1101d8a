#pragma once
// DTLS-SRTP (RFC 5764) for the egress engine: one ECDSA P-256 certificate per
// node, whose SHA-256 fingerprint goes into every SDP answer, and one DTLS
// server per viewer on OpenSSL memory BIOs: the engine hands it datagrams and
// sends what it writes; no socket belongs to OpenSSL. Once the handshake is
// done and the viewer's certificate matches the fingerprint of its offer, the
// SRTP keys come from SSL_export_keying_material("EXTRACTOR-dtls_srtp").
// Then the OpenSSL session is freed (it is most of a viewer's memory): what
// is left is the keys and a copy of our final flight, resent if the viewer
// repeats its own (our flight was lost); an alert from the viewer
// (close_notify or fatal) ends the session, read from the record header.
// A transport is used by one thread at a time (the engine's).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/egress/srtp.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace jobcast::media::egress {

class DtlsCertificate {
 public:
  // A fresh self-signed certificate (ECDSA P-256, SHA-256 signature).
  static Result<std::shared_ptr<DtlsCertificate>> generate();
  ~DtlsCertificate();
  DtlsCertificate(const DtlsCertificate&) = delete;
  DtlsCertificate& operator=(const DtlsCertificate&) = delete;

  // "AB:CD:..." (SHA-256), as a=fingerprint:sha-256 states it.
  const std::string& fingerprint() const { return fingerprint_; }
  SSL_CTX* context() const { return context_; }

 private:
  DtlsCertificate() = default;
  SSL_CTX* context_ = nullptr;  // DTLS server context with this certificate
  std::string fingerprint_;
};

// The SHA-256 fingerprint of a certificate in DER form, "AB:CD:...".
std::string sha256Fingerprint(const uint8_t* der, size_t size);

struct SrtpKeys {
  SrtpProfile profile = SrtpProfile::AeadAes128Gcm;
  std::vector<uint8_t> local;   // our write key + salt (server side)
  std::vector<uint8_t> remote;  // the viewer's write key + salt
};

// The SRTP profile a finished DTLS handshake chose and its keys (RFC 5764
// 4.2), seen from the server's side (`local` is the server's write key and
// salt) or the client's. Errors ("dtls_failed"): no profile in common, one
// we do not know, or the export failing.
Result<SrtpKeys> exportSrtpKeys(SSL* ssl, bool server);

class DtlsTransport {
 public:
  enum class State { Handshaking, Connected, Failed };

  // The server side of one viewer's DTLS. `remote_fingerprint`: the SHA-256
  // fingerprint of the viewer's offer ("AB:CD:...", any case).
  static Result<std::unique_ptr<DtlsTransport>> server(std::shared_ptr<DtlsCertificate> certificate,
                                                       std::string remote_fingerprint);
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  // A DTLS datagram from the viewer (first byte 20-63).
  void receive(const uint8_t* data, size_t size);
  // Datagrams OpenSSL wrote since the last call (one flight each).
  std::vector<std::vector<uint8_t>> takeOutgoing();
  // Retransmits a lost flight when its timer has run out.
  void handleTimeout();
  // How long until handleTimeout() is due, while a flight is outstanding.
  std::optional<std::chrono::milliseconds> timeout() const;

  State state() const { return state_; }
  const std::string& failure() const { return failure_; }
  // Set once Connected.
  const SrtpKeys& keys() const { return keys_; }

 private:
  DtlsTransport() = default;
  void advance();
  void fail(std::string reason);
  bool finish();

  std::shared_ptr<DtlsCertificate> certificate_;
  std::string remote_fingerprint_;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
  State state_ = State::Handshaking;
  std::string failure_;
  SrtpKeys keys_;
  std::vector<std::vector<uint8_t>> outgoing_;
  // Our last flight (ChangeCipherSpec + Finished), kept once ssl_ is freed.
  std::vector<uint8_t> final_flight_;
};

}  // namespace jobcast::media::egress
