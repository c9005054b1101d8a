#include "server/app.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <utility>

#include "backoffice/accounts.h"
#include "backoffice/figures.h"
#include "backoffice/reports.h"
#include "backoffice/webhooks.h"
#include "core/build_info.h"
#include "core/log.h"
#include "core/redis_child.h"
#include "core/secrets.h"
#include "core/tls.h"
#include "media/egress/udp_viewers.h"
#include "media/room_programmes.h"
#include "server/demo.h"
#include "server/module_options.h"
#include "signaling/demo_token.h"
#include "signaling/http_server.h"
#include "signaling/live_channel.h"
#include "signaling/rooms_api.h"
#include "signaling/stage_api.h"
#include "signaling/static_files.h"
#include "signaling/whep.h"
#include "signaling/whip.h"

namespace jobcast {
namespace {

// A step of the teardown that is not a destructor (finish the recordings,
// give up the media leases), placed among the modules where it must run.
class AtTeardown {
 public:
  AtTeardown() = default;
  explicit AtTeardown(std::function<void()> fn) : fn_(std::move(fn)) {}
  AtTeardown& operator=(AtTeardown&& other) noexcept {
    fn_ = std::exchange(other.fn_, nullptr);
    return *this;
  }
  ~AtTeardown() {
    if (fn_)
      fn_();
  }

 private:
  std::function<void()> fn_;
};

// The pages (web-client/) and their routes; null when no folder is found.
std::unique_ptr<http::StaticFiles> servePages(const Config& config, http::Router& router) {
  std::string dir = http::findWebClientDir(config.static_dir);
  if (dir.empty()) {
    log::warn("no web-client folder found; pages are not served",
              {{"hint", "set server.static_dir"}});
    return nullptr;
  }
  auto files = std::make_unique<http::StaticFiles>(dir);
  http::StaticFiles* serve = files.get();
  // Page routes: each serves its page; the page reads the id from its URL.
  const std::pair<const char*, const char*> pages[] = {
      {"/room/{id}", "viewer.html"},       {"/studio/{room}", "studio.html"},
      {"/console/{room}", "console.html"}, {"/admin", "admin.html"},
      {"/caption/{room}", "caption.html"}, {"/interpret/{room}", "interpret.html"},
  };
  for (const auto& [pattern, file] : pages) {
    std::string page = file;  // HEAD is routed as GET
    router.add(http::Method::Get, pattern,
               [serve, page](const http::Request& req, const http::Responder& r) {
                 serve->serveFile(page, req, r);
               });
  }
  router.setFallback(
      [serve](const http::Request& req, const http::Responder& r) { serve->serve(req, r); });
  log::info("serving pages", {{"dir", dir}});
  return files;
}

// The fonts the pages name in @font-face: only these files of fonts_dir, each
// cached for a year (a font file of a Debian package changes only with it).
std::unique_ptr<http::StaticFiles> serveFonts(const Config& config, http::Router& router) {
  auto fonts = std::make_unique<http::StaticFiles>(config.fonts_dir);
  fonts->setCacheControl("public, max-age=31536000");
  http::StaticFiles* serve = fonts.get();
  router.add(http::Method::Get, "/fonts/{name}",
             [serve](const http::Request& req, const http::Responder& r) {
               static const char* const kServed[] = {"NotoSansMongolian-Regular.ttf"};
               std::string name = req.param("name");
               bool known = std::any_of(std::begin(kServed), std::end(kServed),
                                        [&](const char* f) { return name == f; });
               if (!known) {
                 r.error(404, "not_found", "no such font");
                 return;
               }
               struct stat st {};
               if (::stat((serve->root() + "/" + name).c_str(), &st) != 0) {
                 r.error(404, "not_found",
                         "font " + name + " is not installed: install fonts-noto-core");
                 return;
               }
               serve->serveFile(name, req, r);
             });
  return fonts;
}

}  // namespace

// Every module, in the order start() builds them: each uses only those above
// it. Destroying a Modules destroys them bottom-up, so this list read
// backwards is the teardown order (docs/architecture.md).
struct App::Modules {
  std::unique_ptr<Jwt> jwt;
  std::string data_key;
  std::unique_ptr<EmbeddedRedis> embedded_redis;  // unless redis.address is set
  std::unique_ptr<RedisClient> redis;
  // Every account's token gate, asked by jwt on each verify: built before,
  // and gone after, everything that verifies tokens.
  std::unique_ptr<backoffice::AccountGates> account_gates;
  std::unique_ptr<RoomsApi> rooms_api;  // with the RoomStore
  std::unique_ptr<media::MediaService> media;
  std::unique_ptr<MediaRoutes> media_routes;  // WHIP, HLS, recordings and their timelines
  // Recordings are finished (and their timelines written) while Redis, the
  // timelines and the media are still here.
  AtTeardown finish_media;
  std::unique_ptr<media::WhepEgress> whep_egress;
  std::unique_ptr<media::RoomProgrammes> room_programmes;  // rooms' programmes -> WHEP
  std::unique_ptr<http::WhepEndpoint> whep;
  std::unique_ptr<http::StageApi> stage_api;
  backoffice::Webhooks webhooks;  // admin routes and this node's delivery thread
  std::unique_ptr<backoffice::FiguresApi> figures;
  std::unique_ptr<backoffice::ReportsApi> reports;
  std::unique_ptr<backoffice::AccountsApi> accounts;
  std::unique_ptr<ws::LiveChannel> live;
  std::unique_ptr<http::StaticFiles> static_files;
  std::unique_ptr<http::StaticFiles> fonts;
  std::unique_ptr<http::HttpServer> http;
  std::unique_ptr<MediaOwner> media_owner;  // after http: its URL names the bound port
  // Other nodes may take this node's rooms at once instead of after the lease runs out.
  AtTeardown release_leases;
  std::unique_ptr<DemoCamera> demo;
};

App::App(Config config) : App(std::move(config), Options{}) {}

App::App(Config config, Options options) : config_(std::move(config)), options_(options) {}

App::~App() {
  shutdown();
}

Result<bool> App::start() {
  // Everything this node writes (secrets, the TLS key, recordings, the
  // embedded Redis' files) is for it alone: private from creation.
  ::umask(077);
  if (auto made = makePrivateDirectory(config_.data_dir); !made)
    return made.error();

  // A missing plugin would otherwise show only when a room first streams.
  missing_elements_ = media::missingElements();
  if (!missing_elements_.empty()) {
    log::error("GStreamer elements missing: the node will not be ready",
               {{"missing", media::describeMissing(missing_elements_)}});
  }

  modules_ = std::make_unique<Modules>();
  Modules& m = *modules_;
  auto jwt_secret = resolveSecret(config_.jwt_secret, config_.data_dir, "jwt-secret");
  if (!jwt_secret)
    return Error{"auth.jwt_secret", jwt_secret.error().message};
  m.jwt = std::make_unique<Jwt>(jwt_secret.value(),
                                Jwt::Options{.max_lifetime_s = config_.jwt_max_lifetime_s});
  auto data_key = resolveSecret(config_.data_key, config_.data_dir, "data-key");
  if (!data_key)
    return Error{"crypto.data_key", data_key.error().message};
  m.data_key = data_key.value();

  std::string redis_address = config_.redis_address;
  std::vector<RedisAddress> cluster_seeds;
  for (const auto& node : config_.redis_cluster) {
    auto seed = RedisAddress::parse(node);
    if (!seed)
      return Error{"redis.cluster", seed.error().message};
    cluster_seeds.push_back(seed.value());
  }
  if (!cluster_seeds.empty()) {
    redis_address = cluster_seeds.front().str();
  } else if (redis_address.empty()) {
    m.embedded_redis =
        std::make_unique<EmbeddedRedis>(loop_, config_.data_dir, config_.redis_server_binary);
    auto r = m.embedded_redis->start();
    if (!r)
      return r;
    redis_address = m.embedded_redis->address();
  }
  auto address = RedisAddress::parse(redis_address);
  if (!address)
    return Error{"redis.address", address.error().message};
  m.redis = cluster_seeds.empty()
                ? std::make_unique<RedisClient>(loop_, address.value())
                : std::make_unique<RedisClient>(loop_, cluster_seeds, RedisClient::Options{});
  if (!cluster_seeds.empty())
    log::info("redis cluster mode", {{"seeds", std::to_string(cluster_seeds.size())}});
  m.redis->start();
  m.account_gates = std::make_unique<backoffice::AccountGates>(loop_, *m.redis, address.value());
  m.jwt->setRevocationCheck(
      [gates = m.account_gates.get()](const Claims& c) { return gates->check(c); });
  m.account_gates->start();

  addHealthRoutes();
  addMetrics();
  auto rooms_api = registerRoomsApi(router_, loop_, *m.redis, *m.jwt, m.data_key, config_);
  if (!rooms_api)
    return rooms_api.error();
  m.rooms_api = std::move(rooms_api.value());

  m.media = std::make_unique<media::MediaService>(loop_, module_options::media(config_));
  // Replay links: a key of their own, the same on every node of the deployment.
  m.media_routes =
      registerMediaRoutes(router_, loop_, *m.jwt, *m.redis, *m.media, config_.media_public_replay,
                          config_.redis_events_maxlen, "replay-links:" + jwt_secret.value());
  m.finish_media = AtTeardown([this, &m] {
    m.media->shutdown();
    loop_.drain();
  });

  auto whep_options = module_options::whepEgress(config_);
  if (config_.whep_engine == "udp") {
    auto udp = module_options::udpViewers(config_);
    std::string addresses;
    for (const auto& a : udp.public_addresses)
      addresses += (addresses.empty() ? "" : ",") + a;
    if (udp.fault_loss > 0)
      log::warn("fault injection: dropping WHEP packets",
                {{"percent", static_cast<int64_t>(udp.fault_loss * 100)}});
    auto engine = media::egress::UdpViewers::start(udp);
    if (!engine)
      return Error{"whep.engine", "udp engine: " + engine.error().message};
    log::info("whep engine", {{"engine", "udp"},
                              {"port", static_cast<int64_t>(engine.value()->engine().port())},
                              {"send_threads", static_cast<int64_t>(udp.send_threads)},
                              {"gso", udp.gso},
                              {"addresses", addresses}});
    whep_options.engine = engine.value();
  }
  m.whep_egress = std::make_unique<media::WhepEgress>(loop_, whep_options);
  m.room_programmes = std::make_unique<media::RoomProgrammes>(*m.media, *m.whep_egress);
  m.whep = std::make_unique<http::WhepEndpoint>(router_, *m.whep_egress, *m.jwt, m.redis.get(),
                                                metrics_, http::WhepEndpoint::Options{});
  m.stage_api =
      std::make_unique<http::StageApi>(router_, *m.redis, *m.jwt, config_.redis_events_maxlen);
  auto webhooks = backoffice::startWebhooks(router_, *m.redis, *m.jwt, m.data_key, address.value(),
                                            module_options::webhooks(config_));
  if (!webhooks)
    return webhooks.error();
  m.webhooks = std::move(webhooks.value());
  m.figures =
      std::make_unique<backoffice::FiguresApi>(router_, *m.redis, *m.jwt, m.rooms_api->store());
  m.reports = std::make_unique<backoffice::ReportsApi>(router_, *m.redis, *m.jwt);
  m.live = std::make_unique<ws::LiveChannel>(loop_, *m.redis, address.value(), *m.jwt, metrics_,
                                             ws::LiveOptions::fromConfig(config_),
                                             &m.rooms_api->store());
  m.live->start();
  m.accounts = std::make_unique<backoffice::AccountsApi>(
      router_, loop_, *m.redis, *m.jwt, *m.account_gates, backoffice::AccountsApi::Options{});
  // Open WebSockets of a revoked account close at once on every node.
  m.account_gates->onRevoked([live = m.live.get()](const std::string& account, int64_t gate) {
    live->revokeAccount(account, gate);
  });
  addConfigRoute();
  m.static_files = servePages(config_, router_);
  m.fonts = serveFonts(config_, router_);
  if (options_.demo)
    http::addDemoTokenRoute(router_, *m.jwt);  // demo sign-in for the viewer page

  auto http_options = module_options::httpServer(config_);
  if (http_options.https.enabled() && http_options.tls_cert.empty()) {
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    auto paths = tls::ensureSelfSigned(config_.data_dir, host);
    if (!paths)
      return Error{"server.tls_cert", paths.error().message};
    http_options.tls_cert = paths->cert;
    http_options.tls_key = paths->key;
    log::info("using a self-signed certificate", {{"cert", paths->cert}});
  }
  http_options.websocket_protocols.push_back(m.live->protocol());
  http_options.hls = m.media_routes->hls;
  m.http = std::make_unique<http::HttpServer>(loop_, metrics_, router_, std::move(http_options));
  auto listening = m.http->start();
  if (!listening)
    return listening;

  auto owner_options = module_options::mediaOwner(config_, *m.http);
  owner_options.records = config_.media_recording;
  owner_options.recordings_shared = !config_.media_recordings_dir.empty();
  owner_options.recordings_here = [&m](const std::string& room) {
    std::error_code ec;
    return std::filesystem::exists(m.media->recordingDir(room) + "/timeline.json", ec);
  };
  owner_options.whep_session_here = [&m](const std::string& room, const std::string& session) {
    return m.whep_egress->ownerOf(room, session).has_value();
  };
  owner_options.admit_publisher = [&m](const http::Request& req,
                                       std::function<void(std::optional<http::Response>)> done) {
    m.media_routes->whip->check(req, std::move(done));
  };
  m.media_owner = std::make_unique<MediaOwner>(loop_, *m.redis, *m.media, metrics_, owner_options);
  m.media_owner->guard(router_);
  m.release_leases = AtTeardown([this, &m] {
    m.media_owner->releaseAll();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (m.media_owner->releasing() > 0 && std::chrono::steady_clock::now() < deadline) {
      g_main_context_iteration(loop_.context(), FALSE);
      g_usleep(2000);
    }
  });

  if (!options_.first_admin.empty()) {
    // Once, as soon as Redis answers (the embedded one may still be starting).
    auto pending = std::make_shared<bool>(true);
    auto once = [this, pending](bool ready) {
      if (ready && *pending) {
        *pending = false;
        createFirstAdmin();
      }
    };
    m.redis->onStateChange(once);
    once(m.redis->ready());
  }
  if (options_.demo) {
    m.demo = std::make_unique<DemoCamera>(loop_, *m.redis, m.rooms_api->store(), *m.media,
                                          config_.demo_latency_stamp);
    m.demo->start();
  }
  return true;
}

RedisClient& App::redis() {
  return *modules_->redis;
}
const Jwt& App::jwt() const {
  return *modules_->jwt;
}
const std::string& App::dataKey() const {
  return modules_->data_key;
}
rooms::RoomStore& App::rooms() {
  return modules_->rooms_api->store();
}
media::WhepEgress& App::whepEgress() {
  return *modules_->whep_egress;
}
media::MediaService& App::media() {
  return *modules_->media;
}
MediaOwner& App::mediaOwner() {
  return *modules_->media_owner;
}
int App::httpPort() const {
  return modules_ && modules_->http ? modules_->http->httpPort() : -1;
}
int App::httpsPort() const {
  return modules_ && modules_->http ? modules_->http->httpsPort() : -1;
}

void App::addHealthRoutes() {
  router_.add(http::Method::Get, "/healthz", [](const http::Request&, const http::Responder& r) {
    r.json(200, {{"status", "ok"}});
  });
  router_.add(http::Method::Get, "/readyz", [this](const http::Request&, const http::Responder& r) {
    if (draining_) {
      // Out of the load balancer at once; the node is on its way out.
      auto resp = http::Response::json(
          503, {{"status", "draining"},
                {"error", {{"code", "node_draining"}, {"message", "this node is shutting down"}}}});
      r.send(std::move(resp));
      return;
    }
    bool redis_up = modules_ && modules_->redis && modules_->redis->ready();
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

void App::createFirstAdmin() {
  std::string base = config_.public_url;
  if (base.empty())
    base = "http://127.0.0.1:" + std::to_string(httpPort());
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  modules_->accounts->createWithLink(
      backoffice::AccountKind::Admin, options_.first_admin, "", "cli",
      [base](Result<backoffice::SigninLink> link) {
        if (!link.ok()) {
          log::error("first admin not created",
                     {{"code", link.error().code}, {"error", link.error().message}});
          return;
        }
        // On stdout, not in the log: whoever started the node opens it once.
        std::printf("first admin %s: sign in once at %s%s (until %lld)\n", link->account.c_str(),
                    base.c_str(), link->path.c_str(), static_cast<long long>(link->expires_at));
        std::fflush(stdout);
        log::info("first admin created", {{"account", link->account}});
      });
}

void App::addConfigRoute() {
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
  metrics_.gaugeFn("jobcast_redis_up", {}, [this] {
    return modules_ && modules_->redis && modules_->redis->ready() ? 1 : 0;
  });
  metrics_.describe("jobcast_redis_reconnects_total", Metrics::Type::Counter,
                    "Redis reconnect attempts since start.");
  metrics_.gaugeFn("jobcast_redis_reconnects_total", {}, [this] {
    return modules_ && modules_->redis ? static_cast<double>(modules_->redis->reconnects()) : 0;
  });
}

void App::run() {
  loop_.run();
}

void App::drain() {
  if (draining_ || !modules_ || !modules_->media_owner)
    return;
  draining_ = true;
  Modules& m = *modules_;
  log::info("draining", {{"timeout_ms", config_.drain_timeout_ms}});
  m.media_owner->drain();
  m.live->drain();
  if (m.demo) {
    // The demo camera is this node's own publisher: it cannot move, it stops.
    std::string room = m.demo->roomId();
    m.demo.reset();
    m.media->endRoom(room);
  }
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.drain_timeout_ms);
  drain_timer_.start(loop_, std::chrono::milliseconds(50), [this, deadline] {
    Modules& mods = *modules_;
    bool drained = !mods.media_owner->hasPublishers() && mods.media_owner->releasing() == 0 &&
                   mods.live->connections() == 0;
    bool late = std::chrono::steady_clock::now() >= deadline;
    if (!drained && !late)
      return true;
    if (drained) {
      log::info("drained");
    } else {
      log::warn("drain timed out: stopping with media or WebSockets still here",
                {{"publishing", mods.media_owner->hasPublishers()},
                 {"websockets", static_cast<int64_t>(mods.live->connections())}});
    }
    loop_.quit();
    return false;
  });
}

void App::shutdown() {
  drain_timer_.cancel();
  if (!modules_)
    return;
  // Stop taking requests first; then every module goes, last built first.
  if (modules_->http)
    modules_->http->stop();
  modules_.reset();
  loop_.drain();
}

}  // namespace jobcast
