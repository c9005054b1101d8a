#pragma once
// Serves the web pages from a folder: content types, ETag/304, gzip for text,
// and cache headers (HTML revalidated, versioned assets cached). Files are read
// once into memory and re-read when they change on disk.

#include <map>
#include <memory>
#include <string>

#include "signaling/http.h"

namespace jobcast::http {

class StaticFiles {
 public:
  explicit StaticFiles(std::string root);

  // Answers GET/HEAD for `path` (already URL-decoded). Paths that leave the
  // root, hidden files and missing files get 404.
  void serve(const Request& request, const Responder& responder);
  // Serves one file of the root for any path (page routes like /room/{id}).
  void serveFile(const std::string& relative, const Request& request, const Responder& responder);

  const std::string& root() const { return root_; }
  // The cache-control of files other than HTML ("public, max-age=300" unless set).
  void setCacheControl(std::string value) { cache_control_ = std::move(value); }
  static std::string contentType(const std::string& path);

 private:
  struct Entry {
    std::shared_ptr<const std::string> bytes;
    std::shared_ptr<const std::string> gzipped;  // null when not worth it
    std::string etag;
    long long mtime_ns = 0;
    long long size = 0;
  };
  const Entry* load(const std::string& relative);

  std::string root_;
  std::string cache_control_ = "public, max-age=300";
  std::map<std::string, Entry> cache_;
};

// The web-client folder to serve: `configured` if set, else the first of
// <exe>/../share/jobcast/web-client, ./web-client and the source tree's.
std::string findWebClientDir(const std::string& configured);

}  // namespace jobcast::http
