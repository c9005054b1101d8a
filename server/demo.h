#pragma once
// `jobcastd --demo`: a verified demo employer, a live demo room with three job
// cards (created through the rooms store like any other), and a synthetic
// camera publishing into it through the same ingest path as a WHIP publisher
// (MediaService::publish). The room `demo` is reused across restarts until it
// ends. Control thread, except the camera's blocking calls (its offer waits for
// ICE gathering), which run on the camera's own thread, joined before the next
// and in the destructor, and post their result back.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/loop.h"
#include "core/redis.h"
#include "media/media_service.h"
#include "media/whip_client.h"
#include "rooms/store.h"

namespace jobcast {

class DemoCamera {
 public:
  // The demo room's id while it has not ended (then a fresh room takes over).
  static constexpr const char* kRoomId = "demo";
  // `latency_stamp`: the camera paints its send time into every frame.
  DemoCamera(Loop& loop, RedisClient& redis, rooms::RoomStore& store, media::MediaService& media,
             bool latency_stamp = false);
  ~DemoCamera();
  void start();
  const std::string& roomId() const { return room_id_; }

 private:
  void findOrCreateRoom();
  void createRoom(const std::string& id);
  void retryLater();
  void publish(const std::string& title);
  void onPublished(Result<media::MediaService::Published> published);
  // Runs `work` on the camera's thread, then `then` with its result on the
  // control thread (not at all once this object is gone).
  void offBoard(std::function<Result<std::string>()> work,
                std::function<void(Result<std::string>)> then);

  Loop& loop_;
  bool latency_stamp_;
  RedisClient& redis_;
  rooms::RoomStore& store_;
  media::MediaService& media_;
  std::string room_id_;
  std::unique_ptr<media::WhipClient> camera_;
  Timer retry_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::thread thread_;  // the camera's blocking calls, one at a time
};

}  // namespace jobcast
