#pragma once
// Helpers for media tests that drive the control loop on the test thread.

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "core/loop.h"

namespace jobcast::test {

// Runs the loop until `done` or `timeout`; returns done().
inline bool runUntil(Loop& loop, const std::function<bool()>& done,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done())
      return true;
    while (g_main_context_iteration(loop.context(), FALSE)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

struct Rgb {
  int r = 0, g = 0, b = 0;
};

// Mean colour of a square of `half` pixels around (x, y) in a packed RGB frame.
inline Rgb meanColour(const std::vector<uint8_t>& rgb, int width, int x, int y, int half = 4) {
  long r = 0, g = 0, b = 0, n = 0;
  for (int yy = y - half; yy <= y + half; ++yy) {
    for (int xx = x - half; xx <= x + half; ++xx) {
      size_t i = (static_cast<size_t>(yy) * width + xx) * 3;
      r += rgb[i];
      g += rgb[i + 1];
      b += rgb[i + 2];
      ++n;
    }
  }
  return {static_cast<int>(r / n), static_cast<int>(g / n), static_cast<int>(b / n)};
}

inline bool near(Rgb c, int r, int g, int b, int tolerance = 40) {
  return std::abs(c.r - r) <= tolerance && std::abs(c.g - g) <= tolerance &&
         std::abs(c.b - b) <= tolerance;
}

}  // namespace jobcast::test
