#pragma once
// Builds the node from its config: loop, Redis (embedded or remote), HTTP(S)
// server and every module's routes; runs it; shuts it down in order.

#include <chrono>
#include <memory>

#include "core/config.h"
#include "core/jwt.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "core/redis_child.h"
#include "media/media_service.h"
#include "media/required_elements.h"
#include "media/room_programmes.h"
#include "media/whep_egress.h"
#include "signaling/http.h"
#include "signaling/http_server.h"
#include "signaling/live_channel.h"
#include "routing/media_owner.h"
#include "signaling/rooms_api.h"
#include "signaling/stage_api.h"
#include "signaling/static_files.h"
#include "signaling/whep.h"
#include "signaling/whip.h"

namespace jobcast {

class App {
 public:
  explicit App(Config config);
  ~App();

  // Starts Redis (or connects), binds the listeners. An error says what failed.
  Result<bool> start();
  // Runs the loop until stop() or a signal.
  void run();
  // Asks the loop to return from run(); safe from any thread.
  void stop() { loop_.quit(); }
  // Closes connections and stops the Redis child; called after run() returns.
  void shutdown();

  Loop& loop() { return loop_; }
  http::Router& router() { return router_; }
  Metrics& metrics() { return metrics_; }
  RedisClient& redis() { return *redis_; }
  const Jwt& jwt() const { return *jwt_; }
  // The personal-data key, 64 hex characters (configured or generated once).
  const std::string& dataKey() const { return data_key_; }
  const Config& config() const { return config_; }
  // Rooms, jobs, profiles and applications (valid after start()).
  rooms::RoomStore& rooms() { return rooms_api_->store(); }
  // WHEP viewers; rooms' programme feeds register here.
  media::WhepEgress& whepEgress() { return *whep_egress_; }
  media::MediaService& media() { return *media_; }
  // Publishes the synthetic demo camera into the demo room once started.
  void enableDemo() { demo_enabled_ = true; }
  // GStreamer elements the node needs and this machine lacks (checked in start()).
  const std::vector<media::RequiredElement>& missingElements() const { return missing_elements_; }
  // Which node carries each room's media; 307 to it (valid after start()).
  MediaOwner& mediaOwner() { return *media_owner_; }
  int httpPort() const { return http_ ? http_->httpPort() : -1; }
  int httpsPort() const { return http_ ? http_->httpsPort() : -1; }

 private:
  void addHealthRoutes();
  void addMetrics();
  void addPages();
  void addWhep();
  void addMedia();
  void addMediaOwner();

  Config config_;
  Loop loop_;
  Metrics metrics_;
  http::Router router_;
  std::unique_ptr<Jwt> jwt_;
  std::string data_key_;
  std::unique_ptr<EmbeddedRedis> embedded_redis_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<RoomsApi> rooms_api_;  // shutdown() resets it after redis_ (callbacks)
  std::unique_ptr<ws::LiveChannel> live_;
  std::unique_ptr<media::MediaService> media_;
  std::vector<media::RequiredElement> missing_elements_;
  std::unique_ptr<MediaRoutes> media_routes_;
  std::unique_ptr<class DemoCamera> demo_;
  bool demo_enabled_ = false;
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<http::StaticFiles> static_files_;
  std::unique_ptr<media::WhepEgress> whep_egress_;
  std::unique_ptr<http::WhepEndpoint> whep_;
  std::unique_ptr<http::StageApi> stage_api_;
  std::unique_ptr<media::RoomProgrammes> room_programmes_;  // rooms' programmes -> WHEP
  std::unique_ptr<MediaOwner> media_owner_;  // after http_ starts: its URL names the port
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace jobcast
