#pragma once
// Waiting in tests for the control thread's callbacks: the test drives the
// Loop's context itself until what it waits for has happened.

#include <glib.h>

#include <chrono>
#include <functional>

#include "core/loop.h"

namespace jobcast::test {

// Iterates `loop` until `done` or until `limit` has passed; answers done().
inline bool runUntil(Loop& loop, const std::function<bool()>& done,
                     std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    g_main_context_iteration(loop.context(), FALSE);
    g_usleep(1000);
  }
  return done();
}

}  // namespace jobcast::test
