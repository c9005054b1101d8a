#pragma once
// Decodes media the way a player would, with real GStreamer elements
// (tsdemux/qtdemux -> parsers -> decoders), for tests and the latency bench.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace jobcast::test {

struct Decoded {
  bool finished = false;  // reached EOS before the watchdog
  std::string error;
  int video_frames = 0;
  int width = 0;
  int height = 0;
  int audio_buffers = 0;
  int64_t first_stamp_ms = -1;  // media::readStamp on the first frame, if any
  int64_t last_stamp_ms = -1;
};

// kind: "ts" (MPEG-TS with video), "ts-audio" (MPEG-TS, AAC only), "aac" (packed
// audio: an ID3 tag and ADTS frames) or "mp4".
Decoded decodeFile(const std::string& path, const std::string& kind,
                   std::chrono::milliseconds watchdog = std::chrono::seconds(30));
Decoded decodeBytes(const std::string& bytes, const std::string& kind,
                    std::chrono::milliseconds watchdog = std::chrono::seconds(30));

}  // namespace jobcast::test
