#include "media/packed_audio.h"

namespace jobcast::media {

namespace {

constexpr std::string_view kOwner = "com.apple.streaming.transportStreamTimestamp";

void putSyncsafe(std::string& out, uint32_t n) {
  out += static_cast<char>((n >> 21) & 0x7f);
  out += static_cast<char>((n >> 14) & 0x7f);
  out += static_cast<char>((n >> 7) & 0x7f);
  out += static_cast<char>(n & 0x7f);
}

uint32_t syncsafe(std::string_view b) {
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i)
    n = (n << 7) | (static_cast<unsigned char>(b[i]) & 0x7f);
  return n;
}

}  // namespace

std::string packedAudioTimestampTag(int64_t pts90k) {
  const uint32_t frame_size = static_cast<uint32_t>(kOwner.size() + 1 + 8);
  std::string out = "ID3";
  out += '\x04';
  out += '\x00';
  out += '\x00';  // no flags
  putSyncsafe(out, 10 + frame_size);
  out += "PRIV";
  putSyncsafe(out, frame_size);
  out += '\x00';
  out += '\x00';
  out += kOwner;
  out += '\x00';
  auto pts = static_cast<uint64_t>(pts90k) & ((uint64_t{1} << 33) - 1);
  for (int shift = 56; shift >= 0; shift -= 8)
    out += static_cast<char>((pts >> shift) & 0xff);
  return out;
}

std::optional<int64_t> packedAudioTimestamp(std::string_view segment) {
  if (segment.size() < 10 || segment.substr(0, 3) != "ID3")
    return std::nullopt;
  size_t end = 10 + syncsafe(segment.substr(6, 4));
  if (end > segment.size())
    return std::nullopt;
  size_t at = 10;
  while (at + 10 <= end) {
    std::string_view id = segment.substr(at, 4);
    size_t size = syncsafe(segment.substr(at + 4, 4));
    size_t data = at + 10;
    if (data + size > end)
      return std::nullopt;
    if (id == "PRIV" && size == kOwner.size() + 1 + 8 &&
        segment.substr(data, kOwner.size()) == kOwner && segment[data + kOwner.size()] == '\0') {
      uint64_t pts = 0;
      for (size_t i = 0; i < 8; ++i)
        pts = (pts << 8) | static_cast<unsigned char>(segment[data + kOwner.size() + 1 + i]);
      return static_cast<int64_t>(pts & ((uint64_t{1} << 33) - 1));
    }
    at = data + size;
  }
  return std::nullopt;
}

std::optional<PackedSegment> PackedAudioCutter::push(std::string_view adts, int64_t running_ns,
                                                     int64_t duration_ns) {
  std::optional<PackedSegment> closed;
  if (first_ns_ >= 0 && running_ns >= boundary_ns_) {
    // The segment ends where this frame begins: exact even when the frames
    // carry no duration.
    end_ns_ = running_ns;
    closed = flush();
  }
  if (first_ns_ < 0) {
    first_ns_ = running_ns;
    boundary_ns_ = (running_ns / target_ns_ + 1) * target_ns_;
    frames_ = packedAudioTimestampTag(kTsPtsOrigin90k + running_ns * 9 / 100000);
  }
  frames_.append(adts);
  end_ns_ = running_ns + duration_ns;
  return closed;
}

std::optional<PackedSegment> PackedAudioCutter::flush() {
  if (first_ns_ < 0)
    return std::nullopt;
  PackedSegment s;
  s.bytes = std::move(frames_);
  s.seconds = static_cast<double>(end_ns_ - first_ns_) / 1e9;
  frames_.clear();
  first_ns_ = -1;
  return s;
}

}  // namespace jobcast::media
