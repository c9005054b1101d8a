#pragma once
// Fragmented MP4 (ISO BMFF, CMAF-style) written by hand for low-latency HLS:
// an initialization segment (ftyp + moov with mvex) for one H.264 video track
// and one AAC audio track, and media fragments (moof + mdat) holding a run of
// samples per track. A segment is the concatenation of its fragments ("parts").
// Pure logic, no GStreamer; any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobcast::media::cmaf {

inline constexpr uint32_t kVideoTrack = 1;
inline constexpr uint32_t kAudioTrack = 2;
inline constexpr uint32_t kVideoTimescale = 90000;

struct VideoConfig {
  std::string sps;  // one SPS NAL unit, without start code
  std::string pps;  // one PPS NAL unit, without start code
  int width = 0;    // from the SPS (parsed by the caller or by spsSize())
  int height = 0;
};

struct AudioConfig {
  std::string asc;               // AudioSpecificConfig (ISO 14496-3), e.g. 2 bytes for AAC-LC
  uint32_t sample_rate = 48000;  // also the track's timescale
  int channels = 2;
};

// ftyp (major "iso6", compatible iso6/cmfc/mp41/iso5/dash/avc1) + moov:
// mvhd, one trak per present config (video track id 1, timescale 90 kHz,
// avc1 sample entry with avcC; audio track id 2, timescale = sample rate,
// mp4a sample entry with esds), empty sample tables, mvex with trex per track.
std::string initSegment(const std::optional<VideoConfig>& video,
                        const std::optional<AudioConfig>& audio);

struct Sample {
  uint32_t duration = 0;           // in the track's timescale
  uint32_t size = 0;               // bytes of this sample in the run's data
  bool sync = true;                // keyframe (video); audio samples are all sync
  int32_t composition_offset = 0;  // pts - dts, track timescale (video with B-frames)
};

struct Run {
  uint32_t track_id = kVideoTrack;
  uint64_t base_decode_time = 0;  // tfdt, track timescale
  std::vector<Sample> samples;
  std::string data;  // the samples' bytes back to back (video: 4-byte length-prefixed NALs)
};

// moof (mfhd with `sequence`, one traf per non-empty run: tfhd with
// default-base-is-moof, tfdt version 1, trun version 1 with data offset,
// per-sample duration, size, flags and composition offset) + one mdat with
// the runs' data in order.
std::string fragment(uint32_t sequence, const std::vector<Run>& runs);

// An Annex B access unit ("00 00 01" or "00 00 00 01" start codes) as
// 4-byte length-prefixed NAL units. SPS/PPS/AUD NAL units are kept out when
// `drop_parameter_sets` (they travel in the init segment's avcC).
std::string annexBToLengthPrefixed(std::string_view annexb, bool drop_parameter_sets);
// The NAL units of an Annex B access unit, without start codes.
std::vector<std::string_view> nalUnits(std::string_view annexb);
// Width and height decoded from an SPS (with cropping); nullopt when the SPS
// cannot be parsed.
std::optional<std::pair<int, int>> spsSize(std::string_view sps);
// The AudioSpecificConfig for an ADTS header (7 or 9 bytes); nullopt when
// not ADTS.
std::optional<AudioConfig> audioConfigFromAdts(std::string_view adts);

}  // namespace jobcast::media::cmaf
