#pragma once
// The HTTP server options for a test or bench node that many viewers reach
// from 127.0.0.1: plain HTTP on a free loopback port, no HTTPS, and no
// per-address connection or session-rate limits.

#include "signaling/http_server.h"

namespace jobcast::test {

inline http::HttpServer::Options loopbackHttpOptions() {
  http::HttpServer::Options options;
  options.http = {"127.0.0.1", 0};
  options.https = {"", -1};
  options.max_connections_per_ip = 0;
  options.session_rate = {.per_second = 1e6, .burst = 1e6};
  return options;
}

}  // namespace jobcast::test
