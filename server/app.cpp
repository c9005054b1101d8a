#include "server/app.h"

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "core/build_info.h"
#include "core/log.h"
#include "core/secrets.h"
#include "core/tls.h"
#include "media/egress/udp_viewers.h"
#include "server/demo.h"
#include "signaling/demo_token.h"

namespace jobcast {

App::App(Config config) : config_(std::move(config)) {}

App::~App() {
  shutdown();
}

Result<bool> App::start() {
  // Everything this node writes (secrets, the TLS key, recordings, the
  // embedded Redis' files) is for it alone: private from creation.
  ::umask(077);
  if (auto made = makePrivateDirectory(config_.data_dir); !made)
    return made.error();

  auto jwt_secret = resolveSecret(config_.jwt_secret, config_.data_dir, "jwt-secret");
  if (!jwt_secret)
    return Error{"auth.jwt_secret", jwt_secret.error().message};
  jwt_ = std::make_unique<Jwt>(jwt_secret.value(),
                               Jwt::Options{.max_lifetime_s = config_.jwt_max_lifetime_s});
  auto data_key = resolveSecret(config_.data_key, config_.data_dir, "data-key");
  if (!data_key)
    return Error{"crypto.data_key", data_key.error().message};
  data_key_ = data_key.value();

  // A missing plugin would otherwise show only when a room first streams.
  missing_elements_ = media::missingElements();
  if (!missing_elements_.empty()) {
    log::error("GStreamer elements missing: the node will not be ready",
               {{"missing", media::describeMissing(missing_elements_)}});
  }

  std::string redis_address = config_.redis_address;
  if (redis_address.empty()) {
    embedded_redis_ =
        std::make_unique<EmbeddedRedis>(loop_, config_.data_dir, config_.redis_server_binary);
    auto r = embedded_redis_->start();
    if (!r)
      return r;
    redis_address = embedded_redis_->address();
  }
  auto address = RedisAddress::parse(redis_address);
  if (!address)
    return Error{"redis.address", address.error().message};
  redis_ = std::make_unique<RedisClient>(loop_, address.value());
  redis_->start();

  http::HttpServer::Options options;
  options.http = config_.listen;
  options.https = config_.tls_listen;
  options.tls_cert = config_.tls_cert;
  options.tls_key = config_.tls_key;
  options.max_body_bytes = config_.max_body_bytes;
  options.max_connections_per_ip = config_.max_connections_per_ip;
  options.header_timeout_s = static_cast<int>(config_.header_timeout_s);
  options.body_timeout_s = static_cast<int>(config_.body_timeout_s);
  options.trusted_proxies = AddressSet::parse(config_.trusted_proxies).value_or(AddressSet{});
  auto rate = [this](int64_t per_second, int64_t burst) {
    return RateLimiter::Options{.per_second = static_cast<double>(per_second),
                                .burst = static_cast<double>(burst),
                                .max_keys = static_cast<size_t>(config_.rate_max_keys)};
  };
  options.general_rate = rate(config_.http_rate_per_second, config_.http_rate_burst);
  options.media_rate = rate(config_.media_rate_per_second, config_.media_rate_burst);
  options.session_rate = rate(config_.session_rate_per_second, config_.session_rate_burst);
  if (options.https.enabled() && options.tls_cert.empty()) {
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    auto paths = tls::ensureSelfSigned(config_.data_dir, host);
    if (!paths)
      return Error{"server.tls_cert", paths.error().message};
    options.tls_cert = paths->cert;
    options.tls_key = paths->key;
    log::info("using a self-signed certificate", {{"cert", paths->cert}});
  }

  addHealthRoutes();
  addMetrics();
  addWhep();
  addPages();
  auto rooms_api = registerRoomsApi(router_, loop_, *redis_, *jwt_, data_key_, config_);
  if (!rooms_api)
    return rooms_api.error();
  rooms_api_ = std::move(rooms_api.value());
  live_ = std::make_unique<ws::LiveChannel>(loop_, *redis_, address.value(), *jwt_, metrics_,
                                            ws::LiveOptions::fromConfig(config_));
  live_->useRoomStore(rooms_api_->store());
  live_->start();
  options.websocket_protocols.push_back(live_->protocol());
  addMedia();
  if (demo_enabled_)
    http::addDemoTokenRoute(router_, *jwt_);  // demo sign-in for the viewer page
  room_programmes_ = std::make_unique<media::RoomProgrammes>(*media_, *whep_egress_);

  http_ = std::make_unique<http::HttpServer>(loop_, metrics_, router_, std::move(options));
  auto listening = http_->start();
  if (!listening)
    return listening;
  addMediaOwner();
  if (demo_enabled_) {
    demo_ = std::make_unique<DemoCamera>(loop_, *redis_, rooms_api_->store(), *media_);
    demo_->start();
  }
  return true;
}

void App::addMedia() {
  media::MediaOptions m;
  m.data_dir = config_.data_dir;
  m.segment_seconds = config_.media_segment_seconds;
  m.playlist_segments = config_.media_playlist_segments;
  auto has = [this](const char* name) {
    const auto& r = config_.media_renditions;
    return std::find(r.begin(), r.end(), name) != r.end();
  };
  m.rendition_low = has("360p");
  m.rendition_audio = has("audio");
  m.low_video_kbps = config_.media_low_video_kbps;
  m.stage_height = config_.media_stage_height;
  m.stage_width = (config_.media_stage_height * 16 / 9) & ~1;
  m.stage_video_kbps = config_.media_stage_video_kbps;
  m.audio_kbps = config_.media_audio_kbps;
  m.recording = config_.media_recording;
  m.recording_piece_seconds = config_.media_recording_piece_seconds;
  m.media_timeout_ms = config_.media_publisher_timeout_ms;
  m.stun_servers = config_.ice_stun_servers;
  m.turn_servers = config_.ice_turn_servers;
  m.public_ip = config_.ice_public_ip;
  media_ = std::make_unique<media::MediaService>(loop_, m);
  media_routes_ =
      registerMediaRoutes(router_, loop_, *jwt_, *redis_, *media_, config_.media_public_replay);
}

void App::addMediaOwner() {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  MediaOwner::Options options;
  options.self.id = config_.node_id.empty() ? std::string(host) + "-" + std::to_string(getpid())
                                            : config_.node_id;
  options.self.url = config_.public_url;
  if (options.self.url.empty()) {
    // Reachable by other nodes only when it names a real address: set
    // server.public_url wherever nodes run on more than one machine.
    bool plain = http_->httpPort() >= 0;
    const ListenAddress& listen = plain ? config_.listen : config_.tls_listen;
    std::string name = listen.host;
    if (name.empty() || name == "0.0.0.0" || name == "::")
      name = host;
    else if (name.find(':') != std::string::npos)
      name = "[" + name + "]";
    options.self.url = std::string(plain ? "http://" : "https://") + name + ":" +
                       std::to_string(plain ? http_->httpPort() : http_->httpsPort());
  }
  options.lease_ttl = std::chrono::milliseconds(config_.media_owner_lease_ms);
  options.admit_publisher = [this](const http::Request& req,
                                   std::function<void(std::optional<http::Response>)> done) {
    media_routes_->whip->check(req, std::move(done));
  };
  media_owner_ = std::make_unique<MediaOwner>(loop_, *redis_, *media_, metrics_, options);
  media_owner_->guard(router_);
}

void App::addHealthRoutes() {
  router_.add(http::Method::Get, "/healthz", [](const http::Request&, const http::Responder& r) {
    r.json(200, {{"status", "ok"}});
  });
  router_.add(http::Method::Get, "/readyz", [this](const http::Request&, const http::Responder& r) {
    bool redis_up = redis_ && redis_->ready();
    nlohmann::json checks = {{"redis", redis_up ? "up" : "down"},
                             {"gstreamer", missing_elements_.empty() ? "ok" : "missing"}};
    if (redis_up && missing_elements_.empty()) {
      r.json(200, {{"status", "ready"}, {"checks", checks}});
      return;
    }
    nlohmann::json body = {{"checks", checks}};
    std::string message;
    if (!missing_elements_.empty()) {
      message = "GStreamer elements missing: " + media::describeMissing(missing_elements_) +
                "; install the packages named";
      nlohmann::json missing = nlohmann::json::array();
      for (const auto& e : missing_elements_)
        missing.push_back({{"element", e.factory}, {"package", e.package}});
      body["missing"] = missing;
    }
    if (!redis_up)
      message = message.empty() ? "Redis is not reachable" : message + "; Redis is not reachable";
    body["error"] = {{"code", "not_ready"}, {"message", message}};
    auto resp = http::Response::json(503, body);
    if (missing_elements_.empty())
      resp.header("retry-after", "1");  // Redis comes back by itself; packages do not
    r.send(std::move(resp));
  });
  router_.add(http::Method::Get, "/metrics",
              [this](const http::Request&, const http::Responder& r) {
                r.send(http::Response::text(200, metrics_.render(),
                                            "text/plain; version=0.0.4; charset=utf-8"));
              });
}

void App::addPages() {
  // What pages need to know about the deployment: the origins they may send
  // their token to when a WHIP/WHEP request is redirected to another node.
  router_.add(http::Method::Get, "/api/v1/config",
              [this](const http::Request&, const http::Responder& r) {
                nlohmann::json origins = nlohmann::json::array();
                for (const auto& url : config_.node_urls)
                  origins.push_back(url);
                if (!config_.public_url.empty()) {
                  auto slash = config_.public_url.find('/', config_.public_url.find("//") + 2);
                  origins.push_back(config_.public_url.substr(0, slash));
                }
                r.json(200, {{"node_origins", origins}});
              });
  std::string dir = http::findWebClientDir(config_.static_dir);
  if (dir.empty()) {
    log::warn("no web-client folder found; pages are not served",
              {{"hint", "set server.static_dir"}});
    return;
  }
  static_files_ = std::make_unique<http::StaticFiles>(dir);
  // Page routes: each serves its page; the page reads the id from its URL.
  const std::pair<const char*, const char*> pages[] = {
      {"/room/{id}", "viewer.html"},
      {"/studio/{room}", "studio.html"},
      {"/console/{room}", "console.html"},
  };
  for (const auto& [pattern, file] : pages) {
    std::string page = file;  // HEAD is routed as GET
    router_.add(http::Method::Get, pattern,
                [this, page](const http::Request& req, const http::Responder& r) {
                  static_files_->serveFile(page, req, r);
                });
  }
  router_.setFallback(
      [this](const http::Request& req, const http::Responder& r) { static_files_->serve(req, r); });
  log::info("serving pages", {{"dir", dir}});
}

void App::addWhep() {
  media::WhepEgress::Options options;
  options.max_viewers = config_.whep_max_viewers;
  std::string addresses = config_.whep_ice_addresses;
  for (size_t pos = 0; pos < addresses.size();) {
    size_t comma = addresses.find(',', pos);
    std::string one = addresses.substr(pos, comma == std::string::npos ? comma : comma - pos);
    if (!one.empty())
      options.session.local_addresses.push_back(one);
    pos = comma == std::string::npos ? addresses.size() : comma + 1;
  }
  if (config_.whep_engine == "udp") {
    media::egress::UdpViewers::Options udp;
    udp.port = static_cast<uint16_t>(config_.whep_udp_port);
    udp.public_address = !config_.whep_public_address.empty() ? config_.whep_public_address
                         : !options.session.local_addresses.empty()
                             ? options.session.local_addresses.front()
                             : "127.0.0.1";
    auto engine = media::egress::UdpViewers::start(udp);
    if (!engine)
      throw std::runtime_error("whep.engine udp: " + engine.error().message);
    log::info("whep engine", {{"engine", "udp"},
                              {"port", static_cast<int64_t>(engine.value()->engine().port())},
                              {"address", udp.public_address}});
    options.engine = engine.value();
  }
  whep_egress_ = std::make_unique<media::WhepEgress>(loop_, options);
  whep_ = std::make_unique<http::WhepEndpoint>(router_, *whep_egress_, *jwt_, redis_.get(),
                                               metrics_, http::WhepEndpoint::Options{});
  stage_api_ = std::make_unique<http::StageApi>(router_, *redis_, *jwt_);
}

void App::addMetrics() {
  metrics_.describe("jobcast_build_info", Metrics::Type::Gauge,
                    "Build information; the value is always 1.");
  metrics_.set("jobcast_build_info", {{"version", build::kVersion}, {"build", build::kBuildType}},
               1);
  metrics_.describe("jobcast_uptime_seconds", Metrics::Type::Gauge,
                    "Seconds since this process started.");
  metrics_.gaugeFn("jobcast_uptime_seconds", {}, [this] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  });
  metrics_.describe("jobcast_redis_up", Metrics::Type::Gauge,
                    "1 while the Redis connection is up and answering.");
  metrics_.gaugeFn("jobcast_redis_up", {}, [this] { return redis_ && redis_->ready() ? 1 : 0; });
  metrics_.describe("jobcast_redis_reconnects_total", Metrics::Type::Counter,
                    "Redis reconnect attempts since start.");
  metrics_.gaugeFn("jobcast_redis_reconnects_total", {},
                   [this] { return redis_ ? static_cast<double>(redis_->reconnects()) : 0; });
}

void App::run() {
  loop_.run();
}

void App::shutdown() {
  if (http_) {
    http_->stop();
    http_.reset();
  }
  room_programmes_.reset();
  whep_.reset();
  whep_egress_.reset();
  stage_api_.reset();
  live_.reset();
  demo_.reset();
  if (media_owner_) {
    // Other nodes may take this node's rooms at once instead of after the lease runs out.
    media_owner_->releaseAll();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (media_owner_->releasing() > 0 && std::chrono::steady_clock::now() < deadline) {
      g_main_context_iteration(loop_.context(), FALSE);
      g_usleep(2000);
    }
  }
  if (media_) {
    // Recordings are finished (and their timelines written) while Redis is up.
    media_->shutdown();
    loop_.drain();
  }
  media_owner_.reset();
  media_routes_.reset();
  media_.reset();
  redis_.reset();
  rooms_api_.reset();
  if (embedded_redis_) {
    embedded_redis_->stop();
    embedded_redis_.reset();
  }
  loop_.drain();
}

}  // namespace jobcast
