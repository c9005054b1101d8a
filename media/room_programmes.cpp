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
      (*self)->syncVariants(room);
  });
}

void RoomProgrammes::dropVariant(const std::string& room, const std::string& name) {
  auto it = variants_.find({room, name});
  if (it == variants_.end())
    return;
  egress_.setFeed(room, name, nullptr);
  it->second.feed->detach();
  variants_.erase(it);
}

void RoomProgrammes::syncVariants(const std::string& room) {
  RoomPipeline* pipeline = media_.onStage(room);
  syncVariant(room, "interpreter", pipeline ? pipeline->interpreterVideo() : nullptr);
  syncVariant(room, "360p", pipeline ? pipeline->lowVideo() : nullptr);
}

void RoomProgrammes::syncVariant(const std::string& room, const std::string& name, GstPad* video) {
  RoomPipeline* pipeline = media_.onStage(room);
  auto it = variants_.find({room, name});
  if (!video || !pipeline) {
    dropVariant(room, name);
    return;
  }
  if (it != variants_.end() && it->second.pad == video)
    return;
  GstElement* audio = pipeline->programmeOpusTee();
  if (!audio)
    return;
  if (it == variants_.end()) {
    it = variants_.emplace(std::make_pair(room, name), Variant{}).first;
    it->second.feed = std::make_unique<ProgrammeFeed>(room + "/" + name);
  }
  PadPtr audio_pad(gst_element_get_static_pad(audio, "sink"));
  // Default keyframe requests go upstream from the tapped pad: to the
  // variant's own encoder.
  it->second.feed->attach(pipeline->pipeline(), video, audio_pad.get());
  it->second.pad = video;
  egress_.setFeed(room, name, it->second.feed.get());
  log::info("whep variant offered", {{"room", room}, {"variant", name}});
}

RoomProgrammes::~RoomProgrammes() {
  self_.reset();
  for (auto& [key, variant] : variants_) {
    egress_.setFeed(key.first, key.second, nullptr);
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
    syncVariants(room);
    return;
  }
  dropVariant(room, "interpreter");
  if (state == StageState::Reconnecting) {
    // As the main feed: 360p viewers keep their sessions and resume when
    // the publisher is back (the feed taps the pipeline's pad again then).
    auto low = variants_.find({room, "360p"});
    if (low != variants_.end()) {
      low->second.feed->detach();
      low->second.pad = nullptr;
    }
  } else {
    dropVariant(room, "360p");
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
