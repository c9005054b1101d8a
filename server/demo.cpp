#include "server/demo.h"

#include "core/log.h"
#include "rooms/demo.h"

namespace jobcast {

DemoCamera::DemoCamera(Loop& loop, RedisClient& redis, rooms::RoomStore& store,
                       media::MediaService& media, bool latency_stamp)
    : loop_(loop), latency_stamp_(latency_stamp), redis_(redis), store_(store), media_(media) {}

DemoCamera::~DemoCamera() {
  retry_.cancel();
  alive_.reset();  // a result still on its way is dropped
  if (thread_.joinable())
    thread_.join();
  camera_.reset();
}

void DemoCamera::start() {
  findOrCreateRoom();
}

void DemoCamera::retryLater() {
  retry_.start(loop_, std::chrono::milliseconds(500), [this] {
    findOrCreateRoom();
    return false;
  });
}

void DemoCamera::findOrCreateRoom() {
  store_.snapshot(kRoomId, [this](Result<rooms::RoomSnapshot> snap) {
    if (!snap.ok() && snap.error().code == "room_not_found")
      return createRoom(kRoomId);
    if (!snap.ok()) {
      log::warn("demo: rooms not readable yet, retrying", {{"error", snap.error().message}});
      return retryLater();
    }
    if (snap->room.status == rooms::RoomStatus::Ended)
      return createRoom("");  // someone ended it: carry on in a fresh room
    room_id_ = snap->room.id;
    std::string title = snap->room.title;
    for (const auto& job : snap->jobs) {
      if (job.id == snap->room.pinned_job)
        title += " - " + job.title;
    }
    if (snap->room.status == rooms::RoomStatus::Live)
      return publish(title);
    Claims admin;
    admin.sub = "demo";
    admin.role = Role::Admin;
    admin.rooms = {"*"};
    store_.startRoom(room_id_, admin, [this, title](Result<rooms::Room> room) {
      if (!room.ok()) {
        log::warn("demo: cannot start the demo room", {{"error", room.error().message}});
        return retryLater();
      }
      publish(title);
    });
  });
}

void DemoCamera::createRoom(const std::string& id) {
  rooms::DemoOptions options;
  options.room_id = id;
  rooms::createDemoRoom(store_, options, [this](Result<rooms::DemoRoom> demo) {
    if (!demo.ok()) {
      log::warn("demo: cannot create the demo room", {{"error", demo.error().message}});
      return retryLater();
    }
    room_id_ = demo->room.id;
    std::string title = demo->room.title;
    if (!demo->jobs.empty())
      title += " - " + demo->jobs.front().title;
    publish(title);
  });
}

void DemoCamera::publish(const std::string& title) {
  media::WhipClient::Options options;
  options.width = 1280;
  options.height = 720;
  options.video_kbps = 1500;
  options.title = title;
  options.clock = true;
  options.stamp = latency_stamp_;
  camera_ = std::make_unique<media::WhipClient>(options);
  // The camera's offer waits for ICE gathering (up to 5 s): on the camera's
  // own thread, never on the control thread. The result comes back posted.
  offBoard([camera = camera_.get()] { return camera->createOffer(std::chrono::seconds(5)); },
           [this](Result<std::string> offer) {
             if (!offer) {
               log::error("demo: camera did not start", {{"error", offer.error().message}});
               return;
             }
             media_.publish(room_id_, offer.value(),
                            [this](Result<media::MediaService::Published> published) {
                              onPublished(std::move(published));
                            });
           });
}

void DemoCamera::onPublished(Result<media::MediaService::Published> published) {
  if (!published) {
    log::error("demo: publish refused", {{"error", published.error().message}});
    return;
  }
  std::string answer = published->answer_sdp;
  offBoard(
      [camera = camera_.get(), answer]() -> Result<std::string> {
        auto set = camera->setAnswer(answer);
        if (!set)
          return set.error();
        return std::string();
      },
      [this](Result<std::string> set) {
        if (!set) {
          log::error("demo: answer refused", {{"error", set.error().message}});
          return;
        }
        log::info("demo room live", {{"room", room_id_},
                                     {"page", "/room/" + room_id_},
                                     {"hls", "/hls/" + room_id_ + "/master.m3u8"}});
      });
}

void DemoCamera::offBoard(std::function<Result<std::string>()> work,
                          std::function<void(Result<std::string>)> then) {
  if (thread_.joinable())
    thread_.join();  // the previous step has posted its result already
  std::weak_ptr<bool> alive = alive_;
  Loop* loop = &loop_;
  thread_ = std::thread([loop, alive, work = std::move(work), then = std::move(then)] {
    auto result = std::make_shared<Result<std::string>>(work());
    loop->post([alive, then, result] {
      if (alive.lock())
        then(std::move(*result));
    });
  });
}

}  // namespace jobcast
