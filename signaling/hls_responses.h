#pragma once
// HLS answers prepared once per segment and playlist version: status line,
// headers and body in immutable shared buffers, so that serving one is a
// lookup and a write with no formatting per request. Built on the control
// thread from the media service's HLS stores; looked up from any thread (the
// HTTP front's serving threads and lws on the control thread alike).

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "media/hls_store.h"

namespace jobcast::http {

// One response, ready to write. `head` and `head_not_modified` end with the
// last header line: the server appends its Date line and the blank line.
struct PreparedResponse {
  std::string content_type;
  std::string cache_control;
  std::string etag;  // quoted
  std::shared_ptr<const std::string> body;
  std::string head;               // "HTTP/1.1 200 OK\r\n..." (GET and HEAD)
  std::string head_not_modified;  // "HTTP/1.1 304 Not Modified\r\n..."
  // The body in a sealed memory file, for large bodies (segments): the front
  // sends it with sendfile, so its bytes are not copied per viewer. -1: none.
  int body_fd = -1;

  PreparedResponse() = default;
  ~PreparedResponse();
  PreparedResponse(const PreparedResponse&) = delete;
  PreparedResponse& operator=(const PreparedResponse&) = delete;

  // True when an If-None-Match header names this version (or "*").
  bool notModified(std::string_view if_none_match) const;
};

// Cache-Control for segments: their names carry the room's epoch and a
// sequence number and never repeat, so any cache may keep them for good.
inline constexpr const char* kSegmentCacheControl = "public, max-age=31536000, immutable";
inline constexpr const char* kPlaylistType = "application/vnd.apple.mpegurl";
// Bodies from this size on get a memory file (PreparedResponse::body_fd).
inline constexpr size_t kFileBodyBytes = 16 * 1024;

// The headers every HLS answer carries besides its own (CORS for players on
// other sites, no sniffing), as the lws path adds them.
std::string preparedHead(int status, const std::string& content_type, size_t length,
                         const std::string& cache_control, const std::string& etag);

// Cache-Control for a live playlist with segments of `target_seconds`: about
// half a target duration, or no-cache when that is under a second.
std::string playlistCacheControl(int target_seconds);

class HlsResponses {
 public:
  // `path` as requested: "/hls/ROOM/master.m3u8", "/hls/ROOM/REND/index.m3u8",
  // "/hls/ROOM/REND/EPOCH-SEQ.ts". Null when not prepared (unknown, not here,
  // not ready): the caller lets the router answer it. Any thread.
  std::shared_ptr<const PreparedResponse> find(std::string_view path) const;
  // As find(), but only for rooms whose media is live on this node: the HTTP
  // front answers those without asking who holds the room. A room whose media
  // ended here may belong to another node now; its requests go through the
  // router, which redirects them (routing/media_owner.h). Any thread.
  std::shared_ptr<const PreparedResponse> findLive(std::string_view path) const;
  // Marks the room's media as live here or not. Control thread.
  void setLive(const std::string& room, bool live);
  // Rebuilds the room's answers from its store (null: the room has no HLS
  // here any more). Segments already prepared are kept as they are. Control
  // thread.
  void publish(const std::string& room, const media::HlsStore* store);
  size_t rooms() const;
  // Where the room's low-latency rendition stands (blocking reloads wait on
  // it), and the room's epoch (part names carry it). Any thread.
  struct LlState {
    std::string epoch;
    media::LlPosition position;
    int target_seconds = 1;
  };
  std::optional<LlState> llState(const std::string& room, const std::string& rendition) const;
  // True when a low-latency playlist at `at` has part `part` of segment
  // `msn` (part -1: segment `msn` whole), as _HLS_msn/_HLS_part ask.
  static bool llReached(const media::LlPosition& at, uint64_t msn, int64_t part);
  // `fn` runs after every publish, on the publishing thread, while the
  // listeners' lock is held (keep it short: the front wakes its threads).
  // Returns an id for removeListener, which waits for a call in progress.
  int addListener(std::function<void()> fn) const;
  void removeListener(int id) const;

 private:
  // Keyed by the path after "/hls/ROOM/".
  using RoomTable = std::unordered_map<std::string, std::shared_ptr<const PreparedResponse>>;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const RoomTable>> rooms_;
  std::unordered_set<std::string> live_;         // rooms whose media is on stage here
  std::unordered_map<std::string, LlState> ll_;  // by ROOM/RENDITION
  mutable std::mutex listeners_mutex_;
  mutable std::map<int, std::function<void()>> listeners_;
  mutable int next_listener_ = 0;
  std::shared_ptr<const PreparedResponse> lookup(std::string_view path, bool live_only) const;
};

}  // namespace jobcast::http
