#pragma once
// A fresh directory under $TMPDIR, removed with everything in it on destruction.

#include <string>

namespace jobcast::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "jobcast-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A TCP port that was free a moment ago on 127.0.0.1.
int freePort();

}  // namespace jobcast::test
