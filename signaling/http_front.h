#pragma once
// The plain-HTTP listener's front: a few epoll threads own the listening
// socket, read each request's header and answer GET/HEAD of prepared HLS
// playlists and segments themselves (a lookup and a writev; keep-alive and
// pipelining). Any other request (REST, pages, WebSocket upgrades, WHIP/WHEP,
// HLS that is not prepared here) is handed, with the bytes already read, to
// the Delegate, which gives the socket to libwebsockets on the control loop.
// Runs on its own threads; the Delegate is called from them.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/result.h"
#include "signaling/hls_responses.h"

namespace jobcast::http {

class HttpFront {
 public:
  // Called from the serving threads: must be thread-safe.
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // A new connection from `peer` (canonical address); false refuses it.
    virtual bool admitConnection(int fd, const std::string& peer) = 0;
    // The front closed a connection it had admitted.
    virtual void connectionClosed(int fd) = 0;
    // One media request from `peer` (X-Forwarded-For as sent): nothing when
    // allowed, else the whole raw refusal (a 429) to write.
    virtual std::optional<std::string> refuseMedia(const std::string& peer,
                                                   std::string_view forwarded) = 0;
    // The connection is no longer the front's: `bytes` were read from it and
    // not answered. The delegate owns `fd` from now on.
    virtual void handOver(int fd, std::string bytes) = 0;
  };

  struct Options {
    ListenAddress listen;
    int threads = 1;
    int header_timeout_s = 5;      // the whole request header, from its first byte
    int keepalive_timeout_s = 30;  // silence between requests, or a stalled write
    size_t max_header_bytes = 16 * 1024;
  };

  struct Counters {
    std::atomic<uint64_t> ok{0};            // 200
    std::atomic<uint64_t> not_modified{0};  // 304
    std::atomic<uint64_t> refused{0};       // 429
    std::atomic<uint64_t> bad{0};           // 400, 408, 431
    std::atomic<uint64_t> handed_over{0};
    std::atomic<uint64_t> held{0};  // low-latency reloads and hinted parts held until they exist
  };

  HttpFront(Options options, std::shared_ptr<const HlsResponses> responses, Delegate& delegate);
  ~HttpFront();
  HttpFront(const HttpFront&) = delete;
  HttpFront& operator=(const HttpFront&) = delete;

  // Binds and starts the threads. An error names what failed.
  Result<bool> start();
  // Stops the threads and closes the connections the front still holds.
  void stop();
  int port() const { return port_; }
  const Counters& counters() const { return counters_; }

  struct Worker;  // one serving thread, in http_front.cpp

 private:
  Options options_;
  std::shared_ptr<const HlsResponses> responses_;
  Delegate& delegate_;
  int listen_fd_ = -1;
  int port_ = -1;
  std::vector<std::unique_ptr<Worker>> workers_;
  int listener_ = -1;  // on responses_: wakes the workers' held reloads
  Counters counters_;
};

// A raw HTTP/1.1 response with a JSON error from the catalogue's shape.
std::string rawErrorResponse(int status, const std::string& code, const std::string& message,
                             bool close, const std::string& extra_headers = "");

}  // namespace jobcast::http
