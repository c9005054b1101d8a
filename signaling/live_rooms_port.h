#pragma once
// Connects the live channel to the rooms domain: the welcome snapshot gets the
// room's jobs, pinned job and counts from rooms::RoomStore, a jobseeker's own
// applications in this room, and the `apply` action is RoomStore::apply — the
// same idempotent operation as the REST apply. Control thread only.

#include "rooms/live/live_room.h"
#include "rooms/store.h"

namespace jobcast::ws {

class RoomStorePort : public live::RoomsPort {
 public:
  explicit RoomStorePort(rooms::RoomStore& store) : store_(store) {}

  void enrichSnapshot(const std::string& room, const rooms::Actor& actor, nlohmann::json snapshot,
                      std::function<void(nlohmann::json)> done) override;
  void apply(const std::string& room, const rooms::Actor& actor, const nlohmann::json& args,
             std::function<void(Result<nlohmann::json>)> done) override;

 private:
  rooms::RoomStore& store_;
};

}  // namespace jobcast::ws
