#pragma once
// A wall-clock time painted into a video frame as a row of black and white
// blocks, read back after encoding, HLS and decoding: how the latency bench
// measures glass to glass. Runs on whichever thread handles the frame.
// Layout (also read by tests/web/stamp.mjs): 52 cells across the width in the
// top twelfth; a 1010 marker, 40 bits of milliseconds modulo 2^40, and a
// CRC-8 (polynomial 0x07) of those 40 bits.

#include <cstdint>
#include <optional>

namespace jobcast::media {

// Paints `ms` into the top rows of an I420/NV12 luma plane.
void paintStamp(uint8_t* luma, int stride, int width, int height, int64_t ms);
// Reads a stamp painted by paintStamp, possibly after scaling: the time
// nearest `near_ms` (default: now) with the painted low 40 bits. Null when the
// marker or the CRC does not match (no stamp, or damaged).
std::optional<int64_t> readStamp(const uint8_t* luma, int stride, int width, int height,
                                 std::optional<int64_t> near_ms = std::nullopt);
// The CRC-8 of a stamp's 40-bit value.
int stampCrc(int64_t value);

}  // namespace jobcast::media
