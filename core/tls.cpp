#include "core/tls.h"

#include "core/secrets.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

namespace jobcast::tls {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

}  // namespace

// Forward secrecy (ECDHE) and authenticated encryption (GCM, ChaCha20-Poly1305)
// only: no CBC, no SHA-1 MACs, no RSA key exchange.
const char* const kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
const char* const kTls13Ciphers =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

Result<CertPaths> ensureSelfSigned(const std::string& dir, const std::string& hostname) {
  namespace fs = std::filesystem;
  CertPaths paths{dir + "/tls/self-signed.crt", dir + "/tls/self-signed.key"};
  std::error_code ec;
  if (fs::exists(paths.cert, ec) && fs::exists(paths.key, ec))
    return paths;
  if (auto made = makePrivateDirectory(dir + "/tls"); !made)
    return Error{"tls", made.error().message};

  PKeyPtr key(EVP_EC_gen("P-256"));
  if (!key)
    return Error{"tls", "cannot generate a key"};
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  FILE* urandom = std::fopen("/dev/urandom", "rb");
  if (!urandom || std::fread(serial, 1, sizeof serial, urandom) != sizeof serial) {
    if (urandom)
      std::fclose(urandom);
    return Error{"tls", "cannot read /dev/urandom"};
  }
  std::fclose(urandom);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Jobcast"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san = "DNS:localhost,IP:127.0.0.1,IP:::1";
  if (!hostname.empty() && hostname != "localhost")
    san += ",DNS:" + hostname;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str()));
  if (!ext || !X509_add_ext(cert.get(), ext.get(), -1))
    return Error{"tls", "cannot add SAN"};
  if (!X509_sign(cert.get(), key.get(), EVP_sha256()))
    return Error{"tls", "cannot sign"};

  std::string key_tmp = paths.key + ".tmp";
  std::string cert_tmp = paths.cert + ".tmp";
  {
    // The key is 0600 from its creation: never readable by others, even briefly.
    ::unlink(key_tmp.c_str());
    int fd = ::open(key_tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    std::unique_ptr<FILE, FileCloser> f(fd >= 0 ? ::fdopen(fd, "wb") : nullptr);
    if (!f) {
      if (fd >= 0)
        ::close(fd);
      return Error{"tls", "cannot write " + key_tmp};
    }
    if (!PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)) {
      return Error{"tls", "cannot write the key"};
    }
  }
  {
    std::unique_ptr<FILE, FileCloser> f(std::fopen(cert_tmp.c_str(), "wb"));
    if (!f || !PEM_write_X509(f.get(), cert.get()))
      return Error{"tls", "cannot write the cert"};
  }
  fs::rename(key_tmp, paths.key, ec);
  if (!ec)
    fs::rename(cert_tmp, paths.cert, ec);
  if (ec)
    return Error{"tls", "cannot store the certificate: " + ec.message()};
  return paths;
}

}  // namespace jobcast::tls
