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
  std::string public_url;  // this node's own base URL; empty: from the HTTP listener
  std::string node_id;     // empty: HOSTNAME-PID
  int64_t max_body_bytes = 1 << 20;
  // Open connections per client address (0: no cap). Mobile carriers put many
  // users behind one address, so keep it well above one user's few connections.
  int64_t max_connections_per_ip = 64;
  // Threads of the plain-HTTP front that serves HLS off the control loop.
  int64_t front_threads = 1;
  int64_t header_timeout_s = 5;  // a request header must be complete by then
  int64_t body_timeout_s = 20;   // a request body (and a silent gap in it) by then
  // A WebSocket that has not answered for ws_ping_s is pinged; one with no
  // answer ws_timeout_s after its last is closed (a phone gone without a word).
  int64_t ws_ping_s = 30;
  int64_t ws_timeout_s = 75;
  // SIGTERM drains the node (docs/operations.md); it exits at the latest this
  // long after the signal, whether or not its publishers have moved.
  int64_t drain_timeout_ms = 10000;
  // Peers whose X-Forwarded-For names the client (addresses or CIDRs); they are
  // exempt from the connection cap.
  std::vector<std::string> trusted_proxies;
  // Base URLs of the deployment's other nodes (their public_url): pages follow
  // a WHIP/WHEP 307 with their token only to these and their own origin.
  std::vector<std::string> node_urls;
  std::string static_dir;  // empty: web-client/ beside the binary's source tree
  // Where the pages' fonts are served from (/fonts/NAME): Debian's fonts-noto-core.
  std::string fonts_dir = "/usr/share/fonts/truetype/noto";

  std::string data_dir = "./data";

  // redis
  std::string redis_address;  // empty: start a private redis-server child
  // Redis Cluster nodes ("host:port", some or all); set: cluster mode, and
  // redis.address must stay empty.
  std::vector<std::string> redis_cluster;
  std::string redis_server_binary = "redis-server";
  int64_t redis_events_maxlen = 10000;  // each room's event stream: XADD MAXLEN ~

  // webhooks (docs/webhooks.md)
  int64_t webhooks_max_attempts = 8;         // tries before a delivery is dead-lettered
  int64_t webhooks_backoff_ms = 1000;        // wait before the second try; doubles
  int64_t webhooks_backoff_max_ms = 600000;  // longest wait between tries
  int64_t webhooks_timeout_ms = 5000;        // one HTTP attempt
  int64_t webhooks_claim_idle_ms = 60000;    // a silent node's delivery is taken after this
  int64_t webhooks_sweep_ms = 1000;          // how often room outboxes are drained
  // reminders of followed rooms (docs/api.md "Reminders")
  int64_t reminders_lead_s = 900;     // reminder.due goes out this long before the start
  int64_t reminders_sweep_ms = 5000;  // how often each node looks for due reminders

  // log
  log::Level log_level = log::Level::Info;
  log::Format log_format = log::Format::Json;

  // whep
  // WHEP viewers per node; more get 503 + the HLS address. Unset (-1): by
  // engine, 500 for udp, 50 for webrtcbin (effectiveWhepMaxViewers()).
  int whep_max_viewers = -1;
  std::string whep_ice_addresses;  // comma-separated local IPs for ICE; empty: all interfaces
  // "webrtcbin": a webrtcbin per viewer; "udp": the egress engine, every
  // viewer on one UDP socket (whep_udp_port) announced at whep_public_address.
  std::string whep_engine = "udp";
  int whep_udp_port = 0;  // 0: any free port (pin it behind a firewall)
  // Comma-separated candidate addresses; empty: whep_ice_addresses, else
  // every interface of the host (ice_public_ip first when set).
  std::string whep_public_address;
  int whep_send_threads = 1;  // udp engine threads that protect and send RTP
  bool whep_gso = true;       // udp engine: a frame's datagrams to a viewer in one send

  // auth and personal data (secrets: prefer the environment)
  std::string jwt_secret;                       // JOBCAST_JWT_SECRET, at least 32 bytes
  int64_t jwt_max_lifetime_s = 30 * 24 * 3600;  // tokens living longer are refused
  std::string data_key;                         // JOBCAST_DATA_KEY, 64 hex chars (AES-256)

  // limits: REST requests per user (with a token) or per client address
  int64_t api_rate_per_second = 20;
  int64_t api_rate_burst = 60;
  // every request per client address, in three budgets (see the sample config)
  int64_t http_rate_per_second = 50;  // pages, static files, REST
  int64_t http_rate_burst = 200;
  int64_t media_rate_per_second = 100;  // HLS and recordings
  int64_t media_rate_burst = 300;
  int64_t session_rate_per_second = 5;  // WHIP, WHEP, stage, demo token, WebSocket
  int64_t session_rate_burst = 20;
  int64_t rate_max_keys = 100000;  // clients remembered per budget

  // live room channel (WebSocket /ws): limits, fan-out, presence
  std::vector<std::string> live_blocked_words;  // masked in chat and questions
  int64_t live_chat_max_chars = 500;
  int64_t live_chat_rate_count = 5;  // messages per window per user
  int64_t live_chat_rate_window_ms = 10000;
  int64_t live_max_frame_bytes = 8192;
  int64_t live_send_queue_frames = 2048;  // per connection, then it is closed
  int64_t live_send_queue_bytes = 4 << 20;
  int64_t live_slow_grace_ms = 2000;  // over the bound this long (or 4x over): closed
  int64_t live_hello_timeout_s = 10;
  int64_t live_abuse_limit = 10;   // bad frames before close 1008
  int64_t live_frames_per_s = 20;  // client frames per second, burst twice that
  int64_t live_heartbeat_ms = 2000;
  int64_t live_viewer_ttl_ms = 6000;     // a silent node's viewers expire after this
  int64_t live_queue_grace_ms = 30000;   // also how long an interview call waits for a party
  int64_t live_coalesce_ms = 50;         // a room's events go out at most once per tick
  int64_t live_max_connections = 20000;  // WebSockets per node; more are refused (1013)
  int64_t live_fanout_threads = 0;       // threads sending a tick's frames; 0: one per core (max 8)
  int64_t live_call_ring_ms = 60000;     // an interview call not taken up by then: no_show

  // TURN for the interview calls (coturn use-auth-secret; docs/interview.md)
  std::vector<std::string> turn_urls;  // e.g. turn:turn.example.org:3478?transport=udp
  std::string turn_secret;             // JOBCAST_TURN_SECRET; coturn's static-auth-secret
  int64_t turn_ttl_s = 3600;           // lifetime of a call's credentials
  // media (see configs/jobcast.sample.yaml)
  int media_segment_seconds = 1;
  int media_playlist_segments = 6;
  std::vector<std::string> media_renditions = {"source", "360p", "audio", "ll"};
  int media_ll_part_ms = 250;  // low-latency HLS part target
  // --demo: the demo camera paints its send time into each frame (a row of
  // blocks at the top; media/frame_stamp.h), for glass-to-glass measurements.
  bool demo_latency_stamp = false;
  int media_low_video_kbps = 500;
  int media_stage_height = 720;  // the composite's height; width is 16:9
  int media_stage_video_kbps = 1500;
  int media_audio_kbps = 64;
  int media_audio_only_kbps = 48;  // the audio-only rendition's own AAC (mono)
  bool media_recording = true;
  // Where recordings are written and read. Empty: <data_dir>/recordings, this
  // node's own. Set to a directory every node mounts (NFS, a shared volume),
  // every node serves every recording (docs/operations.md).
  std::string media_recordings_dir;
  // Replays (recordings) for anyone, without a token; off: a token naming the room.
  bool media_public_replay = false;
  int media_recording_piece_seconds = 600;
  int media_publisher_timeout_ms = 3000;
  int64_t media_owner_lease_ms = 10000;  // a dead node's rooms move after this
  std::vector<std::string> ice_stun_servers;
  std::vector<std::string> ice_turn_servers;
  std::string ice_public_ip;

  // Parses a YAML file over the defaults. Throws ConfigError naming the key.
  static Config loadFile(const std::string& path);
  // Parses YAML text over the defaults. Throws ConfigError naming the key.
  static Config loadText(const std::string& yaml);
  // Secrets and the Redis address from JOBCAST_* environment variables.
  void applyEnvironment();
  // Cross-key checks (files readable, cert and key together). Throws ConfigError.
  void validate() const;
  // whep.max_viewers as set, or the engine's default when unset.
  int effectiveWhepMaxViewers() const {
    return whep_max_viewers >= 0 ? whep_max_viewers : whep_engine == "udp" ? 500 : 50;
  }

  // Parses "HOST:PORT", ":PORT", "[v6]:PORT" or "off". Throws ConfigError on `key`.
  static ListenAddress parseListen(const std::string& key, const std::string& value);
};

}  // namespace jobcast
