#include "core/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/temp_dir.h"

namespace jobcast {
namespace {

std::string keyOf(const std::string& yaml) {
  try {
    Config::loadText(yaml).validate();
  } catch (const ConfigError& e) {
    return e.key();
  }
  return "(accepted)";
}

TEST(Config, DefaultsWithoutAFile) {
  Config c = Config::loadText("");
  EXPECT_EQ(c.listen.host, "0.0.0.0");
  EXPECT_EQ(c.listen.port, 8080);
  EXPECT_EQ(c.tls_listen.port, 8443);
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_TRUE(c.redis_address.empty());
  EXPECT_EQ(c.log_level, log::Level::Info);
  EXPECT_EQ(c.log_format, log::Format::Json);
  EXPECT_EQ(c.max_body_bytes, 1 << 20);
  EXPECT_NO_THROW(c.validate());
}

TEST(Config, SampleConfigParsesAndMatchesDefaults) {
  Config sample =
      Config::loadFile(std::string(JOBCAST_SOURCE_DIR) + "/configs/jobcast.sample.yaml");
  Config defaults;
  EXPECT_EQ(sample.listen.str(), defaults.listen.str());
  EXPECT_EQ(sample.tls_listen.str(), defaults.tls_listen.str());
  EXPECT_EQ(sample.data_dir, defaults.data_dir);
  EXPECT_EQ(sample.max_body_bytes, defaults.max_body_bytes);
  EXPECT_EQ(sample.redis_server_binary, defaults.redis_server_binary);
  EXPECT_EQ(sample.max_connections_per_ip, defaults.max_connections_per_ip);
  EXPECT_EQ(sample.header_timeout_s, defaults.header_timeout_s);
  EXPECT_EQ(sample.body_timeout_s, defaults.body_timeout_s);
  EXPECT_EQ(sample.ws_ping_s, defaults.ws_ping_s);
  EXPECT_EQ(sample.ws_timeout_s, defaults.ws_timeout_s);
  EXPECT_EQ(sample.trusted_proxies, defaults.trusted_proxies);
  EXPECT_EQ(sample.session_rate_burst, defaults.session_rate_burst);
  EXPECT_EQ(sample.media_rate_per_second, defaults.media_rate_per_second);
  EXPECT_EQ(sample.rate_max_keys, defaults.rate_max_keys);
  EXPECT_EQ(sample.jwt_max_lifetime_s, defaults.jwt_max_lifetime_s);
  EXPECT_EQ(sample.whep_engine, defaults.whep_engine);
  EXPECT_EQ(sample.effectiveWhepMaxViewers(), defaults.effectiveWhepMaxViewers());
  EXPECT_EQ(sample.whep_send_threads, defaults.whep_send_threads);
  EXPECT_EQ(sample.whep_gso, defaults.whep_gso);
}

TEST(Config, LimitsAndTrustedProxies) {
  Config c = Config::loadText(
      "server:\n  max_connections_per_ip: 0\n  trusted_proxies: [127.0.0.1, \"10.0.0.0/8\", "
      "\"::1\", \"fd00::/8\"]\nlimits:\n  session_rate_burst: 3\n");
  EXPECT_EQ(c.max_connections_per_ip, 0);
  EXPECT_EQ(c.trusted_proxies.size(), 4u);
  EXPECT_EQ(c.session_rate_burst, 3);
  EXPECT_EQ(keyOf("server:\n  trusted_proxies: [nginx]\n"), "server.trusted_proxies");
  EXPECT_EQ(keyOf("server:\n  trusted_proxies: [\"10.0.0.0/33\"]\n"), "server.trusted_proxies");
  EXPECT_EQ(keyOf("server:\n  max_connections_per_ip: -1\n"), "server.max_connections_per_ip");
  EXPECT_EQ(keyOf("server:\n  header_timeout_s: 0\n"), "server.header_timeout_s");
  EXPECT_EQ(keyOf("server:\n  body_timeout_s: x\n"), "server.body_timeout_s");
  EXPECT_EQ(keyOf("server:\n  ws_ping_s: 0\n"), "server.ws_ping_s");
  EXPECT_EQ(keyOf("server:\n  ws_ping_s: 60\n  ws_timeout_s: 60\n"), "server.ws_timeout_s");
  EXPECT_EQ(keyOf("limits:\n  session_rate_per_second: 0\n"), "limits.session_rate_per_second");
  EXPECT_EQ(keyOf("limits:\n  max_keys: 1\n"), "limits.max_keys");
  EXPECT_EQ(keyOf("auth:\n  max_token_lifetime_s: 1\n"), "auth.max_token_lifetime_s");
  EXPECT_EQ(Config::loadText("server:\n  node_urls: [\"https://node2.example.org/\"]\n").node_urls,
            std::vector<std::string>{"https://node2.example.org"});
  EXPECT_EQ(keyOf("server:\n  node_urls: [node2]\n"), "server.node_urls");
  EXPECT_EQ(keyOf("server:\n  node_urls: [\"https://node2/path\"]\n"), "server.node_urls");
}

TEST(Config, RedisClusterNodes) {
  Config c = Config::loadText("redis:\n  cluster: [\"10.0.0.1:7000\", \"node2:7001\"]\n");
  EXPECT_EQ(c.redis_cluster, (std::vector<std::string>{"10.0.0.1:7000", "node2:7001"}));
  c.validate();
  EXPECT_EQ(keyOf("redis:\n  cluster: [\"10.0.0.1:notaport\"]\n"), "redis.cluster");
  EXPECT_EQ(keyOf("redis:\n  cluster: [\"unix:/tmp/r.sock\"]\n"), "redis.cluster");
  EXPECT_EQ(keyOf("redis:\n  cluster: {a: 1}\n"), "redis.cluster");
  Config both = Config::loadText("redis:\n  address: \"r:6379\"\n  cluster: [\"r:7000\"]\n");
  try {
    both.validate();
    ADD_FAILURE() << "address and cluster together were accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "redis.cluster");
  }
}

TEST(Config, ValuesOverrideDefaults) {
  Config c = Config::loadText(R"(
server:
  listen: "127.0.0.1:9000"
  tls_listen: off
  max_body_bytes: 4096
data_dir: /var/lib/jobcast
redis:
  address: "10.0.0.5:6380"
log:
  level: debug
  format: text
)");
  EXPECT_EQ(c.listen.host, "127.0.0.1");
  EXPECT_EQ(c.listen.port, 9000);
  EXPECT_FALSE(c.tls_listen.enabled());
  EXPECT_EQ(c.max_body_bytes, 4096);
  EXPECT_EQ(c.data_dir, "/var/lib/jobcast");
  EXPECT_EQ(c.redis_address, "10.0.0.5:6380");
  EXPECT_EQ(c.log_level, log::Level::Debug);
  EXPECT_EQ(c.log_format, log::Format::Text);
}

TEST(Config, ListenForms) {
  EXPECT_EQ(Config::parseListen("k", ":81").host, "0.0.0.0");
  EXPECT_EQ(Config::parseListen("k", "[::1]:81").host, "::1");
  EXPECT_EQ(Config::parseListen("k", "[::1]:81").port, 81);
  EXPECT_EQ(Config::parseListen("k", "127.0.0.1:0").port, 0);
  EXPECT_FALSE(Config::parseListen("k", "off").enabled());
}

TEST(Config, EveryKindOfErrorNamesItsKey) {
  EXPECT_EQ(keyOf("server:\n  listen: \"0.0.0.0:70000\"\n"), "server.listen");
  EXPECT_EQ(keyOf("server:\n  listen: \"0.0.0.0:-1\"\n"), "server.listen");
  EXPECT_EQ(keyOf("server:\n  listen: \"0.0.0.0:http\"\n"), "server.listen");
  EXPECT_EQ(keyOf("server:\n  listen: 8080\n"), "server.listen");
  EXPECT_EQ(keyOf("server:\n  listen: [1, 2]\n"), "server.listen");
  EXPECT_EQ(keyOf("server:\n  max_body_bytes: lots\n"), "server.max_body_bytes");
  EXPECT_EQ(keyOf("server:\n  max_body_bytes: 10\n"), "server.max_body_bytes");
  EXPECT_EQ(keyOf("server:\n  lisen: \":80\"\n"), "server.lisen");
  EXPECT_EQ(keyOf("colour: blue\n"), "colour");
  EXPECT_EQ(keyOf("log:\n  level: loud\n"), "log.level");
  EXPECT_EQ(keyOf("log:\n  format: xml\n"), "log.format");
  EXPECT_EQ(keyOf("data_dir: \"\"\n"), "data_dir");
  EXPECT_EQ(keyOf("server:\n  tls_cert: /nonexistent/cert.pem\n  tls_key: /nonexistent/key.pem\n"),
            "server.tls_cert");
  EXPECT_EQ(keyOf("server:\n  tls_cert: /etc/hostname\n"), "server.tls_key");
  EXPECT_EQ(keyOf("crypto:\n  data_key: short\n"), "crypto.data_key");
  EXPECT_EQ(keyOf("auth:\n  jwt_secret: abc\n"), "auth.jwt_secret");
  // 16 characters were once enough; HS256 wants 32 bytes.
  EXPECT_EQ(keyOf("auth:\n  jwt_secret: 0123456789abcdef0123456789abcde\n"), "auth.jwt_secret");
  EXPECT_EQ(keyOf("auth:\n  jwt_secret: 0123456789abcdef0123456789abcdef\n"), "(accepted)");
  EXPECT_EQ(keyOf("server: [\n"), "(file)");
  EXPECT_EQ(keyOf("- a\n- b\n"), "(file)");
}

TEST(Config, WhepEngine) {
  EXPECT_EQ(Config::loadText("").whep_engine, "udp");
  EXPECT_EQ(Config::loadText("").whep_send_threads, 1);
  EXPECT_EQ(Config::loadText("whep:\n  engine: webrtcbin\n").whep_engine, "webrtcbin");
  Config c = Config::loadText(
      "whep:\n  engine: udp\n  udp_port: 40000\n  public_address: \"192.0.2.7\"\n"
      "  send_threads: 4\n  gso: false\n");
  EXPECT_EQ(c.whep_engine, "udp");
  EXPECT_EQ(c.whep_udp_port, 40000);
  EXPECT_EQ(c.whep_public_address, "192.0.2.7");
  EXPECT_EQ(c.whep_send_threads, 4);
  EXPECT_FALSE(c.whep_gso);
  EXPECT_TRUE(Config::loadText("").whep_gso);
  EXPECT_EQ(keyOf("whep:\n  gso: sometimes\n"), "whep.gso");
  // The viewer cap follows the engine unless set.
  EXPECT_EQ(Config::loadText("").effectiveWhepMaxViewers(), 500);
  EXPECT_EQ(Config::loadText("whep:\n  engine: webrtcbin\n").effectiveWhepMaxViewers(), 50);
  EXPECT_EQ(Config::loadText("whep:\n  max_viewers: 7\n").effectiveWhepMaxViewers(), 7);
  EXPECT_EQ(keyOf("whep:\n  send_threads: 0\n"), "whep.send_threads");
  EXPECT_EQ(keyOf("whep:\n  engine: quic\n"), "whep.engine");
  EXPECT_EQ(keyOf("whep:\n  udp_port: 70000\n"), "whep.udp_port");
}

TEST(Config, NodeAddressForOtherNodes) {
  Config c = Config::loadText(
      "server:\n  public_url: \"https://node1.example.org/\"\n  node_id: node-1\n"
      "media:\n  owner_lease_ms: 4000\n");
  EXPECT_EQ(c.public_url, "https://node1.example.org");  // no trailing slash: paths follow
  EXPECT_EQ(c.node_id, "node-1");
  EXPECT_EQ(c.media_owner_lease_ms, 4000);
  EXPECT_EQ(Config().media_owner_lease_ms, 10000);
  EXPECT_EQ(keyOf("server:\n  public_url: node1.example.org\n"), "server.public_url");
  EXPECT_EQ(keyOf("server:\n  public_url: \"https://\"\n"), "server.public_url");
  EXPECT_EQ(keyOf("server:\n  public_url: \"http://a b\"\n"), "server.public_url");
  EXPECT_EQ(keyOf("server:\n  node_id: \"node 1\"\n"), "server.node_id");
  EXPECT_EQ(keyOf("media:\n  owner_lease_ms: 10\n"), "media.owner_lease_ms");
}

TEST(Config, DrainTimeout) {
  EXPECT_EQ(Config().drain_timeout_ms, 10000);
  EXPECT_EQ(Config::loadText("server:\n  drain_timeout_ms: 2500\n").drain_timeout_ms, 2500);
  EXPECT_EQ(Config::loadText("server:\n  drain_timeout_ms: 0\n").drain_timeout_ms, 0);
  EXPECT_EQ(keyOf("server:\n  drain_timeout_ms: -1\n"), "server.drain_timeout_ms");
  EXPECT_EQ(keyOf("server:\n  drain_timeout_ms: soon\n"), "server.drain_timeout_ms");
}

TEST(Config, UnreadableFileIsAnError) {
  EXPECT_THROW(Config::loadFile("/nonexistent/jobcast.yaml"), ConfigError);
}

TEST(Config, EnvironmentSuppliesSecrets) {
  setenv("JOBCAST_JWT_SECRET", "from-the-environment-123", 1);
  setenv("JOBCAST_REDIS", "unix:/run/redis.sock", 1);
  Config c = Config::loadText("auth:\n  jwt_secret: from-the-file-123456\n");
  c.applyEnvironment();
  EXPECT_EQ(c.jwt_secret, "from-the-environment-123");
  EXPECT_EQ(c.redis_address, "unix:/run/redis.sock");
  unsetenv("JOBCAST_JWT_SECRET");
  unsetenv("JOBCAST_REDIS");
}

}  // namespace
}  // namespace jobcast
