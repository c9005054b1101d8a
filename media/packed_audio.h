#pragma once
// The audio-only rendition as packed audio (RFC 8216 section 3.4): each
// segment is raw ADTS AAC frames behind an ID3v2 tag whose PRIV frame
// "com.apple.streaming.transportStreamTimestamp" gives the first frame's
// MPEG-2 presentation time, on the same 90 kHz timeline as the transport
// stream renditions. Against AAC in MPEG-TS (each frame in its own PES, most
// of them in two 188-byte packets) this carries 7 bytes of framing per AAC
// frame instead of ~200, so a 48 kbit/s stream costs ~51 kbit/s on the wire.
// Pure logic, no GStreamer: the ladder feeds it frames from a streaming
// thread (one cutter per rendition, used by one thread at a time).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jobcast::media {

// mpegtsmux stamps PTS = running time + one hour (TS_MUX_CLOCK_BASE): the
// packed segments use the same origin, so a player moving between the
// audio-only variant and a video variant sees one timeline.
constexpr int64_t kTsPtsOrigin90k = 90000LL * 3600;

// The 73-byte ID3v2.4 tag with the PRIV timestamp (`pts90k` masked to 33 bits).
std::string packedAudioTimestampTag(int64_t pts90k);
// The PRIV timestamp of a packed audio segment; nullopt when it has none.
std::optional<int64_t> packedAudioTimestamp(std::string_view segment);

struct PackedSegment {
  std::string bytes;  // tag + ADTS frames
  double seconds = 0;
};

// Cuts a stream of ADTS frames into segments on multiples of the target
// duration of running time (the video renditions' keyframes are asked for
// on the same boundaries).
class PackedAudioCutter {
 public:
  explicit PackedAudioCutter(int target_seconds)
      : target_ns_(int64_t{target_seconds} * 1000000000) {}
  // One ADTS frame at `running_ns`, lasting `duration_ns`; returns the
  // segment it closed, if it starts a new one.
  std::optional<PackedSegment> push(std::string_view adts, int64_t running_ns, int64_t duration_ns);
  // What is left (end of stream).
  std::optional<PackedSegment> flush();

 private:
  int64_t target_ns_;
  std::string frames_;
  int64_t first_ns_ = -1;
  int64_t end_ns_ = 0;
  int64_t boundary_ns_ = 0;
};

}  // namespace jobcast::media
