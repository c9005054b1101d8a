#pragma once
// A room's media runs on one node: the holder of the room's media lease
// (routing/media_lease.h). MediaOwner keeps this node's leases and sends
// requests for another node's rooms there. Control thread only.
//
// - POST /whip/{room}: once the token, the room and the access policy admit
//   the publisher, takes the lease (or renews it); when another node holds
//   it, 307 to that node. A refused request never touches the lease.
// - POST /whep/{room}, GET /hls/{room}/...: 307 to the holder when it is
//   another node (looked up in Redis, remembered for a second per room).
// - DELETE /whip/{room}/{session}, DELETE and PATCH /whep/{room}/{session}:
//   a session that is not on this node is sent (307) to the room's holder.
// - GET /api/v1/rooms/{id}/media: names the holder ("owner").
// - GET /api/v1/rooms/{id}/recordings, /recordings/{room}/{file}: unless the
//   recordings directory is shared, a room with no recordings here is sent
//   (307) to a node that carried its media (keys::recordingNodes) and is
//   alive (keys::nodeAlive, renewed with the leases); 410
//   recording_node_gone when every such node is gone.
// - drain(): the node is going away. Its leases are given up at once and no
//   longer renewed; WHIP and WHEP POSTs are sent to the room's holder when
//   another node has it, else refused (503 node_draining, Retry-After).
// - While the room's media is here (a publisher on stage or reconnecting) the
//   lease is renewed every third of its time to live; when the media ends it
//   is given up at once. A node that dies loses its leases when they expire.
// When Redis does not answer, requests are served here as if there were no lease.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/loop.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "media/media_service.h"
#include "routing/media_lease.h"
#include "signaling/http.h"

namespace jobcast {

class MediaOwner {
 public:
  struct Options {
    MediaNode self;
    std::chrono::milliseconds lease_ttl{10000};
    // How long a looked-up holder is trusted, so HLS segments do not each ask Redis.
    std::chrono::milliseconds lookup_cache{1000};
    // The checks WHIP makes before admitting a publisher (WhipEndpoint::check):
    // a request it refuses is answered at once and takes no lease.
    std::function<void(const http::Request&, std::function<void(std::optional<http::Response>)>)>
        admit_publisher;
    // Whether a WHEP session is on this node (WhepEgress::ownerOf).
    std::function<bool(const std::string& room, const std::string& session)> whep_session_here;
    // Retry-After of the 503 answered while draining.
    int drain_retry_after_s = 2;
    // Rooms whose media this node carries are recorded here (media.recording).
    bool records = true;
    // media.recordings_dir is set: every node reads every recording itself.
    bool recordings_shared = false;
    // Whether this node holds recordings of the room.
    std::function<bool(const std::string& room)> recordings_here;
  };

  MediaOwner(Loop& loop, RedisClient& redis, media::MediaService& media, Metrics& metrics,
             Options options);
  ~MediaOwner();
  MediaOwner(const MediaOwner&) = delete;
  MediaOwner& operator=(const MediaOwner&) = delete;

  // Wraps the WHIP, WHEP, HLS and media-state routes already on `router`.
  void guard(http::Router& router);
  // Gives up every lease this node holds and says the node is gone (at
  // shutdown, while Redis is up).
  void releaseAll();
  // Stops taking rooms and gives up every lease (SIGTERM); see above.
  void drain();
  bool draining() const { return draining_; }
  // A publisher is on air on this node, or being admitted. (A room left
  // reconnecting is not waited for: its publisher comes back elsewhere.)
  bool hasPublishers() const;
  const MediaNode& self() const { return lease_.self(); }
  size_t leasesHeld() const { return held_.size(); }
  // Releases sent and not yet answered.
  int releasing() const { return releasing_; }

 private:
  using Holder = Result<std::optional<MediaNode>>;

  http::Handler redirecting(const std::string& kind, http::Handler inner);
  http::Handler claiming(http::Handler inner);
  // For a session's resource: runs `inner` when `here` says the session is on
  // this node, else sends the request to the room's holder (if another node).
  http::Handler following(const std::string& kind,
                          std::function<bool(const std::string&, const std::string&)> here,
                          http::Handler inner);
  // Recordings: served here, or sent to the node that has them (see above).
  http::Handler recordingsFollowing(const std::string& param, http::Handler inner);
  // 307 to the first of `nodes` from `next` on that is alive; 410 when none is.
  void toLiveRecorder(std::vector<MediaNode> nodes, size_t next, const http::Handler& inner,
                      const http::Request& req, const http::Responder& res);
  // Keeps keys::nodeAlive and, when a room's lease is gained, keys::recordingNodes.
  void heartbeat();
  void gained(const std::string& room);
  // While draining: 307 to the room's holder elsewhere, else 503 node_draining.
  void refuseDraining(const std::string& kind, const http::Request& req,
                      const http::Responder& res);
  // Takes the room's lease for an admitted publisher, then runs `inner`.
  void claimFor(const http::Handler& inner, const http::Request& req, const http::Responder& res);
  http::Handler reporting(http::Handler inner);
  // The room's holder, from the cache when fresh.
  void lookup(const std::string& room, std::function<void(Holder)> done);
  // Sends the request to the node holding the room's media when another
  // node does (307), else lets `inner` answer here.
  void toHolderOr(const std::string& room, const std::string& kind, const http::Handler& inner,
                  const http::Request& req, const http::Responder& res);
  void remember(const std::string& room, const std::optional<MediaNode>& holder);
  // True when `holder` names a node other than this one.
  bool elsewhere(const Holder& holder) const;
  void moved(const std::string& kind, const MediaNode& holder, const http::Request& req,
             const http::Responder& res);
  // The room's media is here, or a publisher is being admitted.
  bool hasMedia(const std::string& room) const;
  void onStage(const std::string& room, media::StageState state);
  void renew();
  void claim(const std::string& room);
  void release(const std::string& room);

  Loop& loop_;
  RedisClient& redis_;
  media::MediaService& media_;
  Metrics& metrics_;
  Options options_;
  MediaLease lease_;
  std::set<std::string> held_;            // rooms whose lease this node holds
  std::set<std::string> lost_;            // media here, lease another node's (logged once)
  std::map<std::string, int> admitting_;  // WHIP posts in flight, by room
  int releasing_ = 0;
  bool draining_ = false;
  struct Cached {
    std::chrono::steady_clock::time_point until;
    std::optional<MediaNode> holder;
    bool asking = false;
    std::vector<std::function<void(Holder)>> waiting;
  };
  std::map<std::string, Cached> cache_;
  Timer renew_timer_;
  // Redis and media callbacks may outlive this object; they hold a weak reference.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace jobcast
