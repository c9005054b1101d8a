#include "server/module_options.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/address_set.h"

namespace jobcast::module_options {
namespace {

std::string hostName() {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace

http::HttpServer::Options httpServer(const Config& config) {
  http::HttpServer::Options options;
  options.http = config.listen;
  options.https = config.tls_listen;
  options.tls_cert = config.tls_cert;
  options.tls_key = config.tls_key;
  options.max_body_bytes = config.max_body_bytes;
  options.max_connections_per_ip = config.max_connections_per_ip;
  options.header_timeout_s = static_cast<int>(config.header_timeout_s);
  options.front_threads = static_cast<int>(config.front_threads);
  options.body_timeout_s = static_cast<int>(config.body_timeout_s);
  options.ws_ping_s = static_cast<uint16_t>(config.ws_ping_s);
  options.ws_timeout_s = static_cast<uint16_t>(config.ws_timeout_s);
  options.trusted_proxies = AddressSet::parse(config.trusted_proxies).value_or(AddressSet{});
  auto rate = [&config](int64_t per_second, int64_t burst) {
    return RateLimiter::Options{.per_second = static_cast<double>(per_second),
                                .burst = static_cast<double>(burst),
                                .max_keys = static_cast<size_t>(config.rate_max_keys)};
  };
  options.general_rate = rate(config.http_rate_per_second, config.http_rate_burst);
  options.media_rate = rate(config.media_rate_per_second, config.media_rate_burst);
  options.session_rate = rate(config.session_rate_per_second, config.session_rate_burst);
  return options;
}

media::MediaOptions media(const Config& config) {
  media::MediaOptions m;
  m.data_dir = config.data_dir;
  m.recordings_dir = config.media_recordings_dir;
  m.segment_seconds = config.media_segment_seconds;
  m.playlist_segments = config.media_playlist_segments;
  auto has = [&config](const char* name) {
    const auto& r = config.media_renditions;
    return std::find(r.begin(), r.end(), name) != r.end();
  };
  m.rendition_low = has("360p");
  m.rendition_audio = has("audio");
  m.rendition_ll = has("ll");
  m.ll_part_ms = config.media_ll_part_ms;
  m.low_video_kbps = config.media_low_video_kbps;
  m.stage_height = config.media_stage_height;
  m.stage_width = (config.media_stage_height * 16 / 9) & ~1;
  m.stage_video_kbps = config.media_stage_video_kbps;
  m.audio_kbps = config.media_audio_kbps;
  m.audio_only_kbps = config.media_audio_only_kbps;
  m.recording = config.media_recording;
  m.recording_piece_seconds = config.media_recording_piece_seconds;
  m.media_timeout_ms = config.media_publisher_timeout_ms;
  m.stun_servers = config.ice_stun_servers;
  m.turn_servers = config.ice_turn_servers;
  m.public_ip = config.ice_public_ip;
  return m;
}

namespace {

// "a, b,c" -> {"a", "b", "c"}
std::vector<std::string> commaList(const std::string& text) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < text.size();) {
    size_t comma = text.find(',', pos);
    std::string one = text.substr(pos, comma == std::string::npos ? comma : comma - pos);
    one.erase(0, one.find_first_not_of(' '));
    one.erase(one.find_last_not_of(' ') + 1);
    if (!one.empty())
      out.push_back(one);
    pos = comma == std::string::npos ? text.size() : comma + 1;
  }
  return out;
}

}  // namespace

media::WhepEgress::Options whepEgress(const Config& config) {
  media::WhepEgress::Options options;
  options.max_viewers = config.effectiveWhepMaxViewers();
  options.session.local_addresses = commaList(config.whep_ice_addresses);
  return options;
}

media::egress::UdpViewers::Options udpViewers(const Config& config) {
  media::egress::UdpViewers::Options udp;
  udp.port = static_cast<uint16_t>(config.whep_udp_port);
  udp.send_threads = config.whep_send_threads;
  udp.gso = config.whep_gso;
  // Fault injection for tests of players on lossy networks, never in
  // production: JOBCAST_FAULT_WHEP_LOSS_PERCENT of WHEP RTP is dropped.
  if (const char* loss = std::getenv("JOBCAST_FAULT_WHEP_LOSS_PERCENT"))
    udp.fault_loss = std::clamp(std::atof(loss), 0.0, 100.0) / 100.0;
  // Where viewers reach the engine: as configured, else the addresses ICE
  // is limited to, else every interface of this host (behind NAT, the
  // public IP first).
  udp.public_addresses = commaList(config.whep_public_address);
  if (udp.public_addresses.empty())
    udp.public_addresses = commaList(config.whep_ice_addresses);
  if (udp.public_addresses.empty()) {
    udp.public_addresses = media::egress::UdpViewers::hostAddresses();
    if (!config.ice_public_ip.empty())
      udp.public_addresses.insert(udp.public_addresses.begin(), config.ice_public_ip);
  }
  return udp;
}

MediaOwner::Options mediaOwner(const Config& config, const http::HttpServer& http) {
  std::string host = hostName();
  MediaOwner::Options options;
  options.self.id = config.node_id.empty() ? host + "-" + std::to_string(getpid()) : config.node_id;
  options.self.url = config.public_url;
  if (options.self.url.empty()) {
    // Reachable by other nodes only when it names a real address: set
    // server.public_url wherever nodes run on more than one machine.
    bool plain = http.httpPort() >= 0;
    const ListenAddress& listen = plain ? config.listen : config.tls_listen;
    std::string name = listen.host;
    if (name.empty() || name == "0.0.0.0" || name == "::")
      name = host;
    else if (name.find(':') != std::string::npos)
      name = "[" + name + "]";
    options.self.url = std::string(plain ? "http://" : "https://") + name + ":" +
                       std::to_string(plain ? http.httpPort() : http.httpsPort());
  }
  options.lease_ttl = std::chrono::milliseconds(config.media_owner_lease_ms);
  return options;
}

backoffice::DispatcherOptions webhooks(const Config& config) {
  backoffice::DispatcherOptions o;
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  o.consumer = std::string(host) + ":" + std::to_string(getpid());
  o.max_attempts = config.webhooks_max_attempts;
  o.backoff_ms = config.webhooks_backoff_ms;
  o.backoff_max_ms = config.webhooks_backoff_max_ms;
  o.timeout_ms = config.webhooks_timeout_ms;
  o.claim_idle_ms = config.webhooks_claim_idle_ms;
  o.sweep_ms = config.webhooks_sweep_ms;
  return o;
}

}  // namespace jobcast::module_options
