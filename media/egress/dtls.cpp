#include "media/egress/dtls.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cctype>
#include <cstdio>

namespace jobcast::media::egress {
namespace {

// Lists both profiles in our order; OpenSSL's server picks its own first
// choice among those the client offers.
constexpr char kSrtpProfiles[] = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
constexpr long kMtu = 1200;
constexpr char kExporterLabel[] = "EXTRACTOR-dtls_srtp";
// DTLS record content types (RFC 6347 4.1).
constexpr uint8_t kContentChangeCipherSpec = 20;
constexpr uint8_t kContentAlert = 21;
constexpr uint8_t kContentHandshake = 22;

std::string upperHex(std::string text) {
  for (auto& c : text)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string opensslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (!code)
    return "no OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// The viewer's certificate is self-signed: what vouches for it is the
// fingerprint of its offer, checked once the handshake is done.
int acceptAnyCertificate(int, X509_STORE_CTX*) {
  return 1;
}

}  // namespace

std::string sha256Fingerprint(const uint8_t* der, size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(der, size, digest, &length, EVP_sha256(), nullptr);
  std::string out;
  char byte[4];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof byte, i ? ":%02X" : "%02X", digest[i]);
    out += byte;
  }
  return out;
}

Result<std::shared_ptr<DtlsCertificate>> DtlsCertificate::generate() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (!key || !cert)
    return Error{"dtls_failed", "cannot make a P-256 key: " + opensslError()};
  X509_set_version(cert.get(), 2);
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial >> 1);
  // Browsers ignore validity for WebRTC certificates; a day back covers clock skew.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("jobcast"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  if (!X509_sign(cert.get(), key.get(), EVP_sha256()))
    return Error{"dtls_failed", "cannot sign the certificate: " + opensslError()};

  std::shared_ptr<DtlsCertificate> out(new DtlsCertificate());
  out->context_ = SSL_CTX_new(DTLS_method());
  SSL_CTX* ctx = out->context_;
  if (!ctx || SSL_CTX_use_certificate(ctx, cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return Error{"dtls_failed", "cannot load the certificate: " + opensslError()};
  }
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, acceptAnyCertificate);
  // SSL_CTX_set_tlsext_use_srtp returns 0 on success.
  if (SSL_CTX_set_tlsext_use_srtp(ctx, kSrtpProfiles) != 0)
    return Error{"dtls_failed", "OpenSSL lacks the SRTP profiles: " + opensslError()};
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU);
  SSL_CTX_set_read_ahead(ctx, 1);

  unsigned char* der = nullptr;
  int der_length = i2d_X509(cert.get(), &der);
  if (der_length <= 0)
    return Error{"dtls_failed", "cannot encode the certificate"};
  out->fingerprint_ = sha256Fingerprint(der, static_cast<size_t>(der_length));
  OPENSSL_free(der);
  return out;
}

DtlsCertificate::~DtlsCertificate() {
  if (context_)
    SSL_CTX_free(context_);
}

Result<std::unique_ptr<DtlsTransport>> DtlsTransport::server(
    std::shared_ptr<DtlsCertificate> certificate, std::string remote_fingerprint) {
  std::unique_ptr<DtlsTransport> t(new DtlsTransport());
  t->certificate_ = std::move(certificate);
  t->remote_fingerprint_ = upperHex(std::move(remote_fingerprint));
  t->ssl_ = SSL_new(t->certificate_->context());
  t->in_ = BIO_new(BIO_s_mem());
  t->out_ = BIO_new(BIO_s_mem());
  if (!t->ssl_ || !t->in_ || !t->out_) {
    BIO_free(t->in_);
    BIO_free(t->out_);
    t->in_ = t->out_ = nullptr;
    return Error{"dtls_failed", "cannot make a DTLS session: " + opensslError()};
  }
  // An empty read is "try again", not end of file.
  BIO_set_mem_eof_return(t->in_, -1);
  BIO_set_mem_eof_return(t->out_, -1);
  SSL_set_bio(t->ssl_, t->in_, t->out_);
  SSL_set_accept_state(t->ssl_);
  SSL_set_mtu(t->ssl_, kMtu);
  DTLS_set_link_mtu(t->ssl_, kMtu);
  return t;
}

DtlsTransport::~DtlsTransport() {
  if (ssl_)
    SSL_free(ssl_);  // frees both BIOs
}

void DtlsTransport::receive(const uint8_t* data, size_t size) {
  if (state_ == State::Failed || size == 0)
    return;
  if (state_ == State::Connected) {
    // The session is gone; the record's content type (RFC 6347 4.1) says
    // enough. No data channels, so application data is not expected.
    switch (data[0]) {
      case kContentAlert:
        fail("closed by the viewer");
        break;
      case kContentChangeCipherSpec:
      case kContentHandshake:
        // The viewer repeats its final flight: ours did not arrive.
        if (!final_flight_.empty())
          outgoing_.push_back(final_flight_);
        break;
      default:
        break;
    }
    return;
  }
  BIO_write(in_, data, static_cast<int>(size));
  advance();
}

void DtlsTransport::advance() {
  bool done = false;
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    done = finish();
  } else {
    int error = SSL_get_error(ssl_, rc);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE)
      fail("handshake: " + opensslError());
  }
  // Whatever OpenSSL wrote is one flight: send it as one datagram.
  int pending = BIO_ctrl_pending(out_);
  if (pending > 0) {
    std::vector<uint8_t> datagram(static_cast<size_t>(pending));
    int read = BIO_read(out_, datagram.data(), pending);
    if (read > 0) {
      datagram.resize(static_cast<size_t>(read));
      if (done)
        final_flight_ = datagram;
      outgoing_.push_back(std::move(datagram));
    }
  }
  if (done) {
    // Keys exported: the OpenSSL session (tens of KB with its buffers,
    // handshake state and the viewer's certificate) is no longer needed.
    SSL_free(ssl_);  // frees both BIOs
    ssl_ = nullptr;
    in_ = out_ = nullptr;
    remote_fingerprint_.clear();
    remote_fingerprint_.shrink_to_fit();
    state_ = State::Connected;
  }
}

bool DtlsTransport::finish() {
  X509* peer = SSL_get1_peer_certificate(ssl_);
  if (!peer) {
    fail("the viewer sent no certificate");
    return false;
  }
  unsigned char* der = nullptr;
  int der_length = i2d_X509(peer, &der);
  X509_free(peer);
  std::string seen = der_length > 0 ? sha256Fingerprint(der, static_cast<size_t>(der_length)) : "";
  OPENSSL_free(der);
  if (seen != remote_fingerprint_) {
    fail("the viewer's certificate does not match the fingerprint of its offer");
    return false;
  }
  auto keys = exportSrtpKeys(ssl_, true);
  if (!keys) {
    fail(keys.error().message);
    return false;
  }
  keys_ = std::move(keys).value();
  return true;
}

Result<SrtpKeys> exportSrtpKeys(SSL* ssl, bool server) {
  SrtpKeys keys;
  SRTP_PROTECTION_PROFILE* chosen = SSL_get_selected_srtp_profile(ssl);
  if (!chosen)
    return Error{"dtls_failed", "no SRTP profile in common"};
  if (chosen->id == SRTP_AEAD_AES_128_GCM)
    keys.profile = SrtpProfile::AeadAes128Gcm;
  else if (chosen->id == SRTP_AES128_CM_SHA1_80)
    keys.profile = SrtpProfile::AesCm128HmacSha1_80;
  else
    return Error{"dtls_failed", "unexpected SRTP profile"};
  const size_t key_length = 16;
  const size_t salt_length = keySaltLength(keys.profile) - key_length;
  std::vector<uint8_t> material(2 * (key_length + salt_length));
  if (SSL_export_keying_material(ssl, material.data(), material.size(), kExporterLabel,
                                 sizeof kExporterLabel - 1, nullptr, 0, 0) != 1)
    return Error{"dtls_failed", "cannot export the SRTP keys: " + opensslError()};
  // RFC 5764 section 4.2: client key, server key, client salt, server salt.
  const uint8_t* client_key = material.data();
  const uint8_t* server_key = client_key + key_length;
  const uint8_t* client_salt = server_key + key_length;
  const uint8_t* server_salt = client_salt + salt_length;
  std::vector<uint8_t>& server_side = server ? keys.local : keys.remote;
  std::vector<uint8_t>& client_side = server ? keys.remote : keys.local;
  server_side.assign(server_key, server_key + key_length);
  server_side.insert(server_side.end(), server_salt, server_salt + salt_length);
  client_side.assign(client_key, client_key + key_length);
  client_side.insert(client_side.end(), client_salt, client_salt + salt_length);
  return keys;
}

void DtlsTransport::fail(std::string reason) {
  state_ = State::Failed;
  failure_ = std::move(reason);
}

std::vector<std::vector<uint8_t>> DtlsTransport::takeOutgoing() {
  return std::move(outgoing_);
}

void DtlsTransport::handleTimeout() {
  if (state_ != State::Handshaking || !ssl_)
    return;
  if (DTLSv1_handle_timeout(ssl_) < 0)
    fail("handshake timed out");
  else
    advance();
}

std::optional<std::chrono::milliseconds> DtlsTransport::timeout() const {
  timeval tv{};
  if (state_ != State::Handshaking || !ssl_ || DTLSv1_get_timeout(ssl_, &tv) != 1)
    return std::nullopt;
  return std::chrono::milliseconds(tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

}  // namespace jobcast::media::egress
