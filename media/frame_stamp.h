#pragma once
// A wall-clock time painted into a video frame as a row of black and white
// blocks, read back after encoding, HLS and decoding: how the latency bench
// measures glass to glass. Runs on whichever thread handles the frame.

#include <cstdint>
#include <optional>

namespace jobcast::media {

// Paints `ms` (48 bits) into the top rows of an I420/NV12 luma plane.
void paintStamp(uint8_t* luma, int stride, int width, int height, int64_t ms);
// Reads a stamp painted by paintStamp, possibly after scaling; null when the
// check bits do not match (no stamp, or damaged).
std::optional<int64_t> readStamp(const uint8_t* luma, int stride, int width, int height);

}  // namespace jobcast::media
