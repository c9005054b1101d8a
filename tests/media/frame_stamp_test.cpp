#include "media/frame_stamp.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace jobcast::media {
namespace {

constexpr int64_t kNow = 1796351252253;  // a December 2026 time, in ms

struct Plane {
  int width, height;
  std::vector<uint8_t> luma;
  Plane(int w, int h) : width(w), height(h), luma(static_cast<size_t>(w * h), 128) {}
};

// A plane scaled by nearest neighbour, as a player's smaller picture.
Plane scaled(const Plane& p, int w, int h) {
  Plane out(w, h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x)
      out.luma[static_cast<size_t>(y * w + x)] =
          p.luma[static_cast<size_t>((y * p.height / h) * p.width + x * p.width / w)];
  }
  return out;
}

TEST(FrameStamp, ReadsBackThePaintedTimeAfterScaling) {
  Plane p(1280, 720);
  paintStamp(p.luma.data(), p.width, p.width, p.height, kNow);
  EXPECT_EQ(readStamp(p.luma.data(), p.width, p.width, p.height, kNow + 1500), kNow);
  Plane small = scaled(p, 640, 360);
  EXPECT_EQ(readStamp(small.luma.data(), small.width, small.width, small.height, kNow - 900), kNow);
  // Read against the real clock: the stamp of "now" reads back as itself.
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  paintStamp(p.luma.data(), p.width, p.width, p.height, now);
  EXPECT_EQ(readStamp(p.luma.data(), p.width, p.width, p.height), now);
}

// One cell read wrong (a blurred block, a half-updated picture): no time at
// all rather than a wrong one.
TEST(FrameStamp, AMisreadCellMakesItUnreadableNotWrong) {
  Plane p(1280, 720);
  paintStamp(p.luma.data(), p.width, p.width, p.height, kNow);
  const int cell_w = p.width / 52;
  for (int cell = 0; cell < 52; ++cell) {
    Plane damaged = p;
    for (int y = 0; y < p.height / 12; ++y) {
      for (int x = cell * cell_w; x < (cell + 1) * cell_w; ++x) {
        uint8_t& v = damaged.luma[static_cast<size_t>(y * p.width + x)];
        v = v > 128 ? 16 : 235;
      }
    }
    EXPECT_FALSE(readStamp(damaged.luma.data(), p.width, p.width, p.height, kNow))
        << "cell " << cell;
  }
  Plane blank(1280, 720);
  EXPECT_FALSE(readStamp(blank.luma.data(), blank.width, blank.width, blank.height, kNow));
}

TEST(FrameStamp, CrcIsTheStandardCrc8) {
  // CRC-8 (poly 0x07, init 0) of the bytes 0x31..0x35 ("12345").
  EXPECT_EQ(stampCrc(0x3132333435LL), 0xCB);
  EXPECT_EQ(stampCrc(0), 0);
}

}  // namespace
}  // namespace jobcast::media
