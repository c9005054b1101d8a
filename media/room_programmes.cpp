#include "media/room_programmes.h"

#include "core/log.h"
#include "media/room_pipeline.h"

namespace jobcast::media {

RoomProgrammes::RoomProgrammes(MediaService& media, WhepEgress& egress)
    : media_(media), egress_(egress), self_(std::make_shared<RoomProgrammes*>(this)) {
  std::weak_ptr<RoomProgrammes*> weak = self_;
  media_.onStateChange([weak](const std::string& room, StageState state, const std::string&) {
    if (auto self = weak.lock())
      (*self)->onState(room, state);
  });
}

RoomProgrammes::~RoomProgrammes() {
  self_.reset();
  for (auto& [room, feed] : feeds_) {
    egress_.setFeed(room, "", nullptr);
    feed->detach();
  }
}

ProgrammeFeed* RoomProgrammes::feed(const std::string& room) const {
  auto it = feeds_.find(room);
  return it == feeds_.end() ? nullptr : it->second.get();
}

void RoomProgrammes::onState(const std::string& room, StageState state) {
  auto it = feeds_.find(room);
  if (state == StageState::Live) {
    RoomPipeline* pipeline = media_.onStage(room);
    if (!pipeline)
      return;
    GstElement* video = pipeline->programmeTee("programme-video");
    GstElement* audio = pipeline->programmeTee("programme-opus");
    if (!video || !audio) {
      log::warn("room pipeline has no programme tees; no WHEP", {{"room", room}});
      return;
    }
    if (it == feeds_.end())
      it = feeds_.emplace(room, std::make_unique<ProgrammeFeed>(room)).first;
    // Tap the tees' sink pads: every branch's buffers pass there once.
    PadPtr video_pad(gst_element_get_static_pad(video, "sink"));
    PadPtr audio_pad(gst_element_get_static_pad(audio, "sink"));
    it->second->attach(pipeline->pipeline(), video_pad.get(), audio_pad.get());
    MediaService* media = &media_;
    it->second->setKeyframeRequest([media, room] {
      if (RoomPipeline* p = media->onStage(room))
        p->askKeyframe();
    });
    egress_.setFeed(room, "", it->second.get());
    return;
  }
  if (it == feeds_.end())
    return;
  if (state == StageState::Reconnecting) {
    it->second->detach();
    return;
  }
  egress_.setFeed(room, "", nullptr);
  it->second->detach();
  feeds_.erase(it);
}

}  // namespace jobcast::media
