#pragma once
// The HTTP(S) listener: libwebsockets on the control loop (foreign GLib loop),
// turning requests into Router calls. WebSocket protocols ride on the same vhosts.

#include <libwebsockets.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/address_set.h"
#include "core/config.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/result.h"
#include "signaling/hls_responses.h"
#include "signaling/http.h"
#include "signaling/rate_limiter.h"

namespace jobcast::http {

class HttpFront;

class HttpServer {
 public:
  struct Options {
    ListenAddress http;
    ListenAddress https;  // port < 0: no HTTPS
    std::string tls_cert;
    std::string tls_key;
    int64_t max_body_bytes = 1 << 20;
    // Open connections per client address; 0: no cap. Trusted proxies are exempt.
    int64_t max_connections_per_ip = 64;
    int header_timeout_s = 5;  // the whole request header, from the first byte
    int body_timeout_s = 15;   // the whole request body, and any silence in it
    // WebSockets: a PING after this long without a sign of the peer, closed
    // this long after the last one (a PONG or any frame).
    uint16_t ws_ping_s = 30;
    uint16_t ws_timeout_s = 75;
    // Peers whose X-Forwarded-For names the client.
    AddressSet trusted_proxies;
    // Requests per client address: pages, static files and REST ...
    RateLimiter::Options general_rate{.per_second = 50, .burst = 200};
    // ... HLS playlists, segments and recordings ...
    RateLimiter::Options media_rate{.per_second = 100, .burst = 300};
    // ... and what starts or changes a session: WHIP, WHEP, stage, the demo
    // token and WebSocket upgrades.
    RateLimiter::Options session_rate{.per_second = 5, .burst = 20};
    // Extra protocols (WebSocket subprotocols) served on both vhosts. Each
    // entry's callback is called by lws on the control thread.
    std::vector<lws_protocols> websocket_protocols;
    // Threads of the plain-HTTP front, which answers prepared HLS itself and
    // hands every other request to lws (signaling/http_front.h).
    int front_threads = 1;
    // The HLS answers the front serves; null: none (everything goes to lws).
    std::shared_ptr<const HlsResponses> hls;
  };

  HttpServer(Loop& loop, Metrics& metrics, Router& router, Options options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listeners. An error names what failed (port in use, bad cert).
  Result<bool> start();
  // Stops accepting and closes every connection.
  void stop();

  int httpPort() const { return http_port_; }
  int httpsPort() const { return https_port_; }
  lws_context* context() const { return context_; }
  Metrics& metrics() { return metrics_; }
  Router& router() { return router_; }
  int64_t maxBodyBytes() const { return options_.max_body_bytes; }
  const Options& options() const { return options_; }
  // Requests the front answered itself, by status ("200", "304", "429", "bad").
  uint64_t frontResponses(const std::string& status) const;
  // Gives a socket the front read from to lws, with the bytes it read. Any
  // thread: the adoption itself runs on the control thread.
  void adopt(int fd, std::string bytes);

  struct Impl;  // callback glue, in http_server.cpp

 private:
  Loop& loop_;
  Metrics& metrics_;
  Router& router_;
  Options options_;
  std::vector<lws_protocols> protocols_;
  void* foreign_loops_[1] = {nullptr};
  lws_retry_bo_t idle_policy_{};  // WebSocket PING and hang-up (Options::ws_*)
  lws_context* context_ = nullptr;
  lws_vhost* http_vhost_ = nullptr;
  std::unique_ptr<HttpFront> front_;
  // False once stopped: adoptions still queued on the loop close their socket.
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
  int http_port_ = -1;
  int https_port_ = -1;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobcast::http
