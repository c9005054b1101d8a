#pragma once
// A value or an error, for paths that cross C callbacks where exceptions must not.

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace jobcast {

struct Error {
  std::string code;     // stable, machine-readable ("redis_unavailable", "not_found", ...)
  std::string message;  // for people; never holds personal data
  int64_t retry_s = 0;  // > 0: the same request can succeed after this many seconds
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace jobcast
