#include "media/frame_stamp.h"

namespace jobcast::media {
namespace {

constexpr int kBits = 48;
constexpr int kCells = kBits + 4;  // 1010 marker first, then the value
// Cells are laid out over the frame's width so the stamp survives scaling.

void cellRect(int cell, int width, int height, int& x0, int& x1, int& y0, int& y1) {
  int cell_w = width / kCells;
  x0 = cell * cell_w;
  x1 = x0 + cell_w;
  y0 = 0;
  y1 = height / 12;
}

}  // namespace

void paintStamp(uint8_t* luma, int stride, int width, int height, int64_t ms) {
  for (int cell = 0; cell < kCells; ++cell) {
    bool one = cell < 4 ? (cell % 2 == 0) : ((ms >> (kBits - 1 - (cell - 4))) & 1) != 0;
    int x0, x1, y0, y1;
    cellRect(cell, width, height, x0, x1, y0, y1);
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x)
        luma[y * stride + x] = one ? 235 : 16;
    }
  }
}

std::optional<int64_t> readStamp(const uint8_t* luma, int stride, int width, int height) {
  int64_t value = 0;
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
    if (cell < 4) {
      if (one != (cell % 2 == 0))
        return std::nullopt;
    } else {
      value = (value << 1) | (one ? 1 : 0);
    }
  }
  return value;
}

}  // namespace jobcast::media
