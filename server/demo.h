#pragma once
// `jobcastd --demo`: a live demo room and a synthetic camera publishing into it
// through the same ingest path as a WHIP publisher (MediaService::publish).
// Control thread.

#include <memory>

#include "core/loop.h"
#include "core/redis.h"
#include "media/media_service.h"
#include "media/whip_client.h"

namespace jobcast {

class DemoCamera {
 public:
  static constexpr const char* kRoom = "demo";
  DemoCamera(Loop& loop, RedisClient& redis, media::MediaService& media);
  ~DemoCamera();
  void start();

 private:
  void seedRoom();
  void publish();

  Loop& loop_;
  RedisClient& redis_;
  media::MediaService& media_;
  std::unique_ptr<media::WhipClient> camera_;
  Timer retry_;
};

}  // namespace jobcast
