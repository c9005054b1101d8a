#pragma once
// The edge where a C library (libwebsockets, hiredis, GLib) calls into our code:
// no exception may cross it. guarded() runs one callback; an exception there
// is a bug, logged once and reported to the caller (which answers 500 or an
// "internal" error frame where it can), and the node carries on.

#include <nlohmann/json.hpp>

#include <exception>
#include <string_view>
#include <typeinfo>
#include <utility>

#include "core/log.h"

namespace jobcast {

// Logs an escaped exception without personal data: only the texts of JSON
// type and range errors are logged (they name types and our own keys, never
// values); others log their type alone, since their text may quote the input.
inline void logEscapedException(std::string_view where, const std::exception* e) noexcept {
  try {
    nlohmann::json fields = {{"where", where}};
    if (e == nullptr) {
      fields["exception"] = "unknown";
    } else if (dynamic_cast<const nlohmann::json::type_error*>(e) != nullptr ||
               dynamic_cast<const nlohmann::json::out_of_range*>(e) != nullptr ||
               dynamic_cast<const nlohmann::json::invalid_iterator*>(e) != nullptr) {
      fields["exception"] = e->what();
    } else {
      fields["exception"] = typeid(*e).name();
    }
    log::error("exception caught at a callback edge", fields);
  } catch (...) {
    // Logging itself failed (out of memory): nothing more to do.
  }
}

// Runs fn(); true when it returned normally, false when it threw (logged).
template <typename Fn>
bool guarded(std::string_view where, Fn&& fn) noexcept {
  try {
    std::forward<Fn>(fn)();
    return true;
  } catch (const std::exception& e) {
    logEscapedException(where, &e);
  } catch (...) {
    logEscapedException(where, nullptr);
  }
  return false;
}

}  // namespace jobcast
