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
  media_.onProgrammeChange([weak](const std::string& room) {
    if (auto self = weak.lock())
      (*self)->syncInterpreter(room);
  });
}

void RoomProgrammes::dropInterpreter(const std::string& room) {
  auto it = interpreters_.find(room);
  if (it == interpreters_.end())
    return;
  egress_.setFeed(room, "interpreter", nullptr);
  it->second.feed->detach();
  interpreters_.erase(it);
}

void RoomProgrammes::syncInterpreter(const std::string& room) {
  RoomPipeline* pipeline = media_.onStage(room);
  GstPad* video = pipeline ? pipeline->interpreterVideo() : nullptr;
  auto it = interpreters_.find(room);
  if (!video) {
    dropInterpreter(room);
    return;
  }
  if (it != interpreters_.end() && it->second.pad == video)
    return;
  GstElement* audio = pipeline->programmeOpusTee();
  if (!audio)
    return;
  if (it == interpreters_.end()) {
    it = interpreters_.emplace(room, Variant{}).first;
    it->second.feed = std::make_unique<ProgrammeFeed>(room + "/interpreter");
  }
  PadPtr audio_pad(gst_element_get_static_pad(audio, "sink"));
  // Default keyframe requests go upstream from the tapped pad: to the
  // interpreter variant's encoder.
  it->second.feed->attach(pipeline->pipeline(), video, audio_pad.get());
  it->second.pad = video;
  egress_.setFeed(room, "interpreter", it->second.feed.get());
  log::info("interpreter variant offered", {{"room", room}});
}

RoomProgrammes::~RoomProgrammes() {
  self_.reset();
  for (auto& [room, variant] : interpreters_) {
    egress_.setFeed(room, "interpreter", nullptr);
    variant.feed->detach();
  }
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
    GstElement* video = pipeline->programmeVideoTee();
    GstElement* audio = pipeline->programmeOpusTee();
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
  dropInterpreter(room);
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
