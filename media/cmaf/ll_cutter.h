#pragma once
// Cuts a room's programme (H.264 access units and AAC frames, on the
// pipeline's running time) into the parts of low-latency HLS: fMP4 fragments
// of about `part_target` each, a new segment at the first keyframe once the
// segment in progress has lasted about `segment_target`, and a new
// initialization segment whenever the picture's parameter sets change (a
// stage switch to another resolution). Pure logic; the caller serializes the
// calls (both appsinks' streaming threads push under one lock).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "media/cmaf/fmp4.h"

namespace jobcast::media::cmaf {

struct Part {
  std::shared_ptr<const std::string> bytes;  // moof + mdat
  double duration = 0;                       // seconds of picture
  bool independent = false;                  // starts with a keyframe
  bool segment_start = false;                // the first part of a new segment
  // Set on the first part after a change of initialization segment (and on
  // the very first part): players need it before this part.
  std::shared_ptr<const std::string> init;
};

class LlCutter {
 public:
  LlCutter(int64_t part_target_ns, int64_t segment_target_ns)
      : part_target_(part_target_ns), segment_target_(segment_target_ns) {}

  // One access unit in Annex B form. Returns the part it closed, if any: a
  // frame's duration is known when the next one arrives, so a part closes
  // when the frame after its last arrives.
  std::optional<Part> pushVideo(std::string_view access_unit, int64_t dts_ns, int64_t pts_ns,
                                bool keyframe);
  // One raw AAC frame (1024 samples) with its presentation time.
  void pushAudio(std::string_view frame, int64_t pts_ns, const AudioConfig& config);
  // The next keyframe starts a new segment, however short the current one
  // (the programme switched source).
  void splitAtNextKeyframe() { split_requested_ = true; }
  // True once the segment in progress is past its target with no keyframe
  // yet: the caller asks upstream for one (at most once per segment).
  bool takeKeyframeRequest();

 private:
  struct Frame {
    std::string data;  // length-prefixed NAL units
    int64_t dts = 0;   // 90 kHz, from the origin
    int64_t pts = 0;
    int64_t duration = 0;
    bool keyframe = false;
  };
  struct AudioFrame {
    std::string data;
    int64_t time = 0;  // samples, from the origin
  };

  int64_t toVideo(int64_t ns) const {
    return ((ns - origin_) * kVideoTimescale + 500000000) / 1000000000;
  }
  Part close(int64_t end_dts);
  std::shared_ptr<const std::string> initFor(const VideoConfig& video);

  int64_t part_target_;
  int64_t segment_target_;
  int64_t origin_ = -1;       // running time of the first keyframe (ns)
  int64_t first_video_ = -1;  // running time of the first frame seen (ns)
  std::optional<VideoConfig> video_;
  std::optional<AudioConfig> audio_;
  std::shared_ptr<const std::string> pending_init_;
  std::optional<Frame> last_;  // the frame whose duration is not known yet
  std::vector<Frame> frames_;  // frames of the part in progress
  std::vector<AudioFrame> audio_frames_;
  int64_t next_audio_time_ = -1;  // samples, where the next frame should fall
  int64_t part_start_ = 0;        // 90 kHz
  int64_t segment_start_ = 0;     // 90 kHz
  int64_t last_duration_ = 3000;  // of the last frame, 90 kHz
  uint32_t sequence_ = 1;         // mfhd
  bool segment_start_pending_ = true;
  bool split_requested_ = false;
  bool keyframe_requested_ = false;
};

}  // namespace jobcast::media::cmaf
