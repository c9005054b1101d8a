#include "media/media_service.h"

#include <openssl/rand.h>

#include <chrono>
#include <filesystem>

#include "core/log.h"

namespace jobcast::media {
namespace {

std::string randomId() {
  unsigned char bytes[16];  // 128 bits: the session URL is its owner's secret
  RAND_bytes(bytes, sizeof bytes);
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

}  // namespace

const char* stageStateName(StageState state) {
  switch (state) {
    case StageState::Idle:
      return "idle";
    case StageState::Live:
      return "live";
    case StageState::Reconnecting:
      return "reconnecting";
  }
  return "idle";
}

bool validRoomId(const std::string& room) {
  if (room.empty() || room.size() > 64)
    return false;
  for (char c : room) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok)
      return false;
  }
  return true;
}

MediaService::MediaService(Loop& loop, MediaOptions options)
    : loop_(loop), options_(std::move(options)) {
  gst_init(nullptr, nullptr);
  renditions_.push_back("source");
  if (options_.rendition_low)
    renditions_.push_back("360p");
  if (options_.rendition_audio)
    renditions_.push_back("audio");
  if (options_.rendition_ll)
    renditions_.push_back("ll");
}

MediaService::~MediaService() {
  shutdown();
}

RoomPipeline::Post MediaService::postFor(const std::string& session) {
  Loop* loop = &loop_;
  std::weak_ptr<Registry> weak = registry_;
  return [loop, weak, session](std::function<void(RoomPipeline&)> task) {
    loop->post([weak, session, task = std::move(task)] {
      auto registry = weak.lock();
      if (!registry)
        return;
      auto it = registry->sessions.find(session);
      if (it != registry->sessions.end())
        task(*it->second);
    });
  };
}

void MediaService::publish(const std::string& room, const std::string& offer_sdp,
                           const Participant& who, std::function<void(Result<Published>)> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (!validRoomId(room)) {
    done(Error{"room_not_found", "no such room"});
    return;
  }
  SdpPtr offer = parseSdp(offer_sdp);
  if (!offer) {
    done(Error{"bad_sdp", "the body is not an SDP offer"});
    return;
  }
  auto media = chooseOfferedMedia(*offer);
  if (!media) {
    done(media.error());
    return;
  }
  if (who.slot != Participant::Slot::Main) {
    publishGuest(room, std::move(offer), std::move(media.value()), who, std::move(done));
    return;
  }
  RoomMedia& rm = rooms_[room];
  if (rm.pipeline) {
    done(Error{"slot_taken", "another publisher is on this room's stage"});
    return;
  }
  if (!rm.hls) {
    rm.hls = std::make_unique<HlsStore>(options_.segment_seconds, options_.playlist_segments,
                                        randomId().substr(0, 8));
    for (const auto& name : renditions_) {
      RenditionInfo info;
      info.name = name;
      info.has_video = name != "audio";
      if (name == "360p") {
        info.width = options_.low_width;
        info.height = options_.low_height;
        info.nominal_kbps = options_.low_video_kbps + options_.audio_kbps;
      } else if (name == "audio") {
        info.nominal_kbps = options_.audio_only_kbps;
        info.container = RenditionInfo::Container::PackedAac;
      } else if (name == "ll") {
        info.container = RenditionInfo::Container::Fmp4;
      }
      rm.hls->add(info);
    }
    rm.hls->setLlSettings({.part_target = options_.ll_part_ms / 1000.0});
  } else {
    rm.hls->markDiscontinuity();  // a new publisher: new timestamps, maybe new SPS
  }

  std::string session = randomId();
  RoomPipeline::Setup setup;
  setup.room = room;
  setup.session = session;
  if (options_.recording)
    setup.recording_dir = recordingDir(room);
  setup.renditions = renditions_;

  auto answered = std::make_shared<bool>(false);
  RoomPipeline::Events events;
  events.answer = [this, room, session, answered, done](Result<std::string> answer) {
    if (*answered)
      return;
    *answered = true;
    if (!answer) {
      log::warn("publish refused",
                {{"room", room}, {"code", answer.error().code}, {"error", answer.error().message}});
      done(answer.error());
      if (hasSession(room, session)) {
        retire(room);
        setState(room, StageState::Idle, "negotiation_failed");
      }
      return;
    }
    log::info("publisher answered", {{"room", room}, {"session", session}});
    done(Published{session, answer.value()});
    setState(room, StageState::Live, "publisher_joined");
    updateStage(room);  // guests already publishing join the new pipeline's programme
  };
  events.segment = [this, room](const std::string& rendition, double seconds,
                                std::shared_ptr<const std::string> bytes,
                                const VideoFormat& format) {
    onSegment(room, rendition, seconds, std::move(bytes), format);
  };
  events.part = [this, room](const std::string& rendition, const cmaf::Part& part,
                             const VideoFormat& format) { onPart(room, rendition, part, format); };
  events.gone = [this, room, session](const std::string& reason) {
    if (!hasSession(room, session))
      return;
    retire(room);
    setState(room, StageState::Reconnecting, reason);
  };
  events.recording_closed = [this, room](const RecordingPiece& piece) {
    for (auto& l : recording_listeners_)
      l(room, piece);
  };

  auto pipeline = RoomPipeline::create(loop_, *worker_, options_, std::move(setup),
                                       std::move(events), postFor(session));
  if (!pipeline) {
    done(pipeline.error());
    return;
  }
  rm.pipeline = std::move(pipeline.value());
  if (!who.name.empty())
    rm.main_name = who.name;
  registry_->sessions[session] = rm.pipeline.get();
  log::info("publish", {{"room", room}, {"session", session}});
  rm.pipeline->negotiate(std::move(offer), std::move(media.value()));
}

void MediaService::publishGuest(const std::string& room, SdpPtr offer,
                                std::vector<OfferedMedia> media, const Participant& who,
                                std::function<void(Result<Published>)> done) {
  auto room_it = rooms_.find(room);
  if (room_it == rooms_.end() || room_it->second.state == StageState::Idle) {
    done(Error{"room_not_live", "the room's main publisher is not on air"});
    return;
  }
  RoomMedia& rm = room_it->second;
  size_t guests = 0;
  for (const auto& [sub, g] : rm.guests) {
    if (sub == who.sub)
      continue;
    if (who.slot == Participant::Slot::Interpreter && g.who.slot == who.slot) {
      done(Error{"stage_full", "another interpreter publishes on this stage"});
      return;
    }
    guests += g.who.slot == Participant::Slot::Guest;
  }
  if (who.slot == Participant::Slot::Guest && guests >= 2) {
    done(Error{"stage_full", "two guests publish on this stage already"});
    return;
  }
  retireGuest(room, who.sub);  // a returning guest: the new session replaces the old

  std::string session = randomId();
  RoomPipeline::Setup setup;
  setup.role = RoomPipeline::Role::Guest;
  setup.stage_channel = "jc-" + session;
  setup.room = room;
  setup.session = session;

  auto answered = std::make_shared<bool>(false);
  std::string sub = who.sub;
  RoomPipeline::Events events;
  events.answer = [this, room, sub, session, answered, done](Result<std::string> answer) {
    if (*answered)
      return;
    *answered = true;
    if (!answer) {
      log::warn("guest publish refused",
                {{"room", room}, {"code", answer.error().code}, {"error", answer.error().message}});
      done(answer.error());
      if (hasSession(room, session))
        retireGuest(room, sub);
      return;
    }
    log::info("guest answered", {{"room", room}, {"session", session}});
    done(Published{session, answer.value()});
  };
  events.flowing = [this, room, sub, session] {
    auto it = rooms_.find(room);
    if (it == rooms_.end())
      return;
    auto g = it->second.guests.find(sub);
    if (g == it->second.guests.end() || g->second.session != session)
      return;
    g->second.flowing = true;
    updateStage(room);
  };
  events.gone = [this, room, sub, session](const std::string& reason) {
    if (!hasSession(room, session))
      return;
    log::info("guest lost", {{"room", room}, {"session", session}, {"reason", reason}});
    retireGuest(room, sub);
    updateStage(room);
  };
  auto pipeline = RoomPipeline::create(loop_, *worker_, options_, std::move(setup),
                                       std::move(events), postFor(session));
  if (!pipeline) {
    done(pipeline.error());
    return;
  }
  Guest& g = rm.guests[sub];
  g.who = who;
  g.session = session;
  g.flowing = false;
  g.pipeline = std::move(pipeline.value());
  registry_->sessions[session] = g.pipeline.get();
  log::info("guest publish",
            {{"room", room},
             {"session", session},
             {"slot", who.slot == Participant::Slot::Guest ? "guest" : "interpreter"}});
  g.pipeline->negotiate(std::move(offer), std::move(media));
}

void MediaService::retireGuest(const std::string& room, const std::string& sub) {
  auto it = rooms_.find(room);
  if (it == rooms_.end())
    return;
  auto g = it->second.guests.find(sub);
  if (g == it->second.guests.end())
    return;
  std::unique_ptr<RoomPipeline> pipeline = std::move(g->second.pipeline);
  it->second.guests.erase(g);
  // Out of the programme first: the mixer stops reading the guest's channels.
  updateStage(room);
  retirePipeline(std::move(pipeline));
}

bool MediaService::endGuest(const std::string& room, const std::string& sub) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || !it->second.guests.count(sub))
    return false;
  retireGuest(room, sub);
  return true;
}

std::vector<std::string> MediaService::stageGuests(const std::string& room) const {
  std::vector<std::string> out;
  auto it = rooms_.find(room);
  if (it != rooms_.end()) {
    for (const auto& [sub, g] : it->second.guests)
      out.push_back(sub);
  }
  return out;
}

void MediaService::setMainName(const std::string& room, const std::string& name) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || it->second.main_name == name)
    return;
  it->second.main_name = name;
  updateStage(room);
}

void MediaService::updateStage(const std::string& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end())
    return;
  RoomMedia& rm = it->second;
  if (!rm.pipeline)
    return;
  std::vector<RoomPipeline::StageInput> inputs;
  for (const auto& [sub, g] : rm.guests) {
    if (!g.flowing || !g.pipeline)
      continue;
    inputs.push_back(
        {sub, g.who.slot == Participant::Slot::Interpreter, g.who.name, "jc-" + g.session});
  }
  bool had_interpreter = rm.pipeline->interpreterVideo() != nullptr;
  bool was_composite = rm.pipeline->composite();
  rm.pipeline->setStage(rm.main_name, inputs);
  bool has_interpreter = rm.pipeline->interpreterVideo() != nullptr;
  if (rm.hls && has_interpreter && !rm.hls->find("interpreter")) {
    RenditionInfo info;
    info.name = "interpreter";
    info.alternate = true;
    info.width = options_.stage_width;
    info.height = options_.stage_height;
    info.nominal_kbps = options_.stage_video_kbps + options_.audio_kbps;
    rm.hls->add(info);
    hlsChanged(room);
  } else if (rm.hls && !has_interpreter && rm.hls->find("interpreter")) {
    rm.hls->remove("interpreter");
    hlsChanged(room);
  }
  if (rm.hls && was_composite != rm.pipeline->composite())
    rm.hls->markDiscontinuity(1);  // the segment in progress ends with the old source
  if (had_interpreter != has_interpreter || was_composite != rm.pipeline->composite()) {
    for (auto& l : programme_listeners_)
      l(room);
  }
}

void MediaService::retire(const std::string& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || !it->second.pipeline)
    return;
  retirePipeline(std::move(it->second.pipeline));
  if (it->second.hls && it->second.hls->find("interpreter")) {
    it->second.hls->remove("interpreter");
    hlsChanged(room);
  }
  for (auto& l : programme_listeners_)
    l(room);
}

void MediaService::retirePipeline(std::unique_ptr<RoomPipeline> pipeline) {
  if (!pipeline)
    return;
  std::string session = pipeline->session();
  RoomPipeline* raw = pipeline.get();
  stopping_[session] = std::move(pipeline);
  raw->stop([this, session] {
    // Runs on the control thread once the pipeline is down; post the erase so the
    // pipeline is not destroyed inside its own method.
    loop_.post([this, session] {
      registry_->sessions.erase(session);
      stopping_.erase(session);
    });
  });
}

bool MediaService::endSession(const std::string& room, const std::string& session) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (!hasSession(room, session))
    return false;
  for (const auto& [sub, g] : rooms_[room].guests) {
    if (g.session == session) {
      std::string leaving = sub;
      retireGuest(room, leaving);
      return true;
    }
  }
  retire(room);
  setState(room, StageState::Idle, "publisher_left");
  return true;
}

bool MediaService::hasSession(const std::string& room, const std::string& session) const {
  auto it = rooms_.find(room);
  if (it == rooms_.end())
    return false;
  if (it->second.pipeline && it->second.pipeline->session() == session)
    return true;
  for (const auto& [sub, g] : it->second.guests) {
    if (g.session == session && g.pipeline)
      return true;
  }
  return false;
}

void MediaService::endRoom(const std::string& room) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  auto it = rooms_.find(room);
  if (it == rooms_.end())
    return;
  for (auto& [sub, g] : it->second.guests)
    retirePipeline(std::move(g.pipeline));
  it->second.guests.clear();
  retire(room);
  rooms_.erase(room);
  hlsChanged(room);
  log::info("room media ended", {{"room", room}});
  for (auto& l : state_listeners_)
    l(room, StageState::Idle, "room_ended");
}

void MediaService::shutdown() {
  std::vector<std::string> names;
  for (auto& [room, rm] : rooms_)
    names.push_back(room);
  for (const auto& room : names) {
    for (auto& [sub, g] : rooms_[room].guests)
      retirePipeline(std::move(g.pipeline));
    rooms_[room].guests.clear();
    retire(room);
  }
  // Let recordings finish (each stop has its own 4 s watchdog).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  while (!stopping_.empty() && std::chrono::steady_clock::now() < deadline) {
    g_main_context_iteration(loop_.context(), FALSE);
    g_usleep(2000);
  }
  stopping_.clear();
  registry_->sessions.clear();
  rooms_.clear();
}

StageState MediaService::state(const std::string& room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? StageState::Idle : it->second.state;
}

const HlsStore* MediaService::hls(const std::string& room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : it->second.hls.get();
}

std::vector<std::string> MediaService::rooms() const {
  std::vector<std::string> out;
  for (const auto& [room, rm] : rooms_)
    out.push_back(room);
  return out;
}

std::string MediaService::recordingDir(const std::string& room) const {
  if (!options_.recordings_dir.empty())
    return options_.recordings_dir + "/" + room;
  return options_.data_dir + "/recordings/" + room;
}

void MediaService::setState(const std::string& room, StageState state, const std::string& reason) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || it->second.state == state)
    return;
  it->second.state = state;
  log::info("stage", {{"room", room}, {"state", stageStateName(state)}, {"reason", reason}});
  for (auto& l : state_listeners_)
    l(room, state, reason);
}

void MediaService::addCaption(const std::string& room, const std::string& id, int64_t at_ms,
                              const std::string& text) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || !it->second.hls)
    return;
  it->second.hls->setCaption(id, at_ms, text);
}

namespace {

// What the ladder knows of a rendition's picture, for the master playlists.
void setFormat(RenditionInfo& info, const VideoFormat& format) {
  if (format.width > 0) {
    info.width = format.width;
    info.height = format.height;
  }
  if (!format.codec.empty())
    info.video_codec = format.codec;
}

}  // namespace

void MediaService::onPart(const std::string& room, const std::string& rendition,
                          const cmaf::Part& part, const VideoFormat& format) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || !it->second.hls)
    return;
  HlsStore& store = *it->second.hls;
  HlsRendition* r = store.find(rendition);
  if (!r || !r->info().lowLatency())
    return;
  setFormat(r->info(), format);
  r->addPart(part.duration, part.independent, part.segment_start, part.bytes, part.init,
             static_cast<size_t>(store.llWindow()) + 4);
  hlsChanged(room);
}

void MediaService::onSegment(const std::string& room, const std::string& rendition, double seconds,
                             std::shared_ptr<const std::string> bytes, const VideoFormat& format) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || !it->second.hls)
    return;
  HlsRendition* r = it->second.hls->find(rendition);
  if (!r)
    return;
  setFormat(r->info(), format);
  // Where the segment sits in time, for the subtitle rendition: its first PTS
  // and, on the node's clock, when it began (it is reported closed at its end).
  int64_t start_ms = 0;
  int64_t pts = -1;
  if (r == it->second.hls->subtitleTiming() && bytes) {
    int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    start_ms = now_ms - static_cast<int64_t>(seconds * 1000.0 + 0.5);
    pts = tsFirstPts(*bytes);
  }
  r->add(seconds, std::move(bytes), it->second.hls->keep(), start_ms, pts);
  hlsChanged(room);
}

}  // namespace jobcast::media
