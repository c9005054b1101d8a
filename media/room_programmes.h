#pragma once
// Connects each room's publisher pipeline (MediaService) to WHEP viewers
// (WhepEgress): when a publisher goes live, the room's ProgrammeFeed taps the
// pipeline's programme tees ("programme-video", "programme-opus": the
// published H.264 and Opus, passthrough) and keyframe requests go to the
// publisher as RTCP. While the publisher reconnects the feed stays registered
// (viewers keep their sessions and resume at the next keyframe); when the
// room's stage goes idle, the feed is withdrawn and its viewers released.
// Control thread only.

#include <map>
#include <memory>
#include <string>

#include "media/media_service.h"
#include "media/programme_feed.h"
#include "media/whep_egress.h"

namespace jobcast::media {

class RoomProgrammes {
 public:
  RoomProgrammes(MediaService& media, WhepEgress& egress);
  ~RoomProgrammes();
  RoomProgrammes(const RoomProgrammes&) = delete;
  RoomProgrammes& operator=(const RoomProgrammes&) = delete;

  ProgrammeFeed* feed(const std::string& room) const;

 private:
  void onState(const std::string& room, StageState state);
  // Registers or withdraws the room's WHEP variants to match its pipeline:
  // "interpreter" (the interpreter's picture, while one is on stage) and
  // "360p" (the HLS ladder's 360p encode, for weak networks).
  void syncVariants(const std::string& room);
  void syncVariant(const std::string& room, const std::string& name, GstPad* video);
  void dropVariant(const std::string& room, const std::string& name);

  MediaService& media_;
  WhepEgress& egress_;
  std::map<std::string, std::unique_ptr<ProgrammeFeed>> feeds_;
  struct Variant {
    std::unique_ptr<ProgrammeFeed> feed;
    GstPad* pad = nullptr;  // the tapped pad (identity only)
  };
  std::map<std::pair<std::string, std::string>, Variant> variants_;  // by (room, variant)
  std::shared_ptr<RoomProgrammes*> self_;
};

}  // namespace jobcast::media
