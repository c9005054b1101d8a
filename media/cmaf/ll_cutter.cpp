#include "media/cmaf/ll_cutter.h"

#include <algorithm>

namespace jobcast::media::cmaf {
namespace {

constexpr int64_t kAacFrame = 1024;  // samples per AAC-LC frame
// How long the picture may wait for the sound's format before the first
// initialization segment goes out without a sound track.
constexpr int64_t kAudioWaitNs = 2'000'000'000;
// Frames of sound kept while no picture closes a part (a stalled picture).
constexpr size_t kMaxAudioFrames = 500;

std::optional<VideoConfig> parameterSets(std::string_view access_unit) {
  VideoConfig config;
  for (std::string_view nal : nalUnits(access_unit)) {
    if (nal.empty())
      continue;
    int type = static_cast<uint8_t>(nal[0]) & 0x1f;
    if (type == 7 && config.sps.empty())
      config.sps = std::string(nal);
    else if (type == 8 && config.pps.empty())
      config.pps = std::string(nal);
  }
  if (config.sps.empty() || config.pps.empty())
    return std::nullopt;
  if (auto size = spsSize(config.sps)) {
    config.width = size->first;
    config.height = size->second;
  }
  return config;
}

}  // namespace

std::shared_ptr<const std::string> LlCutter::initFor(const VideoConfig& video) {
  return std::make_shared<const std::string>(initSegment(video, audio_));
}

std::optional<Part> LlCutter::pushVideo(std::string_view access_unit, int64_t dts_ns,
                                        int64_t pts_ns, bool keyframe) {
  if (origin_ < 0) {
    if (first_video_ < 0)
      first_video_ = dts_ns;
    if (!keyframe || (!audio_ && dts_ns - first_video_ < kAudioWaitNs))
      return std::nullopt;
    auto config = parameterSets(access_unit);
    if (!config)
      return std::nullopt;  // a keyframe without its parameter sets: wait for one with
    origin_ = dts_ns;
    video_ = std::move(*config);
    pending_init_ = initFor(*video_);
    // Sound from before the first picture has no place on the timeline.
    audio_frames_.clear();
    next_audio_time_ = -1;
  }
  Frame frame;
  frame.data = annexBToLengthPrefixed(access_unit, true);
  if (frame.data.empty())
    return std::nullopt;  // parameter sets alone: the frame before lasts until the next picture
  frame.dts = toVideo(dts_ns);
  frame.pts = toVideo(pts_ns);
  frame.keyframe = keyframe;
  if (last_ && frame.dts <= last_->dts)
    frame.dts = last_->dts + 1;  // decode times only move forward in a track
  frame.pts = std::max(frame.pts, frame.dts);
  std::optional<Part> out;
  if (last_) {
    last_->duration = frame.dts - last_->dts;
    last_duration_ = last_->duration;
    frames_.push_back(std::move(*last_));
    last_.reset();
    std::optional<VideoConfig> changed;
    if (keyframe) {
      auto config = parameterSets(access_unit);
      if (config && (config->sps != video_->sps || config->pps != video_->pps))
        changed = std::move(config);
    }
    bool new_segment = keyframe && (changed || split_requested_ ||
                                    (frame.dts - segment_start_) * 1000000000 >=
                                        segment_target_ * kVideoTimescale * 3 / 4);
    bool part_full =
        (frame.dts + last_duration_ - part_start_) * 1000000000 > part_target_ * kVideoTimescale;
    if (new_segment || part_full) {
      out = close(frame.dts);
      part_start_ = frame.dts;
      if (new_segment) {
        segment_start_ = frame.dts;
        segment_start_pending_ = true;
        split_requested_ = false;
        keyframe_requested_ = false;
      }
      if (changed) {
        video_ = std::move(*changed);
        pending_init_ = initFor(*video_);
      }
    }
  }
  last_ = std::move(frame);
  return out;
}

void LlCutter::pushAudio(std::string_view frame, int64_t pts_ns, const AudioConfig& config) {
  if (!audio_)
    audio_ = config;
  if (origin_ < 0 || config.sample_rate != audio_->sample_rate)
    return;
  int64_t rate = audio_->sample_rate;
  int64_t time = ((pts_ns - origin_) * rate + 500000000) / 1000000000;
  if (time < 0)
    return;
  // Frames follow each other without gaps in the track unless the timestamps
  // jump by more than a frame (a pause in the publisher's sound).
  if (next_audio_time_ >= 0 && std::abs(time - next_audio_time_) < kAacFrame)
    time = next_audio_time_;
  if (next_audio_time_ >= 0 && time < next_audio_time_)
    return;  // overlaps what was sent
  next_audio_time_ = time + kAacFrame;
  if (audio_frames_.size() >= kMaxAudioFrames)
    audio_frames_.erase(audio_frames_.begin());
  audio_frames_.push_back({std::string(frame), time});
}

bool LlCutter::takeKeyframeRequest() {
  if (origin_ < 0 || keyframe_requested_ || !last_)
    return false;
  if ((last_->dts - segment_start_) * 1000000000 < segment_target_ * kVideoTimescale)
    return false;
  keyframe_requested_ = true;
  return true;
}

Part LlCutter::close(int64_t end_dts) {
  std::vector<Run> runs;
  Run video;
  video.track_id = kVideoTrack;
  video.base_decode_time = static_cast<uint64_t>(frames_.front().dts);
  for (const Frame& f : frames_) {
    video.samples.push_back({static_cast<uint32_t>(f.duration),
                             static_cast<uint32_t>(f.data.size()), f.keyframe,
                             static_cast<int32_t>(f.pts - f.dts)});
    video.data += f.data;
  }
  runs.push_back(std::move(video));
  if (audio_) {
    int64_t end = end_dts * audio_->sample_rate / kVideoTimescale;
    size_t n = 0;
    while (n < audio_frames_.size() && audio_frames_[n].time < end)
      ++n;
    if (n > 0) {
      Run audio;
      audio.track_id = kAudioTrack;
      audio.base_decode_time = static_cast<uint64_t>(audio_frames_.front().time);
      for (size_t i = 0; i < n; ++i) {
        int64_t duration =
            i + 1 < n ? audio_frames_[i + 1].time - audio_frames_[i].time : kAacFrame;
        audio.samples.push_back({static_cast<uint32_t>(duration),
                                 static_cast<uint32_t>(audio_frames_[i].data.size()), true, 0});
        audio.data += audio_frames_[i].data;
      }
      runs.push_back(std::move(audio));
      audio_frames_.erase(audio_frames_.begin(), audio_frames_.begin() + static_cast<long>(n));
    }
  }
  Part part;
  part.bytes = std::make_shared<const std::string>(fragment(sequence_++, runs));
  part.duration = static_cast<double>(end_dts - part_start_) / kVideoTimescale;
  part.independent = frames_.front().keyframe;
  part.segment_start = segment_start_pending_;
  part.init = std::move(pending_init_);
  pending_init_.reset();
  segment_start_pending_ = false;
  frames_.clear();
  return part;
}

}  // namespace jobcast::media::cmaf
