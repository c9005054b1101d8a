#include "server/demo.h"

#include <ctime>

#include "core/log.h"

namespace jobcast {

DemoCamera::DemoCamera(Loop& loop, RedisClient& redis, media::MediaService& media)
    : loop_(loop), redis_(redis), media_(media) {}

DemoCamera::~DemoCamera() {
  retry_.cancel();
  camera_.reset();
}

void DemoCamera::start() {
  seedRoom();
}

void DemoCamera::seedRoom() {
  // The room record the WHIP gate reads (docs/redis-schema.md). The demo
  // employer and its job cards are seeded through the rooms store once it is
  // part of the node; until then only the room hash is written here.
  std::string now = std::to_string(static_cast<long long>(std::time(nullptr)));
  redis_.command(
      {"HSET", std::string("jc:{r:") + kRoom + "}:room", "id", kRoom, "title", "Demo job fair",
       "employer_id", "demo-employer", "status", "live", "started_at", now, "created_at", now},
      [this](Result<RedisReply> reply) {
        if (!reply || reply->isError()) {
          log::warn("demo: cannot seed the room yet, retrying");
          retry_.start(loop_, std::chrono::milliseconds(500), [this] {
            seedRoom();
            return false;
          });
          return;
        }
        publish();
      });
}

void DemoCamera::publish() {
  media::WhipClient::Options options;
  options.width = 1280;
  options.height = 720;
  options.video_kbps = 1500;
  options.title = "Demo job fair - Warehouse operative - Delivery driver - Care assistant";
  options.clock = true;
  camera_ = std::make_unique<media::WhipClient>(options);
  // Blocks the loop for ICE gathering on host interfaces (tens of ms).
  auto offer = camera_->createOffer(std::chrono::seconds(5));
  if (!offer) {
    log::error("demo: camera did not start", {{"error", offer.error().message}});
    return;
  }
  media_.publish(kRoom, offer.value(), [this](Result<media::MediaService::Published> published) {
    if (!published) {
      log::error("demo: publish refused", {{"error", published.error().message}});
      return;
    }
    auto set = camera_->setAnswer(published->answer_sdp);
    if (!set) {
      log::error("demo: answer refused", {{"error", set.error().message}});
      return;
    }
    log::info("demo room live", {{"room", kRoom}, {"hls", "/hls/demo/master.m3u8"}});
  });
}

}  // namespace jobcast
