#pragma once
// H.264 access units as a room receives them from publishers, and the repair
// that keeps a multi-slice picture in one access unit.
//
// Some publishers repeat SPS/PPS (or SEI, AUD) in front of every slice of a
// keyframe: GStreamer's rtph264pay with config-interval=-1 does over an
// encoder that cuts pictures into slices (x264 sliced threads, hardware
// encoders). H.264 7.4.1.2.3 says such a NAL unit after a slice starts a new
// access unit, so rtph264depay pushes the keyframe as one access unit per
// slice, the parser leaves the later ones without a PTS, and downstream they
// are dropped or re-stamped as frames of their own. Joining the parts up to
// the RTP marker and moving those NAL units in front of the first slice keeps
// the picture whole.

#include <gst/gst.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace jobcast::media::h264 {

// How NAL units are delimited in a buffer: start codes (byte-stream) or
// big-endian lengths of `length_size` bytes (avc, from codec_data).
struct Framing {
  bool avc = false;
  int length_size = 4;
};

struct Nal {
  const uint8_t* data = nullptr;  // from the NAL header byte on
  size_t size = 0;
  int type() const { return size ? data[0] & 0x1f : 0; }
};

// The NAL units of an access unit; empty when the buffer is malformed.
std::vector<Nal> split(const uint8_t* data, size_t size, Framing framing);

// A coded slice (types 1-5).
inline bool isSlice(int type) {
  return type >= 1 && type <= 5;
}

// first_mb_in_slice of a slice NAL unit, or -1 when it cannot be read.
int firstMbInSlice(const Nal& nal);

// The access unit with every SPS, PPS and SEI that follows a slice moved in
// front of the first slice (byte-identical repeats dropped) and AUDs after a
// slice dropped; nullopt when it is already in that order (the common case:
// nothing is copied).
std::optional<std::vector<uint8_t>> keepPictureWhole(const uint8_t* data, size_t size,
                                                     Framing framing);

// The framing stated by H.264 caps (stream-format, codec_data); nullopt for
// NAL-aligned or unknown caps, which are left alone.
std::optional<Framing> framingOf(const GstCaps* caps);

// On `pad` (rtph264depay's output, alignment=au, before h264parse): holds the
// parts of a picture until the one with the RTP marker (or the next
// timestamp, for a publisher without markers) and pushes them as one access
// unit, repaired by keepPictureWhole. Single buffers (buffer lists pass
// untouched). The probe runs on the pad's streaming thread and keeps its
// state on the heap until the probe is removed.
void keepPicturesWhole(GstPad* pad);

}  // namespace jobcast::media::h264
