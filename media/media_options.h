#pragma once
// What the media pipelines are configured with (filled from Config by the app).

#include <string>
#include <vector>

namespace jobcast::media {

struct MediaOptions {
  std::string data_dir = "./data";  // recordings/ live below it (HLS stays in memory)
  std::string recordings_dir;       // non-empty: recordings here instead (shared by the nodes)

  // ICE
  std::vector<std::string> stun_servers;  // "stun://host:port"
  std::vector<std::string> turn_servers;  // "turn://user:pass@host:port"
  std::string public_ip;                  // added as a host candidate (1:1 NAT)
  int jitter_latency_ms = 100;

  // HLS
  int segment_seconds = 1;      // target duration, 1-6
  int playlist_segments = 6;    // segments listed in each media playlist
  bool rendition_low = true;    // ~360p x264 rendition
  bool rendition_audio = true;  // audio-only AAC rendition
  bool rendition_ll = true;     // low-latency HLS: the source in fMP4 parts (ll.m3u8)
  int ll_part_ms = 250;         // its part target, 100-1000
  int low_width = 640;
  int low_height = 360;
  int low_video_kbps = 500;
  int audio_kbps = 64;
  int audio_only_kbps = 48;  // the audio-only rendition: mono AAC, packed audio

  // The stage composite (guests as picture-in-picture), encoded once
  int stage_width = 1280;
  int stage_height = 720;
  int stage_fps = 30;
  int stage_video_kbps = 1500;

  // Recording
  bool recording = true;
  int recording_piece_seconds = 600;

  // A publisher whose video stops this long is gone (the room stays live).
  int media_timeout_ms = 3000;
  // An accepted session that never sends media is dropped after this long.
  int connect_timeout_ms = 15000;
};

}  // namespace jobcast::media
