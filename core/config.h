#pragma once
// The typed configuration: every key has a default here, is parsed and validated
// once at start (config.cpp holds the table of keys), and is documented in
// configs/jobcast.sample.yaml.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/log.h"

namespace jobcast {

struct ListenAddress {
  std::string host = "0.0.0.0";
  int port = 8080;  // 0 picks a free port
  bool enabled() const { return port >= 0; }
  std::string str() const;
};

// A bad configuration value; `key` is the dotted key name (e.g. "server.listen").
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string key, const std::string& message)
      : std::runtime_error(key + ": " + message), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

struct Config {
  // server
  ListenAddress listen{"0.0.0.0", 8080};
  ListenAddress tls_listen{"0.0.0.0", 8443};  // port -1 disables HTTPS
  std::string tls_cert;                       // empty: self-signed in data_dir
  std::string tls_key;
  std::string public_url;
  int64_t max_body_bytes = 1 << 20;
  std::string static_dir;  // empty: web-client/ beside the binary's source tree

  std::string data_dir = "./data";

  // redis
  std::string redis_address;  // empty: start a private redis-server child
  std::string redis_server_binary = "redis-server";

  // log
  log::Level log_level = log::Level::Info;
  log::Format log_format = log::Format::Json;

  // whep
  int whep_max_viewers = 50;       // WHEP viewers per node; more get 503 + the HLS address
  std::string whep_ice_addresses;  // comma-separated local IPs for ICE; empty: all interfaces

  // auth and personal data (secrets: prefer the environment)
  std::string jwt_secret;  // JOBCAST_JWT_SECRET
  std::string data_key;    // JOBCAST_DATA_KEY, 64 hex chars (AES-256)

  // limits: REST requests per user (with a token) or per client address
  int64_t api_rate_per_second = 20;
  int64_t api_rate_burst = 60;

  // Parses a YAML file over the defaults. Throws ConfigError naming the key.
  static Config loadFile(const std::string& path);
  // Parses YAML text over the defaults. Throws ConfigError naming the key.
  static Config loadText(const std::string& yaml);
  // Secrets and the Redis address from JOBCAST_* environment variables.
  void applyEnvironment();
  // Cross-key checks (files readable, cert and key together). Throws ConfigError.
  void validate() const;

  // Parses "HOST:PORT", ":PORT", "[v6]:PORT" or "off". Throws ConfigError on `key`.
  static ListenAddress parseListen(const std::string& key, const std::string& value);
};

}  // namespace jobcast
