#pragma once
// A room's media lease in Redis: the one node that carries a room's media (its
// WHIP publisher, HLS and WHEP viewers) holds keys::mediaNode(ROOM), with a
// time to live it renews while it has the media. A node that dies loses it
// when the time runs out; another node may then take the room. The Lua
// scripts beside this file are the logic. Control thread only.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/redis.h"
#include "core/result.h"

namespace jobcast {

// One node as other nodes reach it: its id and public base URL.
struct MediaNode {
  std::string id;
  std::string url;  // "https://node1.example.org", no trailing slash

  // The lease value: {"node":ID,"url":URL}. The same node always writes the same text.
  std::string value() const;
  static std::optional<MediaNode> parse(const std::string& value);
};

class MediaLease {
 public:
  struct Claim {
    bool ours = false;   // this node holds the lease now
    bool taken = false;  // it was free and this call took it
    MediaNode holder;    // who holds it (this node when ours)
  };

  MediaLease(RedisClient& redis, MediaNode self, std::chrono::milliseconds ttl);

  static std::string key(const std::string& room);
  const MediaNode& self() const { return self_; }
  std::chrono::milliseconds ttl() const { return ttl_; }

  // Takes the lease when free or renews it when ours; reports the holder
  // otherwise. Error "redis_unavailable" when Redis does not answer.
  void claim(const std::string& room, std::function<void(Result<Claim>)> done);
  // Gives the lease up if this node still holds it; true when it did.
  void release(const std::string& room, std::function<void(Result<bool>)> done);
  // Who holds the room's lease now (nullopt: nobody).
  void holder(const std::string& room, std::function<void(Result<std::optional<MediaNode>>)> done);

 private:
  RedisClient& redis_;
  MediaNode self_;
  std::string value_;
  std::chrono::milliseconds ttl_;
};

}  // namespace jobcast
