#pragma once
// A live room's HLS output held in memory: for each rendition the recent
// segments (bytes shared with every response that sends them) and the media
// playlist built from them, plus the master playlist. Pure logic; control thread.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "media/hls_subtitles.h"

namespace jobcast::media {

struct HlsSegment {
  uint64_t sequence = 0;
  double duration = 0;  // seconds
  bool discontinuity = false;
  std::shared_ptr<const std::string> bytes;
  int64_t start_ms = 0;  // node clock when its first picture was taken (about)
  int64_t pts = -1;      // its first presentation time (90 kHz); -1: unknown
};

struct RenditionInfo {
  std::string name;  // "source", "360p", "audio"
  bool has_video = true;
  int width = 0;  // 0 until known
  int height = 0;
  std::string video_codec;  // "avc1.42e01f", empty until known
  int nominal_kbps = 0;     // for renditions we encode; 0: measure
  // An alternative picture of the programme (the interpreter variant): offered
  // in the master as a VIDEO group of the source variant, not as a variant of
  // its own, so players never switch to it by bandwidth.
  bool alternate = false;
  // How its segments are carried: MPEG-TS (".ts", video/mp2t), or packed
  // audio (".aac", audio/aac: ADTS frames behind an ID3 timestamp tag).
  enum class Container { Ts, PackedAac };
  Container container = Container::Ts;
  const char* extension() const { return container == Container::Ts ? ".ts" : ".aac"; }
  const char* contentType() const {
    return container == Container::Ts ? "video/mp2t" : "audio/aac";
  }
};

class HlsRendition {
 public:
  explicit HlsRendition(RenditionInfo info) : info_(std::move(info)) {}

  RenditionInfo& info() { return info_; }
  const RenditionInfo& info() const { return info_; }
  // Appends a closed segment; drops the oldest beyond `keep`.
  // `start_ms` and `pts` place it in time for the subtitle rendition.
  void add(double duration, std::shared_ptr<const std::string> bytes, size_t keep,
           int64_t start_ms = 0, int64_t pts = -1);
  // The next segment added starts a new timeline (a new publisher); or the
  // one after `skip` more segments (a switch of the programme's source, whose
  // segment in progress still holds the old source). A new publisher before
  // anything is listed has nothing to break from; a segment in progress, even
  // the first, still holds the old source.
  void markDiscontinuity(int skip = 0) {
    pending_discontinuity_ = skip > 0 || !segments_.empty();
    skip_ = skip;
  }
  const std::deque<HlsSegment>& segments() const { return segments_; }
  // The node-clock start of the first segment ever added (0: none yet): the
  // subtitle rendition's time origin.
  int64_t firstStartMs() const { return first_start_ms_; }
  const HlsSegment* segment(uint64_t sequence) const;
  // Segment URIs are "EPOCH-SEQUENCE.ts": a room that goes live again never
  // reuses a URI a cache may hold.
  // With `extension` ".vtt" and `prefix` "subs/": the subtitle rendition's
  // playlist, segment for segment the same as this one.
  std::string playlist(int window, int target_seconds, const std::string& epoch,
                       const std::string& extension = ".ts", const std::string& prefix = "") const;
  // Peak bits per second over the kept segments (BANDWIDTH).
  int64_t peakBitrate() const;
  // Mean bits per second over the kept segments (AVERAGE-BANDWIDTH); 0: none.
  int64_t averageBitrate() const;

 private:
  RenditionInfo info_;
  std::deque<HlsSegment> segments_;
  uint64_t next_sequence_ = 0;
  int64_t first_start_ms_ = 0;
  uint64_t discontinuity_sequence_ = 0;  // discontinuities dropped off the front
  bool pending_discontinuity_ = false;
  int skip_ = 0;
};

class HlsStore {
 public:
  HlsStore(int target_seconds, int window, std::string epoch)
      : target_seconds_(target_seconds), window_(window), epoch_(std::move(epoch)) {}
  const std::string& epoch() const { return epoch_; }
  // Parses "EPOCH-SEQUENCE.ts" (".aac" for packed audio); null for another
  // epoch or a bad name.
  const HlsSegment* segmentByName(const std::string& rendition, const std::string& name) const;

  HlsRendition& add(RenditionInfo info);
  void remove(const std::string& name);
  HlsRendition* find(const std::string& name);
  const HlsRendition* find(const std::string& name) const;
  const std::vector<std::unique_ptr<HlsRendition>>& renditions() const { return renditions_; }

  void markDiscontinuity(int skip = 0);
  // True when every rendition but the alternates has a segment (the master
  // playlist can be complete). Alternates appear in it once they have one.
  bool ready() const;
  std::string masterPlaylist() const;
  std::optional<std::string> mediaPlaylist(const std::string& rendition) const;

  // ---- the subtitle rendition (subs.m3u8, subs/EPOCH-SEQ.vtt) ----
  // Its segments are those of the timing rendition (the first video
  // variant), so a player fetches cues for exactly the media it has.
  const HlsRendition* subtitleTiming() const;
  std::optional<std::string> subtitlePlaylist() const;
  // The WebVTT segment for `segment` of the timing rendition.
  std::string subtitleSegment(const HlsSegment& segment) const;
  // A caption (or a correction of one) of the room, on the node's clock.
  void setCaption(const std::string& id, int64_t at_ms, const std::string& text);
  const CaptionTrack& captions() const { return captions_; }
  int targetSeconds() const { return target_seconds_; }
  // How many segments are kept in memory per rendition (window plus slack for
  // players that fetch late).
  size_t keep() const { return static_cast<size_t>(window_) + 4; }

 private:
  int target_seconds_;
  int window_;
  std::string epoch_;
  std::vector<std::unique_ptr<HlsRendition>> renditions_;
  CaptionTrack captions_;
};

// "avc1.PPCCLL" from the profile and level strings h264parse puts in caps.
std::string avcCodecString(const std::string& profile, const std::string& level);

}  // namespace jobcast::media
