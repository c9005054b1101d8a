#pragma once
// A live room's HLS output held in memory: for each rendition the recent
// segments (bytes shared with every response that sends them) and the media
// playlist built from them, plus the master playlist. Pure logic; control thread.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "media/hls_subtitles.h"

namespace jobcast::media {

// A partial segment of low-latency HLS: one fMP4 fragment (moof + mdat).
struct HlsPart {
  uint64_t number = 0;  // counted over the rendition's life: "EPOCH-pNUMBER.m4s"
  double duration = 0;  // seconds
  bool independent = false;
  std::shared_ptr<const std::string> bytes;
};

struct HlsSegment {
  uint64_t sequence = 0;
  double duration = 0;  // seconds
  bool discontinuity = false;
  std::shared_ptr<const std::string> bytes;
  int64_t start_ms = 0;  // node clock when its first picture was taken (about)
  int64_t pts = -1;      // its first presentation time (90 kHz); -1: unknown
  // Low-latency renditions: the parts the segment is made of (their bytes
  // dropped once the playlist no longer lists them) and its initialization
  // segment ("EPOCH-init-MAP.mp4").
  std::vector<HlsPart> parts;
  uint32_t map = 0;
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
  // How its segments are carried: MPEG-TS (".ts", video/mp2t), packed
  // audio (".aac", audio/aac: ADTS frames behind an ID3 timestamp tag), or
  // fMP4 parts and segments (".m4s", video/mp4) for low-latency HLS, whose
  // rendition has a master playlist of its own (ll.m3u8).
  enum class Container { Ts, PackedAac, Fmp4 };
  Container container = Container::Ts;
  bool lowLatency() const { return container == Container::Fmp4; }
  const char* extension() const {
    return container == Container::Ts ? ".ts" : container == Container::Fmp4 ? ".m4s" : ".aac";
  }
  const char* contentType() const {
    return container == Container::Ts     ? "video/mp2t"
           : container == Container::Fmp4 ? "video/mp4"
                                          : "audio/aac";
  }
};

// Where a low-latency rendition stands, for blocking playlist reloads.
struct LlPosition {
  uint64_t sequence = 0;   // the segment in progress
  size_t parts = 0;        // its parts so far
  uint64_t next_part = 0;  // the number the next part will get
  bool any = false;        // a part exists
};

struct LlSettings {
  double part_target = 0.25;  // seconds (EXT-X-PART-INF)
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
  // ---- low-latency renditions ----
  // Adds a part; `segment_start` closes the segment in progress and opens the
  // next; `init` (non-null) starts a new initialization segment.
  void addPart(double duration, bool independent, bool segment_start,
               std::shared_ptr<const std::string> bytes, std::shared_ptr<const std::string> init,
               size_t keep);
  const std::optional<HlsSegment>& openSegment() const { return open_; }
  LlPosition position() const;
  // Initialization segments still referenced, by version.
  const std::map<uint32_t, std::shared_ptr<const std::string>>& maps() const { return maps_; }
  // The LL-HLS media playlist (parts of the recent segments, preload hint,
  // blocking reload and delta updates offered); with `skip`, the delta update
  // (EXT-X-SKIP). Null while there is no part.
  std::optional<std::string> llPlaylist(int window, int target_seconds, const LlSettings& settings,
                                        const std::string& epoch, bool skip) const;

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
  std::optional<HlsSegment> open_;  // low latency: the segment in progress
  uint64_t next_part_ = 0;
  uint32_t map_version_ = 0;
  // The longest segment's rounded duration so far: a low-latency playlist's
  // target duration never goes down between reloads.
  int longest_ever_ = 0;
  std::map<uint32_t, std::shared_ptr<const std::string>> maps_;
  void closeOpen(size_t keep);
  // The last `window` segments a playlist lists: from index `first`, the
  // longest of them, and the discontinuities before them (and dropped).
  struct Listed {
    size_t first = 0;
    size_t count = 0;
    double longest = 0;
    uint64_t discontinuities = 0;
  };
  Listed listed(int window) const;
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
  // The low-latency master playlist (ll.m3u8): the low-latency rendition
  // alone. Null without one, or before its first segment.
  std::optional<std::string> llMasterPlaylist() const;
  // The low-latency rendition's playlist; `skip`: the delta update.
  std::optional<std::string> llPlaylist(const std::string& rendition, bool skip) const;
  void setLlSettings(LlSettings settings) { ll_ = settings; }
  const LlSettings& llSettings() const { return ll_; }
  // Segments kept by low-latency renditions: enough for delta updates
  // (CAN-SKIP-UNTIL is six target durations).
  int llWindow() const { return std::max(window_, 12); }

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
  LlSettings ll_;
};

// "avc1.PPCCLL" from the profile and level strings h264parse puts in caps.
std::string avcCodecString(const std::string& profile, const std::string& level);

}  // namespace jobcast::media
