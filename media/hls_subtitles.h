#pragma once
// Captions as WebVTT: the room's caption track (each caption has a start on
// the node's clock, ms since the epoch, and lasts until the next one or
// kCaptionShowMs), the cues that overlap one HLS segment, and the file saved
// beside a recording. Pure logic; control thread.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace jobcast::media {

// How long a caption stays when no other follows (the viewer page shows it as long).
inline constexpr int64_t kCaptionShowMs = 7000;

struct CaptionCue {
  std::string id;
  int64_t start_ms = 0;  // node clock
  int64_t end_ms = 0;
  std::string text;
};

class CaptionTrack {
 public:
  // Adds a caption, or replaces the text of one with the same id (a
  // correction keeps its start).
  void set(const std::string& id, int64_t at_ms, const std::string& text);
  // Cues ordered by start, each ending at the next one's start or after kCaptionShowMs.
  std::vector<CaptionCue> cues() const;
  // The cues that overlap [from_ms, to_ms).
  std::vector<CaptionCue> overlapping(int64_t from_ms, int64_t to_ms) const;
  // Forgets captions that ended before `ms` (kept bounded on long rooms).
  void dropBefore(int64_t ms);
  bool empty() const { return by_id_.empty(); }

 private:
  struct Entry {
    int64_t at_ms;
    std::string text;
  };
  std::map<std::string, Entry> by_id_;
};

// "HH:MM:SS.mmm" (negative clamps to 0).
std::string vttTime(int64_t ms);
// Cue text made safe for WebVTT: '&', '<', '>' escaped, "-->" and blank lines broken.
std::string vttText(std::string_view text);

// One WebVTT segment of the subtitle rendition for a media segment that starts
// at `start_ms` (node clock) and PTS `pts` (90 kHz, the segment's first
// presentation time). Cue times count from `origin_ms` (the rendition's first
// segment), the same in every segment, so a cue that spans several segments is
// written identically in each and players merge the repeats; X-TIMESTAMP-MAP
// ties the segment's LOCAL time (start_ms - origin_ms) to its PTS.
std::string vttSegment(const std::vector<CaptionCue>& cues, int64_t start_ms, double duration_s,
                       int64_t pts, int64_t origin_ms);

// A recording's captions: cues timed from `started_ms`, cut to the piece.
std::string vttFile(const std::vector<CaptionCue>& cues, int64_t started_ms, int64_t ended_ms);

// The lowest PES presentation time stamp in an MPEG-TS segment (90 kHz), or
// -1 when it has none.
int64_t tsFirstPts(std::string_view ts);

}  // namespace jobcast::media
