#include "routing/media_owner.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "core/log.h"
#include "rooms/keys.h"

namespace jobcast {
namespace {

// Hands a response on to `next` after `seen` has looked at it. A handler that
// drops its responder without answering still reaches `seen` (status 0).
class ResponseTap : public http::Responder::Sink {
 public:
  ResponseTap(http::Responder next, std::function<void(http::Response&)> seen)
      : next_(std::move(next)), seen_(std::move(seen)) {}
  ~ResponseTap() override {
    if (seen_) {
      http::Response none;
      none.status = 0;
      seen_(none);
    }
  }
  void deliver(http::Response response) override {
    if (auto seen = std::exchange(seen_, nullptr))
      seen(response);
    next_.send(std::move(response));
  }

 private:
  http::Responder next_;
  std::function<void(http::Response&)> seen_;
};

std::string percentEncode(const std::string& text, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The request's path and query as sent (both arrive decoded).
std::string target(const http::Request& req) {
  std::string out = percentEncode(req.path, true);
  char sep = '?';
  for (const auto& [name, value] : req.query) {
    out += sep + percentEncode(name, false);
    if (!value.empty())
      out += "=" + percentEncode(value, false);
    sep = '&';
  }
  return out;
}

bool isSdp(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type.rfind("application/sdp", 0) == 0;
}

}  // namespace

MediaOwner::MediaOwner(Loop& loop, RedisClient& redis, media::MediaService& media, Metrics& metrics,
                       Options options)
    : loop_(loop),
      redis_(redis),
      media_(media),
      metrics_(metrics),
      options_(std::move(options)),
      lease_(redis, options_.self, options_.lease_ttl) {
  metrics_.describe("jobcast_media_redirects_total", Metrics::Type::Counter,
                    "Requests for a room whose media is on another node, answered 307 to it.");
  for (const char* kind : {"whip", "whep", "hls", "recordings"})
    metrics_.add("jobcast_media_redirects_total", {{"kind", kind}}, 0);
  metrics_.describe("jobcast_media_leases", Metrics::Type::Gauge,
                    "Rooms whose media lease this node holds.");
  metrics_.gaugeFn("jobcast_media_leases", {},
                   [this] { return static_cast<double>(held_.size()); });

  std::weak_ptr<bool> alive = alive_;
  media_.onStateChange(
      [this, alive](const std::string& room, media::StageState state, const std::string&) {
        if (!alive.expired())
          onStage(room, state);
      });
  auto every = std::max(options_.lease_ttl / 3, std::chrono::milliseconds(100));
  renew_timer_.start(loop_, every, [this] {
    renew();
    return true;
  });
  heartbeat();
  log::info("media owner", {{"node", options_.self.id},
                            {"url", options_.self.url},
                            {"lease_ms", options_.lease_ttl.count()}});
}

MediaOwner::~MediaOwner() = default;

void MediaOwner::guard(http::Router& router) {
  auto wrap = [&router](http::Method method, const char* pattern,
                        std::function<http::Handler(http::Handler)> with) {
    if (!router.wrap(method, pattern, with))
      log::warn("media owner: no such route", {{"route", pattern}});
  };
  wrap(http::Method::Post, "/whip/{room}", [this](http::Handler h) { return claiming(h); });
  wrap(http::Method::Post, "/whep/{room}",
       [this](http::Handler h) { return redirecting("whep", h); });
  // A session's resource is on the node that answered its POST; a request
  // that reaches another node (a load balancer's choice) goes there.
  auto whip_here = [this](const std::string& room, const std::string& session) {
    return media_.hasSession(room, session);
  };
  wrap(http::Method::Delete, "/whip/{room}/{session}",
       [this, whip_here](http::Handler h) { return following("whip", whip_here, h); });
  for (auto method : {http::Method::Delete, http::Method::Patch}) {
    wrap(method, "/whep/{room}/{session}",
         [this](http::Handler h) { return following("whep", options_.whep_session_here, h); });
  }
  for (const char* hls : {"/hls/{room}/master.m3u8", "/hls/{room}/{rendition}/index.m3u8",
                          "/hls/{room}/{rendition}/{segment}"}) {
    wrap(http::Method::Get, hls, [this](http::Handler h) { return redirecting("hls", h); });
  }
  wrap(http::Method::Get, "/api/v1/rooms/{id}/media",
       [this](http::Handler h) { return reporting(h); });
  wrap(http::Method::Get, "/api/v1/rooms/{id}/recordings",
       [this](http::Handler h) { return recordingsFollowing("id", h); });
  wrap(http::Method::Get, "/recordings/{room}/{file}",
       [this](http::Handler h) { return recordingsFollowing("room", h); });
}

void MediaOwner::toHolderOr(const std::string& room, const std::string& kind,
                            const http::Handler& inner, const http::Request& req,
                            const http::Responder& res) {
  std::weak_ptr<bool> alive = alive_;
  lookup(room, [this, alive, kind, inner, req, res](Holder holder) {
    if (alive.expired())
      return;
    if (elsewhere(holder))
      return moved(kind, *holder.value(), req, res);
    inner(req, res);
  });
}

http::Handler MediaOwner::redirecting(const std::string& kind, http::Handler inner) {
  return [this, kind, inner](const http::Request& req, const http::Responder& res) {
    std::string room = req.param("room");
    if (draining_ && kind == "whep" && media::validRoomId(room))
      return refuseDraining(kind, req, res);
    // The media is here (the hot path of HLS on the owner): no lookup.
    if (!media::validRoomId(room) || hasMedia(room))
      return inner(req, res);
    toHolderOr(room, kind, inner, req, res);
  };
}

http::Handler MediaOwner::claiming(http::Handler inner) {
  return [this, inner](const http::Request& req, const http::Responder& res) {
    std::string room = req.param("room");
    // Requests WHIP refuses before anything else take no lease.
    if (!media::validRoomId(room) || req.bearerToken().empty() ||
        !isSdp(req.header("content-type")))
      return inner(req, res);
    std::weak_ptr<bool> alive = alive_;
    if (options_.admit_publisher) {
      options_.admit_publisher(
          req, [this, alive, inner, req, res](std::optional<http::Response> refusal) {
            if (alive.expired())
              return;
            if (refusal)
              return res.send(std::move(*refusal));
            if (draining_)
              return refuseDraining("whip", req, res);
            claimFor(inner, req, res);
          });
      return;
    }
    if (draining_)
      return refuseDraining("whip", req, res);
    claimFor(inner, req, res);
  };
}

http::Handler MediaOwner::following(
    const std::string& kind, std::function<bool(const std::string&, const std::string&)> here,
    http::Handler inner) {
  return [this, kind, here, inner](const http::Request& req, const http::Responder& res) {
    std::string room = req.param("room");
    if (!media::validRoomId(room) || !here || here(room, req.param("session")))
      return inner(req, res);
    toHolderOr(room, kind, inner, req, res);  // nobody else: this node's answer (404)
  };
}

http::Handler MediaOwner::recordingsFollowing(const std::string& param, http::Handler inner) {
  return [this, param, inner](const http::Request& req, const http::Responder& res) {
    std::string room = req.param(param);
    if (options_.recordings_shared || !media::validRoomId(room) ||
        (options_.recordings_here && options_.recordings_here(room)))
      return inner(req, res);
    std::weak_ptr<bool> alive = alive_;
    redis_.command({"HGETALL", rooms::keys::recordingNodes(room)},
                   [this, alive, inner, req, res](Result<RedisReply> reply) {
                     if (alive.expired())
                       return;
                     std::vector<MediaNode> others;
                     if (reply && reply->type == RedisReply::Type::Array) {
                       const auto& flat = reply->elements;
                       for (size_t i = 0; i + 1 < flat.size(); i += 2) {
                         auto node = MediaNode::parse(flat[i + 1].str);
                         if (node && elsewhere(Holder(std::optional<MediaNode>(*node))))
                           others.push_back(*node);
                       }
                     }
                     if (others.empty())
                       return inner(req, res);  // nobody else has them: this node's answer
                     toLiveRecorder(std::move(others), 0, inner, req, res);
                   });
  };
}

void MediaOwner::toLiveRecorder(std::vector<MediaNode> nodes, size_t next,
                                const http::Handler& inner, const http::Request& req,
                                const http::Responder& res) {
  if (next >= nodes.size()) {
    res.error(410, "recording_node_gone",
              "the node that recorded this room is gone, and its recordings with it "
              "(media.recordings_dir shares them between nodes)");
    return;
  }
  std::string key = rooms::keys::nodeAlive(nodes[next].id);
  std::weak_ptr<bool> alive = alive_;
  redis_.command({"EXISTS", key}, [this, alive, nodes = std::move(nodes), next, inner, req,
                                   res](Result<RedisReply> reply) mutable {
    if (alive.expired())
      return;
    if (!reply || reply->type != RedisReply::Type::Integer)
      return inner(req, res);  // Redis does not answer: serve what this node has
    if (reply->integer == 1)
      return moved("recordings", nodes[next], req, res);
    toLiveRecorder(std::move(nodes), next + 1, inner, req, res);
  });
}

void MediaOwner::heartbeat() {
  redis_.command({"SET", rooms::keys::nodeAlive(self().id), self().value(), "PX",
                  std::to_string(options_.lease_ttl.count())},
                 [](Result<RedisReply>) {});  // missed: the next round sets it
}

void MediaOwner::gained(const std::string& room) {
  if (!held_.insert(room).second || !options_.records || options_.recordings_shared)
    return;
  redis_.command({"HSET", rooms::keys::recordingNodes(room), self().id, self().value()},
                 [room](Result<RedisReply> reply) {
                   if (!reply || reply->isError())
                     log::warn("recording node not noted", {{"room", room}});
                 });
}

void MediaOwner::refuseDraining(const std::string& kind, const http::Request& req,
                                const http::Responder& res) {
  std::weak_ptr<bool> alive = alive_;
  lookup(req.param("room"), [this, alive, kind, req, res](Holder holder) {
    if (alive.expired())
      return;
    if (elsewhere(holder))
      return moved(kind, *holder.value(), req, res);
    auto r = http::Response::error(
        503, "node_draining", "this node is shutting down: retry, another node takes the room");
    r.header("retry-after", std::to_string(options_.drain_retry_after_s));
    res.send(std::move(r));
  });
}

void MediaOwner::claimFor(const http::Handler& inner, const http::Request& req,
                          const http::Responder& res) {
  std::string room = req.param("room");
  std::weak_ptr<bool> alive = alive_;
  lease_.claim(room, [this, alive, inner, req, res, room](Result<MediaLease::Claim> claim) {
    if (alive.expired())
      return;
    if (!claim) {
      log::warn("media lease unavailable; admitting the publisher here",
                {{"room", room}, {"error", claim.error().message}});
      return inner(req, res);
    }
    remember(room, claim->holder);
    if (!claim->ours)
      return moved("whip", claim->holder, req, res);
    if (draining_) {  // the drain began while the claim was on its way
      held_.insert(room);
      release(room);
      return refuseDraining("whip", req, res);
    }
    if (claim->taken)
      log::info("media lease taken", {{"room", room}});
    gained(room);
    lost_.erase(room);
    ++admitting_[room];
    // Whatever WHIP answers, the lease stays only while the room's media is here.
    auto tap = std::make_shared<ResponseTap>(res, [this, alive, room](http::Response& r) {
      if (alive.expired())
        return;
      if (--admitting_[room] <= 0)
        admitting_.erase(room);
      if (r.status / 100 != 2 && !hasMedia(room))
        release(room);
    });
    inner(req, http::Responder(tap));
  });
}

http::Handler MediaOwner::reporting(http::Handler inner) {
  return [this, inner](const http::Request& req, const http::Responder& res) {
    std::string room = req.param("id");
    if (!media::validRoomId(room))
      return inner(req, res);
    std::weak_ptr<bool> alive = alive_;
    lookup(room, [this, alive, inner, req, res](Holder holder) {
      if (alive.expired())
        return;
      nlohmann::json owner = nullptr;
      if (holder && holder.value()) {
        const MediaNode& node = *holder.value();
        owner = {{"node", node.id}, {"url", node.url}, {"here", !elsewhere(holder)}};
      }
      auto tap = std::make_shared<ResponseTap>(res, [owner](http::Response& r) {
        if (r.status != 200)
          return;
        auto body = nlohmann::json::parse(r.body, nullptr, false);
        if (!body.is_object())
          return;
        body["owner"] = owner;
        r.body = body.dump();
      });
      inner(req, http::Responder(tap));
    });
  };
}

void MediaOwner::lookup(const std::string& room, std::function<void(Holder)> done) {
  auto now = std::chrono::steady_clock::now();
  Cached& cached = cache_[room];
  if (!cached.asking && cached.until > now)
    return done(cached.holder);
  cached.waiting.push_back(std::move(done));
  if (cached.asking)
    return;  // one question per room in flight; everyone waits for its answer
  cached.asking = true;
  std::weak_ptr<bool> alive = alive_;
  lease_.holder(room, [this, alive, room](Holder holder) {
    if (alive.expired())
      return;
    Cached& c = cache_[room];
    c.asking = false;
    if (holder) {
      c.holder = holder.value();
      c.until = std::chrono::steady_clock::now() + options_.lookup_cache;
    }
    auto waiting = std::move(c.waiting);
    c.waiting.clear();
    for (auto& w : waiting)
      w(holder);
  });
}

void MediaOwner::remember(const std::string& room, const std::optional<MediaNode>& holder) {
  Cached& c = cache_[room];
  c.holder = holder;
  c.until = std::chrono::steady_clock::now() + options_.lookup_cache;
}

bool MediaOwner::elsewhere(const Holder& holder) const {
  if (!holder || !holder.value())
    return false;
  const MediaNode& node = *holder.value();
  // Never send a client back to this node, even under an id from an earlier run.
  return node.id != self().id && node.url != self().url && !node.url.empty();
}

void MediaOwner::moved(const std::string& kind, const MediaNode& holder, const http::Request& req,
                       const http::Responder& res) {
  metrics_.add("jobcast_media_redirects_total", {{"kind", kind}});
  auto r = http::Response::error(307, "moved", "this room's media is on another node");
  r.header("location", holder.url + target(req));
  r.header("cache-control", "no-cache");  // the owner changes when the room moves
  res.send(std::move(r));
}

bool MediaOwner::hasMedia(const std::string& room) const {
  if (admitting_.count(room) || media_.onStage(room))
    return true;
  auto state = media_.state(room);
  return state == media::StageState::Live || state == media::StageState::Reconnecting;
}

void MediaOwner::onStage(const std::string& room, media::StageState state) {
  if (state == media::StageState::Idle) {
    if (held_.count(room) && !hasMedia(room))
      release(room);
    return;
  }
  // A publisher that came without WHIP (the demo camera) or while Redis was down.
  if (!held_.count(room) && !draining_)
    claim(room);
}

void MediaOwner::renew() {
  heartbeat();
  if (draining_)
    return;  // the leases were given up; the node still serves what it has
  std::set<std::string> rooms = held_;
  for (const auto& room : media_.rooms()) {
    if (hasMedia(room))
      rooms.insert(room);
  }
  for (const auto& room : rooms) {
    if (hasMedia(room))
      claim(room);
    else
      release(room);
  }
  auto now = std::chrono::steady_clock::now();
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (!it->second.asking && it->second.until <= now)
      it = cache_.erase(it);
    else
      ++it;
  }
}

void MediaOwner::claim(const std::string& room) {
  std::weak_ptr<bool> alive = alive_;
  lease_.claim(room, [this, alive, room](Result<MediaLease::Claim> claim) {
    if (alive.expired())
      return;
    if (!claim) {
      log::debug("media lease not renewed", {{"room", room}, {"error", claim.error().message}});
      return;  // the next round tries again; the lease lasts three rounds
    }
    remember(room, claim->holder);
    if (!claim->ours) {
      held_.erase(room);
      if (lost_.insert(room).second)
        log::warn("room media is here but another node holds its lease",
                  {{"room", room}, {"holder", claim->holder.id}});
      return;
    }
    lost_.erase(room);
    if (claim->taken)
      log::info("media lease taken", {{"room", room}});
    gained(room);
    if (!hasMedia(room) || draining_)
      release(room);  // the media ended, or the drain began, while the claim was on its way
  });
}

void MediaOwner::release(const std::string& room) {
  held_.erase(room);
  lost_.erase(room);
  if (!cache_[room].asking)
    cache_.erase(room);
  ++releasing_;
  std::weak_ptr<bool> alive = alive_;
  lease_.release(room, [this, alive, room](Result<bool> released) {
    if (!alive.expired())
      --releasing_;
    if (!released)
      log::warn("media lease not released; it expires on its own",
                {{"room", room}, {"error", released.error().message}});
    else if (released.value())
      log::info("media lease released", {{"room", room}});
  });
}

void MediaOwner::drain() {
  if (draining_)
    return;
  draining_ = true;
  log::info("draining: media leases given up", {{"leases", static_cast<int64_t>(held_.size())}});
  std::set<std::string> rooms = held_;
  for (const auto& room : rooms)
    release(room);
}

bool MediaOwner::hasPublishers() const {
  if (!admitting_.empty())
    return true;
  for (const auto& room : media_.rooms()) {
    if (media_.state(room) == media::StageState::Live)
      return true;
  }
  return false;
}

void MediaOwner::releaseAll() {
  renew_timer_.cancel();
  std::set<std::string> rooms = held_;
  for (const auto& room : rooms)
    release(room);
  ++releasing_;
  std::weak_ptr<bool> alive = alive_;
  redis_.command({"DEL", rooms::keys::nodeAlive(self().id)}, [this, alive](Result<RedisReply>) {
    if (!alive.expired())
      --releasing_;
  });
}

}  // namespace jobcast
