// A real jobcastd's outward face: response headers, the TLS it accepts, and the
// modes of what it writes to its data directory.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

namespace jobcast::test {
namespace {

TEST(Hardening, PagesCarryAPolicyAndOnlyMediaRoutesAllowOtherOrigins) {
  RedisServer redis;
  Jobcastd node({.redis = redis.address(), .tls = true});
  ASSERT_NO_FATAL_FAILURE(node.start());

  auto page = httpGet(node.url("/"));
  ASSERT_EQ(page.status, 200);
  std::string csp = page.header("content-security-policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(page.header("x-content-type-options"), "nosniff");
  EXPECT_FALSE(page.header("referrer-policy").empty());
  EXPECT_EQ(page.header("strict-transport-security"), "");  // plain HTTP
  EXPECT_EQ(page.header("access-control-allow-origin"), "");

  auto api = httpGet(node.url("/api/v1/rooms"));
  EXPECT_EQ(api.header("access-control-allow-origin"), "");
  EXPECT_EQ(api.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(httpGet(node.url("/healthz")).header("access-control-allow-origin"), "");

  EXPECT_EQ(httpGet(node.url("/hls/r1/master.m3u8")).header("access-control-allow-origin"), "*");
  HttpRequest whep;
  whep.method = "OPTIONS";
  whep.url = node.url("/whep/r1");
  EXPECT_EQ(http(whep).header("access-control-allow-origin"), "*");

  auto secure = httpGet(node.httpsUrl("/healthz"));
  ASSERT_EQ(secure.status, 200);
  EXPECT_NE(secure.header("strict-transport-security").find("max-age="), std::string::npos);
}

// The pages' Mongolian font comes from the system's font folder (Debian's
// fonts-noto-core), cached for a year; a missing font is a clear 404, and no
// other file of that folder is served.
TEST(Hardening, FontsComeFromTheSystemFolderWithLongCaching) {
  RedisServer redis;
  TempDir dir{"fonts-test"};
  std::filesystem::create_directories(dir.path() + "/fonts");
  std::ofstream(dir.path() + "/fonts/NotoSansMongolian-Regular.ttf") << "font bytes";
  std::ofstream(dir.path() + "/fonts/Other.ttf") << "other";
  std::ofstream(dir.path() + "/with.yaml") << "server:\n  fonts_dir: " << dir.path() << "/fonts\n";
  std::ofstream(dir.path() + "/without.yaml")
      << "server:\n  fonts_dir: " << dir.path() << "/none\n";

  Jobcastd node({.args = {"--config", dir.path() + "/with.yaml"}, .redis = redis.address()});
  ASSERT_NO_FATAL_FAILURE(node.start());
  auto font = httpGet(node.url("/fonts/NotoSansMongolian-Regular.ttf"));
  ASSERT_EQ(font.status, 200) << font.body;
  EXPECT_EQ(font.body, "font bytes");
  EXPECT_EQ(font.header("content-type"), "font/ttf");
  EXPECT_NE(font.header("cache-control").find("max-age=31536000"), std::string::npos);
  auto other = httpGet(node.url("/fonts/Other.ttf"));
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(other.json()["error"]["code"], "not_found");
  EXPECT_EQ(httpGet(node.url("/fonts/..%2Fwith.yaml")).status, 404);

  Jobcastd bare({.args = {"--config", dir.path() + "/without.yaml"}, .redis = redis.address()});
  ASSERT_NO_FATAL_FAILURE(bare.start());
  auto missing = httpGet(bare.url("/fonts/NotoSansMongolian-Regular.ttf"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json()["error"]["code"], "not_found");
  EXPECT_NE(missing.json()["error"]["message"].get<std::string>().find("fonts-noto-core"),
            std::string::npos)
      << missing.body;
}

// Whether a TLS handshake with `ciphers` (TLS 1.2) or `version` succeeds.
bool handshake(int port, int version, const char* ciphers) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(ctx, 0);  // let the client offer what old clients do
  SSL_CTX_set_min_proto_version(ctx, version);
  SSL_CTX_set_max_proto_version(ctx, version);
  if (ciphers)
    SSL_CTX_set_cipher_list(ctx, ciphers);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    ok = SSL_connect(ssl) == 1;
    SSL_free(ssl);
  }
  ::close(fd);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

TEST(Hardening, TlsOffersOnlyForwardSecretAeadCiphers) {
  RedisServer redis;
  Jobcastd node({.redis = redis.address(), .tls = true});
  ASSERT_NO_FATAL_FAILURE(node.start());
  int port = node.httpsPort();
  EXPECT_TRUE(handshake(port, TLS1_3_VERSION, nullptr));
  EXPECT_TRUE(handshake(port, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"));
  EXPECT_FALSE(handshake(port, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA"));     // CBC, SHA-1
  EXPECT_FALSE(handshake(port, TLS1_2_VERSION, "ECDHE-ECDSA-AES256-SHA384"));  // CBC
  EXPECT_FALSE(handshake(port, TLS1_1_VERSION, nullptr));
}

TEST(Hardening, DataDirectoryAndEverythingInItArePrivate) {
  // The embedded redis-server (AOF), generated secrets and the self-signed key.
  Jobcastd node({.env = {{"JOBCAST_JWT_SECRET", ""}, {"JOBCAST_DATA_KEY", ""}}, .tls = true});
  ASSERT_NO_FATAL_FAILURE(node.start());
  namespace fs = std::filesystem;
  int files = 0;
  auto check = [&](const fs::path& p) {
    struct stat st {};
    ASSERT_EQ(::lstat(p.c_str(), &st), 0) << p;
    unsigned mode = st.st_mode & 0777;
    if (S_ISDIR(st.st_mode)) {
      EXPECT_EQ(mode, 0700u) << p;
    } else {
      ++files;
      EXPECT_EQ(mode & 077u, 0u) << p << " is mode " << std::oct << mode;
    }
  };
  check(node.dataDir());
  for (const auto& entry : fs::recursive_directory_iterator(node.dataDir()))
    check(entry.path());
  // What the node wrote: secrets, TLS key and certificate, Redis' log and AOF.
  EXPECT_TRUE(fs::exists(node.dataDir() + "/secrets/jwt-secret"));
  EXPECT_TRUE(fs::exists(node.dataDir() + "/tls/self-signed.key"));
  EXPECT_TRUE(fs::exists(node.dataDir() + "/redis/appendonlydir"));
  EXPECT_GE(files, 5);
}

}  // namespace
}  // namespace jobcast::test
