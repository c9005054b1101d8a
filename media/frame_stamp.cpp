#include "media/frame_stamp.h"

#include <chrono>

namespace jobcast::media {
namespace {

// 1010 marker, 40 bits of the time (milliseconds modulo 2^40, about 35
// years), then a CRC-8 of those 40 bits: a cell misread after compression
// (a blurred or half-updated picture) makes the stamp unreadable instead of
// a wrong time.
constexpr int kMarker = 4;
constexpr int kValueBits = 40;
constexpr int kCrcBits = 8;
constexpr int kCells = kMarker + kValueBits + kCrcBits;
constexpr int64_t kValueMod = int64_t{1} << kValueBits;
// Cells are laid out over the frame's width so the stamp survives scaling.

void cellRect(int cell, int width, int height, int& x0, int& x1, int& y0, int& y1) {
  int cell_w = width / kCells;
  x0 = cell * cell_w;
  x1 = x0 + cell_w;
  y0 = 0;
  y1 = height / 12;
}

bool bitOf(int64_t value, int crc, int cell) {
  if (cell < kMarker)
    return cell % 2 == 0;
  if (cell < kMarker + kValueBits)
    return ((value >> (kValueBits - 1 - (cell - kMarker))) & 1) != 0;
  return ((crc >> (kCrcBits - 1 - (cell - kMarker - kValueBits))) & 1) != 0;
}

}  // namespace

int stampCrc(int64_t value) {
  // CRC-8, polynomial x^8 + x^2 + x + 1 (0x07), over the 5 bytes, high first.
  int crc = 0;
  for (int byte = 4; byte >= 0; --byte) {
    crc ^= static_cast<int>((value >> (8 * byte)) & 0xff);
    for (int i = 0; i < 8; ++i)
      crc = (crc & 0x80) ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

void paintStamp(uint8_t* luma, int stride, int width, int height, int64_t ms) {
  int64_t value = ms % kValueMod;
  int crc = stampCrc(value);
  for (int cell = 0; cell < kCells; ++cell) {
    bool one = bitOf(value, crc, cell);
    int x0, x1, y0, y1;
    cellRect(cell, width, height, x0, x1, y0, y1);
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x)
        luma[y * stride + x] = one ? 235 : 16;
    }
  }
}

std::optional<int64_t> readStamp(const uint8_t* luma, int stride, int width, int height,
                                 std::optional<int64_t> near_ms) {
  int64_t value = 0;
  int crc = 0;
  for (int cell = 0; cell < kCells; ++cell) {
    int x0, x1, y0, y1;
    cellRect(cell, width, height, x0, x1, y0, y1);
    // Average the middle of the cell: edges blur under compression.
    int sum = 0, n = 0;
    for (int y = y0 + (y1 - y0) / 4; y < y1 - (y1 - y0) / 4; ++y) {
      for (int x = x0 + (x1 - x0) / 4; x < x1 - (x1 - x0) / 4; ++x) {
        sum += luma[y * stride + x];
        ++n;
      }
    }
    bool one = n > 0 && sum / n > 128;
    if (cell < kMarker) {
      if (one != (cell % 2 == 0))
        return std::nullopt;
    } else if (cell < kMarker + kValueBits) {
      value = (value << 1) | (one ? 1 : 0);
    } else {
      crc = (crc << 1) | (one ? 1 : 0);
    }
  }
  if (crc != stampCrc(value))
    return std::nullopt;
  // The time nearest `near_ms` (now) with these low 40 bits.
  int64_t near = near_ms ? *near_ms
                         : std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  int64_t ms = near - near % kValueMod + value;
  if (ms - near > kValueMod / 2)
    ms -= kValueMod;
  else if (near - ms > kValueMod / 2)
    ms += kValueMod;
  return ms;
}

}  // namespace jobcast::media
