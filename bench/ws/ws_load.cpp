// Load generator for the live room channel: opens N viewer WebSockets (raw
// sockets + epoll, RFC 6455 framing) to one jobcastd, then measures
//   - connections held (welcomes received),
//   - memory per idle connection (the server's RSS growth / N, via --pid),
//   - delivery latency of a chat message to all N (p50/p99 over every delivery,
//     and the time until the last viewer had each message),
//   - events fanned out per second during a burst,
//   - connections the node refused as full (node_full, close 1013).
// One extra connection (a staff token, exempt from chat limits) sends.
// Events may come one per frame or several in a batch frame.
//
// usage: ws_load --port P --room R --token JWT --viewers N [--pid PID]
//                [--messages 50] [--interval-ms 100] [--burst 200]

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Conn {
  int fd = -1;
  // 0 connecting, 1 handshake sent, 2 upgraded (hello sent), 3 welcomed, 4 closed
  int state = 0;
  std::string rx;
  std::string tx;
  bool sender = false;
};

// A masked client frame: text (1) or, answering the node's PINGs, PONG (10).
std::string maskedFrame(int opcode, const std::string& payload) {
  std::string f;
  f += static_cast<char>(0x80 | opcode);
  size_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  f.append(mask, 4);
  for (size_t i = 0; i < n; ++i)
    f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

std::string maskedText(const std::string& payload) {
  return maskedFrame(1, payload);
}

long rssKb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      return std::atol(line.c_str() + 6);
  }
  return -1;
}

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A counter from the node's /metrics (a plain GET on its own connection); -1
// when it cannot be read.
double nodeMetric(int port, const std::string& name) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  std::string req = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string body;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    body.append(buf, static_cast<size_t>(n));
  ::close(fd);
  size_t at = body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atof(body.c_str() + at + name.size() + 2);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct Load {
  int port = 0;
  std::string room, token;
  int ep = -1;
  std::vector<Conn> conns;
  size_t welcomed = 0;
  std::map<long, int64_t> sent_at;       // message number -> send time
  std::map<long, int64_t> last_arrival;  // message number -> last delivery time
  std::map<long, size_t> arrivals;
  std::vector<double> latencies_ms;
  size_t deliveries = 0;
  size_t errors = 0;
  size_t refused = 0;  // node_full
  size_t closed = 0;

  void close(Conn& c) {
    if (c.state == 4)
      return;
    ::close(c.fd);
    c.state = 4;
    ++closed;
  }

  void flush(Conn& c) {
    while (!c.tx.empty()) {
      ssize_t n = ::send(c.fd, c.tx.data(), c.tx.size(), MSG_NOSIGNAL);
      if (n <= 0)
        return;
      c.tx.erase(0, static_cast<size_t>(n));
    }
  }

  void open(size_t index, bool sender) {
    Conn& c = conns[index];
    c.sender = sender;
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a = loopback(port);
    ::connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = index;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    c.tx =
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Protocol: jobcast.v1\r\n\r\n";
  }

  void onText(Conn& c, const std::string& m) {
    if (m.find("\"type\":\"welcome\"") != std::string::npos) {
      c.state = 3;
      ++welcomed;
      return;
    }
    if (m.find("\"type\":\"error\"") != std::string::npos) {
      if (m.find("\"code\":\"node_full\"") != std::string::npos) {
        ++refused;
      } else if (++errors <= 3) {
        std::printf("error frame: %s\n", m.substr(0, 300).c_str());
      }
      return;
    }
    // One chat message per frame, or several in a batch.
    int64_t now = nowNs();
    for (auto t = m.find("\"text\":\"bench "); t != std::string::npos;
         t = m.find("\"text\":\"bench ", t + 1)) {
      long num = std::strtol(m.c_str() + t + 14, nullptr, 10);
      auto s = sent_at.find(num);
      if (s == sent_at.end())
        continue;
      latencies_ms.push_back(static_cast<double>(now - s->second) / 1e6);
      last_arrival[num] = now;
      ++arrivals[num];
      ++deliveries;
    }
  }

  void onReadable(Conn& c) {
    // One read per readiness: epoll is level-triggered, so what is left is
    // reported again, and a second recv() that finds nothing would cost this
    // client (which shares the node's cores) a syscall per delivery.
    static char buf[256 * 1024];
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n == 0) {
      close(c);
      return;
    }
    if (n > 0)
      c.rx.append(buf, static_cast<size_t>(n));
    if (c.state == 1) {
      auto end = c.rx.find("\r\n\r\n");
      if (end == std::string::npos)
        return;
      if (c.rx.rfind("HTTP/1.1 101", 0) != 0) {
        if (++errors <= 3)
          std::printf("handshake refused: %s\n", c.rx.substr(0, c.rx.find("\r\n")).c_str());
        close(c);
        return;
      }
      c.rx.erase(0, end + 4);
      c.state = 2;
      std::string hello = "{\"type\":\"hello\",\"room\":\"" + room +
                          "\",\"token\":" + (c.sender ? "\"" + token + "\"" : std::string("null")) +
                          "}";
      c.tx += maskedText(hello);
      flush(c);
    }
    size_t pos = 0;
    while (c.rx.size() - pos >= 2) {
      auto b1 = static_cast<uint8_t>(c.rx[pos + 1]);
      size_t hdr = 2;
      uint64_t len = b1 & 0x7f;
      if (len == 126) {
        if (c.rx.size() - pos < 4)
          break;
        len = (uint64_t(uint8_t(c.rx[pos + 2])) << 8) | uint8_t(c.rx[pos + 3]);
        hdr = 4;
      } else if (len == 127) {
        if (c.rx.size() - pos < 10)
          break;
        len = 0;
        for (int i = 0; i < 8; ++i)
          len = (len << 8) | uint8_t(c.rx[pos + 2 + static_cast<size_t>(i)]);
        hdr = 10;
      }
      if (c.rx.size() - pos < hdr + len)
        break;
      int opcode = c.rx[pos] & 0x0f;
      if (opcode == 1)
        onText(c, c.rx.substr(pos + hdr, len));
      if (opcode == 9) {  // as a browser does, or the node closes us after server.ws_timeout_s
        c.tx += maskedFrame(10, c.rx.substr(pos + hdr, len));
        flush(c);
      }
      pos += hdr + len;
      if (opcode == 8) {  // the server closes: so do we, freeing the descriptor
        close(c);
        return;
      }
    }
    c.rx.erase(0, pos);
  }

  // Runs the loop for `ms` or until done() holds.
  template <typename Done>
  void pump(int ms, Done done) {
    auto deadline = Clock::now() + std::chrono::milliseconds(ms);
    epoll_event evs[1024];
    while (Clock::now() < deadline && !done()) {
      int n = epoll_wait(ep, evs, 1024, 10);
      for (int i = 0; i < n; ++i) {
        Conn& c = conns[evs[i].data.u64];
        if (c.state == 4)
          continue;
        if ((evs[i].events & EPOLLOUT) && c.state == 0) {
          c.state = 1;
          flush(c);
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u64 = evs[i].data.u64;
          epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        }
        if (evs[i].events & EPOLLIN)
          onReadable(c);
      }
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Load load;
  size_t viewers = 1000;
  int pid = 0, messages = 50, interval_ms = 100, burst = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--port")
      load.port = std::atoi(v);
    else if (a == "--room")
      load.room = v;
    else if (a == "--token")
      load.token = v;
    else if (a == "--viewers")
      viewers = static_cast<size_t>(std::atol(v));
    else if (a == "--pid")
      pid = std::atoi(v);
    else if (a == "--messages")
      messages = std::atoi(v);
    else if (a == "--interval-ms")
      interval_ms = std::atoi(v);
    else if (a == "--burst")
      burst = std::atoi(v);
  }
  if (!load.port || load.room.empty() || load.token.empty()) {
    std::fprintf(stderr,
                 "usage: ws_load --port P --room R --token STAFF_JWT --viewers N [--pid PID]\n");
    return 2;
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  load.ep = epoll_create1(0);
  load.conns.resize(viewers + 1);

  // The sender first: a node that sheds (live.max_connections) keeps it.
  load.open(viewers, true);
  load.pump(10000, [&] { return load.welcomed >= 1; });
  long rss_before = pid ? rssKb(pid) : -1;
  auto t0 = Clock::now();
  // Open in batches so the listen backlog never overflows.
  const size_t batch = 500;
  for (size_t start = 0; start < viewers; start += batch) {
    size_t end = std::min(viewers, start + batch);
    for (size_t i = start; i < end; ++i)
      load.open(i, false);
    load.pump(30000, [&] { return load.welcomed + load.refused >= end + 1; });
  }
  double connect_s = std::chrono::duration<double>(Clock::now() - t0).count();
  load.pump(10000, [&] { return load.welcomed + load.refused >= viewers + 1; });
  load.pump(3000, [] { return false; });  // let presence and viewer counts settle
  long rss_after = pid ? rssKb(pid) : -1;
  size_t held = load.welcomed - 1;
  std::printf(
      "viewers requested %zu, held %zu (connect+welcome in %.2f s), refused as full (1013) %zu, "
      "errors %zu\n",
      viewers, held, connect_s, load.refused, load.errors);
  if (pid) {
    std::printf("server RSS %ld KB -> %ld KB: %.1f KB per idle connection\n", rss_before, rss_after,
                static_cast<double>(rss_after - rss_before) / static_cast<double>(held));
  }

  Conn& sender = load.conns[viewers];
  auto send = [&](long num) {
    std::string frame = "{\"type\":\"chat.send\",\"req\":" + std::to_string(num) +
                        ",\"text\":\"bench " + std::to_string(num) + "\"}";
    load.sent_at[num] = nowNs();
    sender.tx += maskedText(frame);
    load.flush(sender);
  };
  // Paced messages: latency to every viewer.
  double fanouts0 = nodeMetric(load.port, "jobcast_ws_fanouts_total");
  double fanout_s0 = nodeMetric(load.port, "jobcast_ws_fanout_seconds_total");
  for (int m = 1; m <= messages; ++m) {
    send(m);
    load.pump(interval_ms, [] { return false; });
  }
  load.pump(30000, [&] { return load.arrivals[messages] >= held + 1; });
  std::vector<double> to_all_ms;
  size_t complete = 0;
  for (int m = 1; m <= messages; ++m) {
    if (load.arrivals[m] >= held + 1)
      ++complete;
    to_all_ms.push_back(static_cast<double>(load.last_arrival[m] - load.sent_at[m]) / 1e6);
  }
  std::printf(
      "paced: %d messages, %zu reached all %zu; delivery latency p50 %.1f ms, p99 %.1f ms; "
      "time to reach all p50 %.1f ms, p99 %.1f ms\n",
      messages, complete, held + 1, percentile(load.latencies_ms, 0.5),
      percentile(load.latencies_ms, 0.99), percentile(to_all_ms, 0.5), percentile(to_all_ms, 0.99));
  double fanouts = nodeMetric(load.port, "jobcast_ws_fanouts_total") - fanouts0;
  double fanout_s = nodeMetric(load.port, "jobcast_ws_fanout_seconds_total") - fanout_s0;
  if (fanouts0 >= 0 && fanouts > 0) {
    std::printf(
        "paced, on the node: %.0f fan-outs, %.1f ms each on average (first frame to last send)\n",
        fanouts, fanout_s * 1000 / fanouts);
  }

  // Burst: as fast as the sender can, then until every viewer has them all.
  size_t before = load.deliveries;
  load.latencies_ms.clear();
  auto b0 = Clock::now();
  for (int m = 0; m < burst; ++m)
    send(100000 + m);
  size_t want = before + static_cast<size_t>(burst) * (held + 1);
  load.pump(120000, [&] { return load.deliveries >= want; });
  double burst_s = std::chrono::duration<double>(Clock::now() - b0).count();
  size_t got = load.deliveries - before;
  std::printf(
      "burst: %d messages -> %zu of %zu deliveries in %.2f s = %.0f events/s fanned out; "
      "latency p50 %.1f ms, p99 %.1f ms\n",
      burst, got, want - before, burst_s, static_cast<double>(got) / burst_s,
      percentile(load.latencies_ms, 0.5), percentile(load.latencies_ms, 0.99));
  return held + load.refused >= viewers ? 0 : 1;
}
