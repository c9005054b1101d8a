#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include "core/address_set.h"
#include "core/redis.h"

#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace jobcast {
namespace {

std::string scalar(const std::string& key, const YAML::Node& node) {
  if (!node.IsScalar())
    throw ConfigError(key, "expected a single value");
  return node.Scalar();
}

int64_t integer(const std::string& key, const YAML::Node& node, int64_t min, int64_t max) {
  std::string text = scalar(key, node);
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) {
    throw ConfigError(key, "expected an integer, got '" + text + "'");
  }
  if (value < min || value > max) {
    throw ConfigError(key, "value " + text + " out of range (" + std::to_string(min) + "-" +
                               std::to_string(max) + ")");
  }
  return value;
}

bool boolean(const std::string& key, const YAML::Node& node) {
  std::string text = scalar(key, node);
  if (text == "true" || text == "yes" || text == "on")
    return true;
  if (text == "false" || text == "no" || text == "off")
    return false;
  throw ConfigError(key, "expected true or false, got '" + text + "'");
}

std::vector<std::string> stringList(const std::string& key, const YAML::Node& node) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    if (!node.Scalar().empty())
      out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence())
    throw ConfigError(key, "expected a list");
  for (const auto& item : node)
    out.push_back(scalar(key, item));
  return out;
}

using Setter = std::function<void(Config&, const std::string& key, const YAML::Node&)>;

Setter liveInt(int64_t Config::*field, int64_t min, int64_t max) {
  return [field, min, max](Config& c, const std::string& k, const YAML::Node& n) {
    c.*field = integer(k, n, min, max);
  };
}

// Every key the file may hold. Adding a key: a field in Config with its default, a
// row here, and a documented line in configs/jobcast.sample.yaml.
const std::map<std::string, Setter>& keyTable() {
  static const std::map<std::string, Setter> table = {
      {"server.listen",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.listen = Config::parseListen(k, scalar(k, n));
       }},
      {"server.tls_listen",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.tls_listen = Config::parseListen(k, scalar(k, n));
       }},
      {"server.tls_cert",
       [](Config& c, const std::string& k, const YAML::Node& n) { c.tls_cert = scalar(k, n); }},
      {"server.tls_key",
       [](Config& c, const std::string& k, const YAML::Node& n) { c.tls_key = scalar(k, n); }},
      {"server.public_url",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         std::string url = scalar(k, n);
         while (!url.empty() && url.back() == '/')
           url.pop_back();
         bool scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
         std::string rest = scheme ? url.substr(url.find("//") + 2) : "";
         if (!url.empty() && (!scheme || rest.empty() || rest[0] == '/' ||
                              url.find_first_of(" ?#") != std::string::npos))
           throw ConfigError(k, "expected http(s)://HOST[:PORT][/PATH], got '" + url + "'");
         c.public_url = url;
       }},
      {"server.node_id",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         std::string id = scalar(k, n);
         if (id.size() > 64 ||
             id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789-_.") != std::string::npos)
           throw ConfigError(k, "expected up to 64 letters, digits, '-', '_' or '.'");
         c.node_id = id;
       }},
      {"server.max_body_bytes",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.max_body_bytes = integer(k, n, 1024, int64_t{1} << 30);
       }},
      {"server.max_connections_per_ip",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.max_connections_per_ip = integer(k, n, 0, 1000000);
       }},
      {"server.front_threads",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.front_threads = integer(k, n, 1, 16);
       }},
      {"server.header_timeout_s",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.header_timeout_s = integer(k, n, 1, 600);
       }},
      {"server.body_timeout_s",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.body_timeout_s = integer(k, n, 1, 3600);
       }},
      {"server.ws_ping_s",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.ws_ping_s = integer(k, n, 1, 3600);
       }},
      {"server.ws_timeout_s",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.ws_timeout_s = integer(k, n, 2, 7200);
       }},
      {"server.drain_timeout_ms",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.drain_timeout_ms = integer(k, n, 0, 600000);
       }},
      {"server.trusted_proxies",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.trusted_proxies = stringList(k, n);
         for (const auto& p : c.trusted_proxies) {
           if (!AddressSet::parse({p}))
             throw ConfigError(k, "expected an IP address or CIDR, got '" + p + "'");
         }
       }},
      {"server.node_urls",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.node_urls = stringList(k, n);
         for (auto& url : c.node_urls) {
           while (!url.empty() && url.back() == '/')
             url.pop_back();
           bool scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
           std::string rest = scheme ? url.substr(url.find("//") + 2) : "";
           if (rest.empty() || rest.find_first_of("/?# @") != std::string::npos)
             throw ConfigError(k, "expected http(s)://HOST[:PORT], got '" + url + "'");
         }
       }},
      {"server.static_dir",
       [](Config& c, const std::string& k, const YAML::Node& n) { c.static_dir = scalar(k, n); }},
      {"server.fonts_dir",
       [](Config& c, const std::string& k, const YAML::Node& n) { c.fonts_dir = scalar(k, n); }},
      {"data_dir",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.data_dir = scalar(k, n);
         if (c.data_dir.empty())
           throw ConfigError(k, "must not be empty");
       }},
      {"redis.address", [](Config& c, const std::string& k,
                           const YAML::Node& n) { c.redis_address = scalar(k, n); }},
      {"redis.cluster",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.redis_cluster = stringList(k, n);
         for (const auto& node : c.redis_cluster) {
           auto a = RedisAddress::parse(node);
           if (!a || !a->unix_path.empty())
             throw ConfigError(k, "expected a list of HOST:PORT, got '" + node + "'");
         }
       }},
      {"redis.server_binary", [](Config& c, const std::string& k,
                                 const YAML::Node& n) { c.redis_server_binary = scalar(k, n); }},
      {"redis.events_maxlen", liveInt(&Config::redis_events_maxlen, 100, 100000000)},
      {"webhooks.max_attempts", liveInt(&Config::webhooks_max_attempts, 1, 100)},
      {"webhooks.backoff_ms", liveInt(&Config::webhooks_backoff_ms, 10, 3600000)},
      {"webhooks.backoff_max_ms", liveInt(&Config::webhooks_backoff_max_ms, 10, 86400000)},
      {"webhooks.timeout_ms", liveInt(&Config::webhooks_timeout_ms, 100, 600000)},
      {"webhooks.claim_idle_ms", liveInt(&Config::webhooks_claim_idle_ms, 1000, 86400000)},
      {"webhooks.sweep_ms", liveInt(&Config::webhooks_sweep_ms, 10, 600000)},
      {"reminders.lead_s", liveInt(&Config::reminders_lead_s, 0, 7 * 86400)},
      {"reminders.sweep_ms", liveInt(&Config::reminders_sweep_ms, 10, 600000)},
      {"log.level",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         auto level = log::parseLevel(scalar(k, n));
         if (!level)
           throw ConfigError(k, "expected one of debug, info, warn, error");
         c.log_level = *level;
       }},
      {"log.format",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         auto format = log::parseFormat(scalar(k, n));
         if (!format)
           throw ConfigError(k, "expected json or text");
         c.log_format = *format;
       }},
      {"whep.max_viewers",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.whep_max_viewers = static_cast<int>(integer(k, n, 0, 100000));
       }},
      {"whep.ice_addresses", [](Config& c, const std::string& k,
                                const YAML::Node& n) { c.whep_ice_addresses = scalar(k, n); }},
      {"whep.engine",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.whep_engine = scalar(k, n);
         if (c.whep_engine != "webrtcbin" && c.whep_engine != "udp")
           throw ConfigError(k, "expected webrtcbin or udp");
       }},
      {"whep.udp_port",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.whep_udp_port = static_cast<int>(integer(k, n, 0, 65535));
       }},
      {"whep.public_address", [](Config& c, const std::string& k,
                                 const YAML::Node& n) { c.whep_public_address = scalar(k, n); }},
      {"whep.send_threads",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.whep_send_threads = static_cast<int>(integer(k, n, 1, 64));
       }},
      {"whep.gso", [](Config& c, const std::string& k,
                      const YAML::Node& n) { c.whep_gso = boolean(k, n); }},
      {"auth.jwt_secret",
       [](Config& c, const std::string& k, const YAML::Node& n) { c.jwt_secret = scalar(k, n); }},
      {"auth.max_token_lifetime_s", liveInt(&Config::jwt_max_lifetime_s, 60, 366 * 24 * 3600)},
      {"live.blocked_words",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         if (!n.IsSequence())
           throw ConfigError(k, "expected a list of words");
         c.live_blocked_words.clear();
         for (const auto& w : n)
           c.live_blocked_words.push_back(scalar(k, w));
       }},
      {"live.chat_max_chars", liveInt(&Config::live_chat_max_chars, 1, 10000)},
      {"live.chat_rate_count", liveInt(&Config::live_chat_rate_count, 1, 10000)},
      {"live.chat_rate_window_ms", liveInt(&Config::live_chat_rate_window_ms, 100, 3600000)},
      {"live.max_frame_bytes", liveInt(&Config::live_max_frame_bytes, 512, 1 << 20)},
      {"live.send_queue_frames", liveInt(&Config::live_send_queue_frames, 8, 1 << 20)},
      {"live.send_queue_bytes", liveInt(&Config::live_send_queue_bytes, 4096, int64_t{1} << 30)},
      {"live.slow_grace_ms", liveInt(&Config::live_slow_grace_ms, 0, 60000)},
      {"live.hello_timeout_s", liveInt(&Config::live_hello_timeout_s, 1, 600)},
      {"live.abuse_limit", liveInt(&Config::live_abuse_limit, 1, 100000)},
      {"live.frames_per_s", liveInt(&Config::live_frames_per_s, 1, 100000)},
      {"live.heartbeat_ms", liveInt(&Config::live_heartbeat_ms, 100, 60000)},
      {"live.viewer_ttl_ms", liveInt(&Config::live_viewer_ttl_ms, 300, 600000)},
      {"live.queue_grace_ms", liveInt(&Config::live_queue_grace_ms, 0, 3600000)},
      {"live.coalesce_ms", liveInt(&Config::live_coalesce_ms, 0, 1000)},
      {"live.max_connections", liveInt(&Config::live_max_connections, 1, 1000000)},
      {"live.fanout_threads", liveInt(&Config::live_fanout_threads, 0, 64)},
      {"live.call_ring_ms", liveInt(&Config::live_call_ring_ms, 1000, 3600000)},
      {"turn.urls",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.turn_urls = stringList(k, n);
         for (const auto& url : c.turn_urls) {
           if (url.rfind("turn:", 0) != 0 && url.rfind("turns:", 0) != 0)
             throw ConfigError(k, "expected turn: or turns: URLs, got '" + url + "'");
         }
       }},
      {"turn.secret",
       [](Config& c, const std::string& k, const YAML::Node& n) { c.turn_secret = scalar(k, n); }},
      {"turn.ttl_s", liveInt(&Config::turn_ttl_s, 60, 7 * 24 * 3600)},
      {"media.segment_seconds",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.media_segment_seconds = static_cast<int>(integer(k, n, 1, 6));
       }},
      {"media.playlist_segments",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.media_playlist_segments = static_cast<int>(integer(k, n, 3, 30));
       }},
      {"media.renditions",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         auto list = stringList(k, n);
         bool source = false;
         for (const auto& r : list) {
           if (r != "source" && r != "360p" && r != "audio" && r != "ll")
             throw ConfigError(k, "unknown rendition '" + r + "' (source, 360p, audio, ll)");
           source = source || r == "source";
         }
         if (!source)
           throw ConfigError(k, "the source rendition is required");
         c.media_renditions = list;
       }},
      {"media.ll_part_ms",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.media_ll_part_ms = static_cast<int>(integer(k, n, 100, 1000));
       }},
      {"media.low_video_kbps",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.media_low_video_kbps = static_cast<int>(integer(k, n, 100, 5000));
       }},
      {"media.stage_height",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.media_stage_height = static_cast<int>(integer(k, n, 360, 1080));
         if (c.media_stage_height % 2)
           throw ConfigError(k, "must be even");
       }},
      {"media.stage_video_kbps",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.media_stage_video_kbps = static_cast<int>(integer(k, n, 200, 8000));
       }},
      {"media.audio_kbps",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.media_audio_kbps = static_cast<int>(integer(k, n, 16, 256));
       }},
      {"media.audio_only_kbps",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.media_audio_only_kbps = static_cast<int>(integer(k, n, 16, 128));
       }},
      {"demo.latency_stamp", [](Config& c, const std::string& k,
                               const YAML::Node& n) { c.demo_latency_stamp = boolean(k, n); }},
      {"media.recording", [](Config& c, const std::string& k,
                             const YAML::Node& n) { c.media_recording = boolean(k, n); }},
      {"media.recordings_dir",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.media_recordings_dir = scalar(k, n);
       }},
      {"media.public_replay", [](Config& c, const std::string& k,
                                 const YAML::Node& n) { c.media_public_replay = boolean(k, n); }},
      {"media.recording_piece_seconds",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.media_recording_piece_seconds = static_cast<int>(integer(k, n, 5, 24 * 3600));
       }},
      {"media.publisher_timeout_ms",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.media_publisher_timeout_ms = static_cast<int>(integer(k, n, 500, 60000));
       }},
      {"media.owner_lease_ms",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.media_owner_lease_ms = integer(k, n, 1000, 600000);
       }},
      {"ice.stun_servers",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.ice_stun_servers = stringList(k, n);
         for (const auto& s : c.ice_stun_servers) {
           if (s.rfind("stun://", 0) != 0)
             throw ConfigError(k, "expected stun://HOST:PORT, got '" + s + "'");
         }
       }},
      {"ice.turn_servers",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.ice_turn_servers = stringList(k, n);
         for (const auto& s : c.ice_turn_servers) {
           if (s.rfind("turn://", 0) != 0 && s.rfind("turns://", 0) != 0)
             throw ConfigError(k, "expected turn://USER:PASSWORD@HOST:PORT");
         }
       }},
      {"ice.public_ip", [](Config& c, const std::string& k,
                           const YAML::Node& n) { c.ice_public_ip = scalar(k, n); }},
      {"crypto.data_key",
       [](Config& c, const std::string& k, const YAML::Node& n) { c.data_key = scalar(k, n); }},
      {"limits.api_rate_per_second",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.api_rate_per_second = integer(k, n, 1, 1000000);
       }},
      {"limits.http_rate_per_second", liveInt(&Config::http_rate_per_second, 1, 1000000)},
      {"limits.http_rate_burst", liveInt(&Config::http_rate_burst, 1, 1000000)},
      {"limits.media_rate_per_second", liveInt(&Config::media_rate_per_second, 1, 1000000)},
      {"limits.media_rate_burst", liveInt(&Config::media_rate_burst, 1, 1000000)},
      {"limits.session_rate_per_second", liveInt(&Config::session_rate_per_second, 1, 1000000)},
      {"limits.session_rate_burst", liveInt(&Config::session_rate_burst, 1, 1000000)},
      {"limits.max_keys", liveInt(&Config::rate_max_keys, 100, 100000000)},
      {"limits.api_rate_burst",
       [](Config& c, const std::string& k, const YAML::Node& n) {
         c.api_rate_burst = integer(k, n, 1, 1000000);
       }},
  };
  return table;
}

void walk(Config& config, const YAML::Node& node, const std::string& prefix) {
  const auto& table = keyTable();
  for (const auto& entry : node) {
    std::string name = entry.first.as<std::string>();
    std::string key = prefix.empty() ? name : prefix + "." + name;
    auto it = table.find(key);
    if (it != table.end()) {
      if (!entry.second.IsNull())
        it->second(config, key, entry.second);
      continue;
    }
    if (entry.second.IsMap()) {
      // A section: known only if some key lives below it.
      bool known = false;
      for (const auto& row : table)
        known = known || row.first.rfind(key + ".", 0) == 0;
      if (known) {
        walk(config, entry.second, key);
        continue;
      }
    }
    throw ConfigError(key, "unknown key");
  }
}

bool readable(const std::string& path) {
  return ::access(path.c_str(), R_OK) == 0;
}

}  // namespace

std::string ListenAddress::str() const {
  if (port < 0)
    return "off";
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ListenAddress Config::parseListen(const std::string& key, const std::string& value) {
  if (value == "off" || value.empty())
    return ListenAddress{"", -1};
  auto colon = value.rfind(':');
  if (colon == std::string::npos) {
    throw ConfigError(key, "expected HOST:PORT, got '" + value + "'");
  }
  std::string host = value.substr(0, colon);
  std::string port_text = value.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty())
    host = "0.0.0.0";
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0') {
    throw ConfigError(key, "port '" + port_text + "' is not a number");
  }
  if (port < 0 || port > 65535) {
    throw ConfigError(key, "port " + port_text + " out of range (0-65535)");
  }
  return ListenAddress{host, static_cast<int>(port)};
}

Config Config::loadText(const std::string& yaml) {
  Config config;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw ConfigError("(file)", std::string("not valid YAML: ") + e.what());
  }
  if (root.IsNull())
    return config;
  if (!root.IsMap())
    throw ConfigError("(file)", "expected a mapping of keys");
  walk(config, root, "");
  return config;
}

Config Config::loadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw ConfigError("--config", "cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return loadText(buffer.str());
}

void Config::applyEnvironment() {
  if (const char* v = std::getenv("JOBCAST_JWT_SECRET"); v && *v)
    jwt_secret = v;
  if (const char* v = std::getenv("JOBCAST_DATA_KEY"); v && *v)
    data_key = v;
  if (const char* v = std::getenv("JOBCAST_REDIS"); v && *v)
    redis_address = v;
  if (const char* v = std::getenv("JOBCAST_REDIS_CLUSTER"); v && *v) {
    redis_cluster.clear();
    std::string list = v;
    for (size_t at = 0; at <= list.size();) {
      size_t comma = std::min(list.find(',', at), list.size());
      if (comma > at)
        redis_cluster.push_back(list.substr(at, comma - at));
      at = comma + 1;
    }
  }
  if (const char* v = std::getenv("JOBCAST_TURN_SECRET"); v && *v)
    turn_secret = v;
}

void Config::validate() const {
  if (tls_cert.empty() != tls_key.empty()) {
    throw ConfigError(tls_cert.empty() ? "server.tls_cert" : "server.tls_key",
                      "tls_cert and tls_key must be given together");
  }
  if (!tls_cert.empty() && !readable(tls_cert)) {
    throw ConfigError("server.tls_cert", "cannot read " + tls_cert);
  }
  if (!tls_key.empty() && !readable(tls_key)) {
    throw ConfigError("server.tls_key", "cannot read " + tls_key);
  }
  if (!data_key.empty()) {
    bool hex = data_key.size() == 64 &&
               data_key.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
    if (!hex)
      throw ConfigError("crypto.data_key", "expected 64 hex characters (256 bits)");
  }
  if (!jwt_secret.empty() && jwt_secret.size() < 32) {
    // HS256 keys shorter than its 256-bit output are guessable offline.
    throw ConfigError("auth.jwt_secret",
                      "(or JOBCAST_JWT_SECRET) must be at least 32 bytes, e.g. 64 hex characters");
  }
  if (!turn_urls.empty() && turn_secret.size() < 16) {
    throw ConfigError("turn.secret",
                      "(or JOBCAST_TURN_SECRET) of at least 16 bytes is required with turn.urls");
  }
  if (live_viewer_ttl_ms <= live_heartbeat_ms) {
    throw ConfigError("live.viewer_ttl_ms", "must be longer than live.heartbeat_ms");
  }
  if (ws_timeout_s <= ws_ping_s) {
    throw ConfigError("server.ws_timeout_s", "must be longer than server.ws_ping_s");
  }
  if (!redis_cluster.empty() && !redis_address.empty()) {
    throw ConfigError("redis.cluster", "set either redis.address or redis.cluster, not both");
  }
  if (listen.port < 0 && tls_listen.port < 0) {
    throw ConfigError("server.listen", "HTTP and HTTPS cannot both be off");
  }
}

}  // namespace jobcast
