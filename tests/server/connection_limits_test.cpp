// Connection limits of a real jobcastd: half-sent requests from one address must
// not keep anyone else out, the cap spares trusted proxies, and every route's
// request budget is keyed on the real client behind a trusted proxy.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

namespace jobcast::test {
namespace {

// A TCP connection from `from` to 127.0.0.1:port, or -1.
int connectFrom(const char* from, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, from, &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True once the server has closed `fd` (EOF or reset), waiting at most `limit`.
bool closedByServer(int fd, std::chrono::milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0)
    return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

double metric(const std::string& text, const std::string& name) {
  std::smatch m;
  std::regex line("(^|\n)" + name + " ([0-9.e+]+)");
  return std::regex_search(text, m, line) ? std::stod(m[2]) : -1;
}

std::string writeConfig(const TempDir& dir, const std::string& yaml) {
  std::string path = dir.path() + "/jobcast.yaml";
  std::ofstream(path) << yaml;
  return path;
}

// The status line a WebSocket upgrade from `from` gets ("HTTP/1.1 101 ..."), or
// empty when the node closes the connection instead.
std::string upgradeFrom(const char* from, int port) {
  int fd = connectFrom(from, port);
  if (fd < 0)
    return "no connection";
  static const char kUpgrade[] =
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Protocol: jobcast.v1\r\n\r\n";
  ::send(fd, kUpgrade, sizeof kUpgrade - 1, MSG_NOSIGNAL);
  std::string reply;
  char buf[512];
  while (reply.find("\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0)
      break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return reply.substr(0, reply.find("\r\n"));
}

HttpResponse healthFrom(const Jobcastd& node, const char* from) {
  HttpRequest probe;
  probe.url = node.url("/healthz");
  probe.local_address = from;
  probe.timeout_ms = 1000;  // the acceptance bound: answered within a second
  return http(probe);
}

TEST(ConnectionLimits, HalfOpenConnectionsFromOneAddressDoNotStarveOthers) {
  constexpr int kConnections = 2000;
  // Room for the half-open sockets here and in jobcastd, which inherits it.
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 3 * kConnections + 1024);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  ASSERT_GE(limit.rlim_cur, static_cast<rlim_t>(2 * kConnections + 512));

  RedisServer redis;
  Jobcastd node({.redis = redis.address()});
  ASSERT_NO_FATAL_FAILURE(node.start());

  std::vector<int> sockets;
  std::vector<double> latencies_ms;
  std::vector<std::string> failures;
  auto probe = [&] {
    auto started = std::chrono::steady_clock::now();
    auto r = healthFrom(node, "127.0.0.2");
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count());
    if (r.status != 200)
      failures.push_back("status " + std::to_string(r.status) + " " + r.error);
  };
  static const char kPartial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  for (int i = 0; i < kConnections; ++i) {
    int fd = connectFrom("127.0.0.1", node.httpPort());
    if (fd >= 0) {
      ::send(fd, kPartial, sizeof kPartial - 1, MSG_NOSIGNAL);
      sockets.push_back(fd);
    }
    if (i % 100 == 99)
      probe();
  }
  for (int i = 0; i < 20; ++i) {
    probe();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // spread over a second
  }

  HttpRequest metrics_request;
  metrics_request.url = node.url("/metrics");
  metrics_request.local_address = "127.0.0.2";
  auto metrics = http(metrics_request);
  double accepted = metric(metrics.body, "jobcast_http_connections_accepted_total");
  double refused = metric(metrics.body, "jobcast_http_connections_refused_total");
  std::vector<double> sorted = latencies_ms;
  std::sort(sorted.begin(), sorted.end());
  std::cout << "half-open connections: " << sockets.size() << " opened, " << accepted
            << " accepted, " << refused
            << " refused; /healthz from 127.0.0.2: " << latencies_ms.size() << " probes, "
            << failures.size() << " failed, p50 " << sorted[sorted.size() / 2] << " ms, max "
            << sorted.back() << " ms\n";

  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << latencies_ms.size()
                                << " probes failed, first: " << failures.front();
  EXPECT_GT(refused, 0);  // the cap refused the flood
  // A connection whose header never completes is closed by the node.
  bool closed_one = false;
  for (int fd : sockets) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) {  // still open: one the node accepted
      closed_one = closedByServer(fd, std::chrono::seconds(30));
      break;
    }
  }
  EXPECT_TRUE(closed_one);
  for (int fd : sockets)
    ::close(fd);
  EXPECT_TRUE(node.running());
}

TEST(ConnectionLimits, SlowHeadersAndBodiesAreDropped) {
  RedisServer redis;
  TempDir dir("timeouts");
  auto config = writeConfig(dir,
                            "server:\n"
                            "  header_timeout_s: 1\n"
                            "  body_timeout_s: 2\n");
  Jobcastd node({.args = {"--config", config}, .redis = redis.address()});
  ASSERT_NO_FATAL_FAILURE(node.start());

  int half_header = connectFrom("127.0.0.10", node.httpPort());
  ASSERT_GE(half_header, 0);
  static const char kPartial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  ::send(half_header, kPartial, sizeof kPartial - 1, MSG_NOSIGNAL);
  int half_body = connectFrom("127.0.0.10", node.httpPort());
  ASSERT_GE(half_body, 0);
  static const char kPost[] =
      "POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 100\r\n\r\n{\"title\":";
  ::send(half_body, kPost, sizeof kPost - 1, MSG_NOSIGNAL);

  EXPECT_TRUE(closedByServer(half_header, std::chrono::seconds(20)));
  EXPECT_TRUE(closedByServer(half_body, std::chrono::seconds(20)));
  ::close(half_header);
  ::close(half_body);
  EXPECT_EQ(healthFrom(node, "127.0.0.10").status, 200);
}

// A client that is still sending a refused body must be able to finish and
// read the answer: the node drains the rest for a while instead of closing
// on unread bytes (which makes the kernel send RST and can destroy the 413).
TEST(ConnectionLimits, ARefusedBodyIsDrainedSoTheClientReadsTheAnswer) {
  RedisServer redis;
  Jobcastd node({.redis = redis.address()});
  ASSERT_NO_FATAL_FAILURE(node.start());
  int fd = connectFrom("127.0.0.11", node.httpPort());
  ASSERT_GE(fd, 0);
  const size_t total = 4u << 20;  // over the 1 MiB limit
  std::string head =
      "POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(total) + "\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  // The node answers on the headers alone; wait for the answer to arrive.
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Now send the whole body, as a client that writes before it reads does.
  std::string chunk(64 * 1024, 'x');
  size_t sent = 0;
  while (sent < total) {
    ssize_t n = ::send(fd, chunk.data(), std::min(chunk.size(), total - sent), MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << "the node reset the connection after " << sent
                    << " body bytes: " << std::strerror(errno);
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[4096];
  for (;;) {
    pollfd r{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&r, 1, 10000), 1);
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GE(n, 0) << "reset instead of a clean close: " << std::strerror(errno);
    if (n == 0)
      break;
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
  EXPECT_NE(reply.find("payload_too_large"), std::string::npos) << reply;
  EXPECT_EQ(healthFrom(node, "127.0.0.11").status, 200);
}

TEST(ConnectionLimits, CapsConnectionsPerAddressButNotForTrustedProxies) {
  RedisServer redis;
  TempDir dir("conncap");
  auto config = writeConfig(dir,
                            "server:\n"
                            "  max_connections_per_ip: 3\n"
                            "  trusted_proxies: [127.0.0.4/32]\n");
  Jobcastd node({.args = {"--config", config}, .redis = redis.address()});
  ASSERT_NO_FATAL_FAILURE(node.start());

  std::vector<int> held;
  for (int i = 0; i < 3; ++i) {
    int fd = connectFrom("127.0.0.3", node.httpPort());
    ASSERT_GE(fd, 0);
    held.push_back(fd);
  }
  // The fourth from the same address is closed at once ...
  int fourth = connectFrom("127.0.0.3", node.httpPort());
  ASSERT_GE(fourth, 0);  // the kernel accepted it; the node then hangs up
  EXPECT_TRUE(closedByServer(fourth, std::chrono::seconds(10)));
  ::close(fourth);
  HttpRequest metrics;
  metrics.url = node.url("/metrics");
  metrics.local_address = "127.0.0.5";
  EXPECT_EQ(metric(http(metrics).body, "jobcast_http_connections_refused_total"), 1);
  // ... while another address is served ...
  EXPECT_EQ(healthFrom(node, "127.0.0.5").status, 200);
  // ... and so is a trusted proxy with more connections than the cap.
  for (int i = 0; i < 6; ++i) {
    int fd = connectFrom("127.0.0.4", node.httpPort());
    ASSERT_GE(fd, 0);
    held.push_back(fd);
  }
  EXPECT_EQ(healthFrom(node, "127.0.0.4").status, 200);
  // Closing one frees a place for its address.
  ::close(held[0]);
  EXPECT_TRUE(eventually([&] { return healthFrom(node, "127.0.0.3").status == 200; }));
  for (size_t i = 1; i < held.size(); ++i)
    ::close(held[i]);
}

TEST(ConnectionLimits, EveryRouteIsRateLimitedByClientAddressBehindATrustedProxy) {
  RedisServer redis;
  TempDir dir("ratelimit");
  auto config = writeConfig(dir,
                            "server:\n"
                            "  trusted_proxies: [127.0.0.6]\n"
                            "limits:\n"
                            "  session_rate_per_second: 1\n"
                            "  session_rate_burst: 2\n"
                            "  media_rate_per_second: 1\n"
                            "  media_rate_burst: 2\n");
  Jobcastd node({.args = {"--config", config}, .redis = redis.address()});
  ASSERT_NO_FATAL_FAILURE(node.start());

  auto post = [&](const std::string& path, const char* from, const std::string& forwarded) {
    HttpRequest r;
    r.method = "POST";
    r.url = node.url(path);
    r.body = "v=0\r\n";
    r.headers = {{"content-type", "application/sdp"}};
    if (!forwarded.empty())
      r.headers.push_back({"x-forwarded-for", forwarded});
    r.local_address = from;
    return http(r);
  };
  // Behind the proxy, each client has its own budget.
  EXPECT_NE(post("/whep/r1", "127.0.0.6", "203.0.113.1").status, 429);
  EXPECT_NE(post("/whep/r1", "127.0.0.6", "203.0.113.1").status, 429);
  auto limited = post("/whep/r1", "127.0.0.6", "203.0.113.1");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.json()["error"]["code"], "rate_limited");
  EXPECT_FALSE(limited.header("retry-after").empty());
  EXPECT_NE(post("/whep/r1", "127.0.0.6", "203.0.113.2").status, 429);
  // A client's own X-Forwarded-For entries left of the proxy's are not believed.
  EXPECT_EQ(post("/whip/r1", "127.0.0.6", "198.51.100.9, 203.0.113.1").status, 429);

  // An untrusted peer cannot pick a fresh address with the header.
  EXPECT_NE(post("/whip/r1", "127.0.0.7", "203.0.113.3").status, 429);
  EXPECT_NE(post("/whip/r1", "127.0.0.7", "203.0.113.4").status, 429);
  EXPECT_EQ(post("/whip/r1", "127.0.0.7", "203.0.113.5").status, 429);

  // HLS and recordings draw on their own budget.
  auto get = [&](const std::string& path) {
    HttpRequest r;
    r.url = node.url(path);
    r.local_address = "127.0.0.8";
    return http(r).status;
  };
  EXPECT_NE(get("/hls/r1/master.m3u8"), 429);
  EXPECT_NE(get("/recordings/r1/a.mp4"), 429);
  EXPECT_EQ(get("/hls/r1/master.m3u8"), 429);
  EXPECT_EQ(get("/healthz"), 200);  // health probes are never limited

  // WebSocket upgrades draw on the session budget: over it, no 101.
  EXPECT_EQ(upgradeFrom("127.0.0.9", node.httpPort()).rfind("HTTP/1.1 101", 0), 0u);
  EXPECT_EQ(upgradeFrom("127.0.0.9", node.httpPort()).rfind("HTTP/1.1 101", 0), 0u);
  EXPECT_EQ(upgradeFrom("127.0.0.9", node.httpPort()).rfind("HTTP/1.1 101", 0), std::string::npos);
}

}  // namespace
}  // namespace jobcast::test
