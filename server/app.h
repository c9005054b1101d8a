#pragma once
// Builds the node from its config: loop, Redis (embedded or remote), HTTP(S)
// server and every module; runs it; shuts it down. Modules are built by their
// constructors in dependency order (App::Modules lists them in that order) and
// destroyed in reverse, so the teardown order is the declaration order read
// backwards (docs/architecture.md).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/jwt.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "media/media_service.h"
#include "media/required_elements.h"
#include "media/whep_egress.h"
#include "rooms/store.h"
#include "routing/media_owner.h"
#include "signaling/http.h"

namespace jobcast {

class App {
 public:
  struct Options {
    bool demo = false;  // publish the synthetic demo camera into the demo room
    // Non-empty: create an admin account of this name at start and print its
    // one-time sign-in link (`jobcastd --first-admin NAME`).
    std::string first_admin;
  };
  explicit App(Config config);
  App(Config config, Options options);
  ~App();

  // Starts Redis (or connects), builds the modules, binds the listeners. An
  // error says what failed.
  Result<bool> start();
  // Runs the loop until stop() or a signal.
  void run();
  // Asks the loop to return from run(); safe from any thread.
  void stop() { loop_.quit(); }
  // Drains the node (SIGTERM; docs/operations.md): /readyz answers 503, new
  // publishers and WHEP viewers are refused or sent to the room's node, live
  // WebSockets close with 1012, media leases are given up. The loop returns
  // once the publishers and WebSockets have gone, or after
  // server.drain_timeout_ms. Control thread.
  void drain();
  bool draining() const { return draining_; }
  // Stops taking requests and destroys the modules in reverse order of
  // construction; called after run() returns (and by the destructor).
  void shutdown();

  Loop& loop() { return loop_; }
  http::Router& router() { return router_; }
  Metrics& metrics() { return metrics_; }
  const Config& config() const { return config_; }
  // GStreamer elements the node needs and this machine lacks (checked in start()).
  const std::vector<media::RequiredElement>& missingElements() const { return missing_elements_; }
  // The rest is valid between start() and shutdown().
  RedisClient& redis();
  const Jwt& jwt() const;
  // The personal-data key, 64 hex characters (configured or generated once).
  const std::string& dataKey() const;
  rooms::RoomStore& rooms();
  media::WhepEgress& whepEgress();
  media::MediaService& media();
  MediaOwner& mediaOwner();
  int httpPort() const;
  int httpsPort() const;

 private:
  struct Modules;
  void addHealthRoutes();
  void addMetrics();
  void addConfigRoute();
  void createFirstAdmin();

  Config config_;
  Options options_;
  Loop loop_;
  Metrics metrics_;
  http::Router router_;
  std::vector<media::RequiredElement> missing_elements_;
  std::unique_ptr<Modules> modules_;  // built by start(), destroyed by shutdown()
  bool draining_ = false;
  Timer drain_timer_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace jobcast
