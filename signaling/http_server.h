#pragma once
// The HTTP(S) listener: libwebsockets on the control loop (foreign GLib loop),
// turning requests into Router calls. WebSocket protocols ride on the same vhosts.

#include <libwebsockets.h>

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/result.h"
#include "signaling/http.h"

namespace jobcast::http {

class HttpServer {
 public:
  struct Options {
    ListenAddress http;
    ListenAddress https;  // port < 0: no HTTPS
    std::string tls_cert;
    std::string tls_key;
    int64_t max_body_bytes = 1 << 20;
    // Extra protocols (WebSocket subprotocols) served on both vhosts. Each
    // entry's callback is called by lws on the control thread.
    std::vector<lws_protocols> websocket_protocols;
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

  struct Impl;  // callback glue, in http_server.cpp

 private:
  Loop& loop_;
  Metrics& metrics_;
  Router& router_;
  Options options_;
  std::vector<lws_protocols> protocols_;
  void* foreign_loops_[1] = {nullptr};
  lws_context* context_ = nullptr;
  int http_port_ = -1;
  int https_port_ = -1;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobcast::http
