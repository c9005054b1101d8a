// The job-fair day (tests/support/fair_day.h). Threads: the crowd (every
// live-channel viewer on one epoll loop), the applicants, the HLS players,
// the WHEP players, the staff (captioner, queue, interviews) and the script
// itself, which starts everyone, injects the faults and checks the end.

#include "tests/support/fair_day.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/redis_slots.h"
#include "media/egress/dtls.h"
#include "media/whip_client.h"
#include "tests/media/decode.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/light_viewer.h"
#include "tests/support/on_air.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tokens.h"
#include "tests/support/ws_client.h"

namespace jobcast::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kNodes = 3;
constexpr int kMediaNode = 0;   // the publisher's node
constexpr int kVictimNode = 2;  // the node killed during the day

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

long rssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::atol(line.c_str() + 6);
  return 0;
}

// A stream entry id "MS-SEQ" as one ordered number.
uint64_t packId(std::string_view id) {
  size_t dash = id.find('-');
  if (dash == std::string_view::npos)
    return 0;
  uint64_t ms = std::strtoull(std::string(id.substr(0, dash)).c_str(), nullptr, 10);
  uint64_t seq = std::strtoull(std::string(id.substr(dash + 1)).c_str(), nullptr, 10);
  return (ms << 20) | (seq & 0xfffff);
}

// splitmix64: the per-event term of a viewer's order-free digest.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// ---------------------------------------------------------------------------
// The crowd: anonymous viewers on one epoll loop (RFC 6455 by hand, as
// bench/ws/ws_load.cpp). A viewer keeps no list of what it got, only its
// first position, its last id, a count and a digest; ids must rise strictly.

struct Viewer {
  int node = 0;
  int fd = -1;
  enum State { kIdle, kConnecting, kUpgrading, kWelcoming, kWatching } state = kIdle;
  std::string rx, tx, message;
  int message_opcode = 0;
  uint64_t start = 0;  // the first welcome's last_id: events after it are this viewer's
  bool started = false;
  uint64_t last = 0;
  std::string last_text;
  long long count = 0;
  uint64_t digest = 0;
  bool out_of_order = false;
  int reconnects = 0, resumes_ok = 0;
  std::vector<std::string> resume_answers;  // other than "ok"
  bool moved = false;                       // was on the killed node
  Clock::time_point retry_at{};
};

std::string maskedFrame(int opcode, std::string_view payload) {
  std::string f;
  f += static_cast<char>(0x80 | opcode);
  size_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>((n >> 8) & 0xff);
    f += static_cast<char>(n & 0xff);
  }
  const char mask[4] = {0x21, 0x43, 0x65, 0x07};
  f.append(mask, 4);
  for (size_t i = 0; i < n; ++i)
    f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

class Crowd {
 public:
  Crowd(std::string room, std::vector<int> ports, int count)
      : room_(std::move(room)), ports_(std::move(ports)), viewers_(count) {
    epoll_ = epoll_create1(0);
    for (int i = 0; i < count; ++i)
      viewers_[i].node = i % kNodes;
    for (int i = 0; i < kNodes; ++i)
      alive_[i] = true;
  }
  ~Crowd() {
    stop();
    for (auto& v : viewers_)
      if (v.fd >= 0)
        ::close(v.fd);
    ::close(epoll_);
  }

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    stopping_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  // The node is gone: its viewers go to the next live node when they notice.
  void nodeDown(int node) {
    alive_[node] = false;
    std::lock_guard lock(mutex_);
    for (auto& v : viewers_)
      if (v.node == node)
        v.moved = true;
  }

  int welcomed() {
    std::lock_guard lock(mutex_);
    return static_cast<int>(std::count_if(viewers_.begin(), viewers_.end(), [](const Viewer& v) {
      return v.state == Viewer::kWatching;
    }));
  }
  int movedWatching() {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& v : viewers_)
      n += v.moved && v.state == Viewer::kWatching && alive_[v.node];
    return n;
  }
  int movedCount() {
    std::lock_guard lock(mutex_);
    return static_cast<int>(
        std::count_if(viewers_.begin(), viewers_.end(), [](const Viewer& v) { return v.moved; }));
  }
  // How many viewers' last event is `last` (the stream's last for everyone).
  int caughtUp(uint64_t last) {
    std::lock_guard lock(mutex_);
    return static_cast<int>(std::count_if(viewers_.begin(), viewers_.end(),
                                          [&](const Viewer& v) { return v.last == last; }));
  }
  std::vector<Viewer> snapshot() {
    std::lock_guard lock(mutex_);
    std::vector<Viewer> out;
    out.reserve(viewers_.size());
    for (const auto& v : viewers_) {
      Viewer copy;
      copy.node = v.node;
      copy.state = v.state;
      copy.start = v.start;
      copy.started = v.started;
      copy.last = v.last;
      copy.count = v.count;
      copy.digest = v.digest;
      copy.out_of_order = v.out_of_order;
      copy.reconnects = v.reconnects;
      copy.resumes_ok = v.resumes_ok;
      copy.resume_answers = v.resume_answers;
      copy.moved = v.moved;
      out.push_back(std::move(copy));
    }
    return out;
  }

 private:
  void run() {
    // Connect in waves, so the nodes see a crowd arrive rather than a SYN flood.
    size_t next = 0;
    epoll_event events[256];
    while (!stopping_) {
      {
        std::lock_guard lock(mutex_);
        for (int wave = 0; wave < 50 && next < viewers_.size(); ++wave)
          open(next++);
        auto now = Clock::now();
        for (size_t i = 0; i < next; ++i)
          if (viewers_[i].state == Viewer::kIdle && now >= viewers_[i].retry_at)
            open(i);
      }
      int n = epoll_wait(epoll_, events, 256, 20);
      std::lock_guard lock(mutex_);
      for (int k = 0; k < n; ++k) {
        size_t i = events[k].data.u64;
        Viewer& v = viewers_[i];
        if (v.fd < 0)
          continue;
        if (events[k].events & EPOLLOUT)
          flush(v);
        if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
          readAll(i);
      }
    }
  }

  int liveNode(int from) const {
    for (int k = 0; k < kNodes; ++k) {
      int node = (from + k) % kNodes;
      if (alive_[node])
        return node;
    }
    return from;
  }

  void open(size_t i) {
    Viewer& v = viewers_[i];
    v.node = liveNode(v.node);
    v.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(ports_[v.node]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(v.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = ::connect(v.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (rc < 0 && errno != EINPROGRESS) {
      lost(i);
      return;
    }
    v.rx.clear();
    v.message.clear();
    v.tx =
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: jobcast.v1\r\n\r\n";
    v.state = Viewer::kConnecting;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u64 = i;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, v.fd, &ev);
  }

  // The connection is gone: come back (to a live node) a little later, from
  // the last event seen.
  void lost(size_t i) {
    Viewer& v = viewers_[i];
    if (v.fd >= 0) {
      epoll_ctl(epoll_, EPOLL_CTL_DEL, v.fd, nullptr);
      ::close(v.fd);
    }
    v.fd = -1;
    v.state = Viewer::kIdle;
    v.retry_at = Clock::now() + 200ms + std::chrono::milliseconds(i % 500);
  }

  void flush(Viewer& v) {
    while (!v.tx.empty()) {
      ssize_t n = ::send(v.fd, v.tx.data(), v.tx.size(), MSG_NOSIGNAL);
      if (n <= 0)
        return;
      v.tx.erase(0, static_cast<size_t>(n));
    }
    if (v.state == Viewer::kConnecting)
      v.state = Viewer::kUpgrading;
  }

  void send(Viewer& v, int opcode, std::string_view payload) {
    v.tx += maskedFrame(opcode, payload);
    flush(v);
  }

  void readAll(size_t i) {
    Viewer& v = viewers_[i];
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(v.fd, buf, sizeof buf, 0);
      if (n > 0) {
        v.rx.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      parse(i);
      lost(i);
      return;
    }
    if (!parse(i))
      lost(i);
  }

  // Handles what has arrived; false when the connection is done.
  bool parse(size_t i) {
    Viewer& v = viewers_[i];
    if (v.state == Viewer::kConnecting || v.state == Viewer::kUpgrading) {
      size_t end = v.rx.find("\r\n\r\n");
      if (end == std::string::npos)
        return true;
      if (v.rx.compare(0, 12, "HTTP/1.1 101") != 0)
        return false;
      v.rx.erase(0, end + 4);
      json hello = {{"type", "hello"}, {"room", room_}, {"token", nullptr}, {"since", nullptr}};
      if (v.started)
        hello["since"] = v.last_text;
      v.state = Viewer::kWelcoming;
      send(v, 1, hello.dump());
    }
    size_t at = 0;
    bool open_still = true;
    while (open_still) {
      if (v.rx.size() - at < 2)
        break;
      auto b0 = static_cast<uint8_t>(v.rx[at]), b1 = static_cast<uint8_t>(v.rx[at + 1]);
      uint64_t len = b1 & 0x7f;
      size_t head = 2;
      if (len == 126) {
        if (v.rx.size() - at < 4)
          break;
        len = (static_cast<uint8_t>(v.rx[at + 2]) << 8) | static_cast<uint8_t>(v.rx[at + 3]);
        head = 4;
      } else if (len == 127) {
        if (v.rx.size() - at < 10)
          break;
        len = 0;
        for (int k = 0; k < 8; ++k)
          len = (len << 8) | static_cast<uint8_t>(v.rx[at + 2 + k]);
        head = 10;
      }
      if (v.rx.size() - at < head + len)
        break;
      std::string_view payload(v.rx.data() + at + head, len);
      int opcode = b0 & 0x0f;
      bool fin = b0 & 0x80;
      at += head + len;
      if (opcode == 9) {
        send(v, 10, payload);
      } else if (opcode == 8) {
        open_still = false;
      } else if (opcode == 1 || opcode == 0) {
        if (opcode == 1)
          v.message.assign(payload);
        else
          v.message.append(payload);
        if (fin)
          open_still = onText(v);
      }
    }
    v.rx.erase(0, at);
    return open_still;
  }

  bool onText(Viewer& v) {
    if (v.state == Viewer::kWelcoming) {
      json j = json::parse(v.message, nullptr, false);
      if (!j.is_object() || j.value("type", "") != "welcome")
        return false;  // node_full, node_draining, join_failed: come back later
      std::string last_id = j.value("last_id", "");
      if (!v.started) {
        v.started = true;
        v.start = v.last = packId(last_id);
        v.last_text = last_id;
      } else {
        ++v.reconnects;
        std::string resume = j.value("resume", "");
        if (resume == "ok")
          ++v.resumes_ok;
        else
          v.resume_answers.push_back(resume);
      }
      v.state = Viewer::kWatching;
      return true;
    }
    // Events alone or in a batch: each starts the same way (signaling/ws_protocol.cpp).
    static constexpr std::string_view kEvent = R"({"type":"event","id":")";
    std::string_view text = v.message;
    for (size_t at = text.find(kEvent); at != std::string_view::npos;
         at = text.find(kEvent, at + 1)) {
      size_t from = at + kEvent.size();
      size_t to = text.find('"', from);
      if (to == std::string_view::npos)
        break;
      std::string_view id = text.substr(from, to - from);
      uint64_t packed = packId(id);
      if (packed <= v.last)
        v.out_of_order = true;
      v.last = std::max(v.last, packed);
      v.last_text.assign(id);
      ++v.count;
      v.digest += mix(packed);
    }
    return true;
  }

  std::string room_;
  std::vector<int> ports_;
  std::vector<Viewer> viewers_;
  std::atomic<bool> alive_[kNodes];
  std::mutex mutex_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  int epoll_ = -1;
};

// ---------------------------------------------------------------------------
// HLS players: each polls the 360p playlist about once a second and fetches
// every segment new to it. A segment whose sequence is not the next one is a
// gap; a gap, or a new timeline, must come after #EXT-X-DISCONTINUITY.

struct HlsPlayer {
  std::string url;  // the media playlist
  long long last_seq = -1;
  long long segments = 0, segment_errors = 0, unmarked_gaps = 0, playlist_errors = 0, resets = 0;
  int discontinuities = 0;
  std::vector<std::string> problems;
};

void pollPlaylist(HlsPlayer& p) {
  auto r = httpGet(p.url);
  if (r.status == 307 && !r.header("location").empty())
    r = httpGet(r.header("location"));
  if (r.status != 200) {
    ++p.playlist_errors;
    return;
  }
  std::istringstream in(r.body);
  std::string line;
  long long seq = -1;
  bool marked = false;
  std::string base = p.url.substr(0, p.url.rfind('/') + 1);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.rfind("#EXT-X-MEDIA-SEQUENCE:", 0) == 0) {
      seq = std::atoll(line.c_str() + 22);
    } else if (line == "#EXT-X-DISCONTINUITY") {
      marked = true;
    } else if (!line.empty() && line[0] != '#' && seq >= 0) {
      long long s = seq++;
      bool this_marked = marked;
      marked = false;
      if (s <= p.last_seq) {
        if (p.last_seq - s > 1000) {  // a new numbering: only after a discontinuity
          ++p.resets;
          p.problems.push_back("sequence went back from " + std::to_string(p.last_seq) + " to " +
                               std::to_string(s));
          p.last_seq = s;
        }
        continue;
      }
      if (p.last_seq >= 0 && s != p.last_seq + 1 && !this_marked) {
        ++p.unmarked_gaps;
        p.problems.push_back("segment " + std::to_string(s) + " after " +
                             std::to_string(p.last_seq) + " without a discontinuity");
      }
      if (p.last_seq >= 0 && this_marked)
        ++p.discontinuities;
      p.last_seq = s;
      auto seg = httpGet(base + line);
      if (seg.status == 307 && !seg.header("location").empty())
        seg = httpGet(seg.header("location"));
      if (seg.status == 200 && !seg.body.empty())
        ++p.segments;
      else
        ++p.segment_errors;
    }
  }
}

// The redis-cli style of RedisCluster::command cannot carry a stream's
// nesting: the room's stream is read here with hiredis itself.
struct StreamEntry {
  uint64_t id;
  std::string aud;
};

std::vector<StreamEntry> readStream(int port, const std::string& key) {
  std::vector<StreamEntry> out;
  timeval tv{5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (!c || c->err) {
    if (c)
      redisFree(c);
    return out;
  }
  redisSetTimeout(c, tv);
  std::string from = "-";
  for (;;) {
    auto* reply = static_cast<redisReply*>(
        redisCommand(c, "XRANGE %s %s + COUNT 5000", key.c_str(), from.c_str()));
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
      if (reply)
        freeReplyObject(reply);
      break;
    }
    std::string last;
    for (size_t i = 0; i < reply->elements; ++i) {
      redisReply* e = reply->element[i];
      last.assign(e->element[0]->str, e->element[0]->len);
      StreamEntry entry{packId(last), ""};
      redisReply* fields = e->element[1];
      for (size_t f = 0; f + 1 < fields->elements; f += 2)
        if (std::string_view(fields->element[f]->str, fields->element[f]->len) == "aud")
          entry.aud.assign(fields->element[f + 1]->str, fields->element[f + 1]->len);
      out.push_back(std::move(entry));
    }
    freeReplyObject(reply);
    from = "(" + last;
  }
  redisFree(c);
  return out;
}

class Say {
 public:
  explicit Say(bool on) : on_(on), t0_(Clock::now()) {}
  template <typename... A>
  void operator()(const char* fmt, A... a) const {
    if (!on_)
      return;
    std::printf("[fairday %6.1f s] ", secondsSince(t0_));
    std::printf(fmt, a...);
    std::printf("\n");
    std::fflush(stdout);
  }

 private:
  bool on_;
  Clock::time_point t0_;
};

}  // namespace

FairDayReport runFairDay(const FairDayOptions& o) {
  FairDayReport report;
  auto wall = Clock::now();
  Say say(o.verbose);
  auto violation = [&](const std::string& what) {
    report.violations.push_back(what);
    say("VIOLATION %s", what.c_str());
  };

  // --- The cluster and three nodes -----------------------------------------
  RedisCluster cluster;
  say("redis cluster up: %s", cluster.seeds().c_str());
  TempDir dir("jobcast-fairday");
  std::string config = dir.path() + "/jobcast.yaml";
  std::ofstream(config) << "server:\n  max_connections_per_ip: 0\n"
                           "redis:\n  events_maxlen: 1000000\n"
                           "limits:\n  http_rate_per_second: 100000\n  http_rate_burst: 100000\n"
                           "  media_rate_per_second: 100000\n  media_rate_burst: 100000\n"
                           "  session_rate_per_second: 1000\n  session_rate_burst: 1000\n"
                           "live:\n  frames_per_s: 1000\n"
                           "media:\n  publisher_timeout_ms: 1500\n  owner_lease_ms: 3000\n"
                           "whep:\n  engine: udp\n  ice_addresses: \"127.0.0.1\"\n";
  std::vector<std::unique_ptr<Jobcastd>> nodes;
  for (int i = 0; i < kNodes; ++i) {
    nodes.push_back(std::make_unique<Jobcastd>(Jobcastd::Options{
        .args = {"--config", config}, .env = {{"JOBCAST_REDIS_CLUSTER", cluster.seeds()}}}));
    nodes.back()->start();
  }
  for (auto& n : nodes)
    if (!eventually([&] { return httpGet(n->url("/readyz")).status == 200; }, 30s)) {
      violation("a node never became ready");
      return report;
    }
  std::vector<int> ports;
  for (auto& n : nodes)
    ports.push_back(n->httpPort());
  std::atomic<bool> alive[kNodes] = {true, true, true};
  say("three nodes ready");

  // --- The room --------------------------------------------------------------
  const std::string admin = signToken(Role::Admin, "root", {"*"});
  const std::string acme = signToken(Role::Employer, "acme", {"*"});
  auto api = [&](int node, const std::string& method, const std::string& path,
                 const std::string& bearer, const json& body = nullptr) {
    return httpJson(method, nodes[node]->url("/api/v1" + path), body, bearer);
  };
  auto must = [&](const HttpResponse& r, long status, const std::string& what) {
    if (r.status != status)
      violation(what + ": " + std::to_string(r.status) + " " + r.body.substr(0, 200));
    return r.status == status;
  };
  if (!must(api(0, "POST", "/employers", admin, {{"id", "acme"}, {"name", "Acme"}}), 201,
            "create employer") ||
      !must(api(0, "POST", "/employers/acme/verify", admin), 200, "verify employer"))
    return report;
  auto created = api(0, "POST", "/rooms", acme,
                     {{"title", "Harbour job fair"},
                      {"region_code", "150203"},
                      {"scheduled_at", std::time(nullptr) + 3600},
                      {"counsellors", {"coach-1"}},
                      {"captioners", {"cap-1"}},
                      {"interpreters", {"interp-1"}}});
  if (!must(created, 201, "create room"))
    return report;
  const std::string room = created.json().value("id", "");
  auto job = api(1, "POST", "/rooms/" + room + "/jobs", acme,
                 {{"title", "Welder"},
                  {"wage_min", 6000},
                  {"wage_max", 9000},
                  {"wage_unit", "month"},
                  {"hours", "8h"},
                  {"location", "Baotou"},
                  {"headcount", 30}});
  if (!must(job, 201, "add job"))
    return report;
  const std::string job_id = job.json().value("id", "");
  if (!must(api(0, "POST", "/rooms/" + room + "/start", acme), 200, "start room"))
    return report;
  const int room_slot = keySlot("r:" + room);
  say("room %s live (slot %d), job %s", room.c_str(), room_slot, job_id.c_str());

  // --- The employer publishes (WHIP, a synthetic camera) ---------------------
  const std::string whip_url = nodes[kMediaNode]->url("/whip/" + room);
  const std::string whip_token = publisherToken(room, "acme");
  auto publisher = std::make_unique<media::WhipClient>(media::WhipClient::Options{
      .width = 320, .height = 180, .fps = 15, .video_kbps = 300, .key_int_max = 30});
  if (std::string why = goOnAir(*publisher, whip_url, whip_token); !why.empty()) {
    violation("publisher: " + why);
    return report;
  }
  const std::string playlist = nodes[kMediaNode]->url("/hls/" + room + "/360p/index.m3u8");
  if (!eventually([&] { return httpGet(playlist).body.find(".ts") != std::string::npos; }, 30s))
    violation("no HLS segment within 30 s of publishing");
  say("on air; HLS segments coming");

  // Stage: the employer on main, the counsellor as a guest, the interpreter.
  const std::string counsellor = signToken(Role::Counsellor, "coach-1", {room});
  const std::string interpreter = signToken(Role::Captioner, "interp-1", {room});
  must(api(0, "PUT", "/rooms/" + room + "/stage/acme", acme, {{"slot", "main"}, {"name", "Acme"}}),
       200, "employer on the stage");
  must(api(1, "PUT", "/rooms/" + room + "/stage/coach-1", counsellor,
           {{"slot", "guest"}, {"name", "Ms Li"}}),
       200, "counsellor on the stage");
  must(api(2, "PUT", "/rooms/" + room + "/stage/interp-1", interpreter,
           {{"slot", "interpreter"}, {"name", "Mr Wu"}}),
       200, "interpreter on the stage");

  // --- Everyone comes in -------------------------------------------------------
  Crowd crowd(room, ports, o.viewers);
  crowd.start();
  if (!eventually([&] { return crowd.welcomed() == o.viewers; }, 120s))
    violation("only " + std::to_string(crowd.welcomed()) + " of " + std::to_string(o.viewers) +
              " viewers were welcomed");
  say("%d viewers watching", crowd.welcomed());

  std::atomic<bool> day_over{false};

  std::vector<HlsPlayer> players(static_cast<size_t>(o.hls_players));
  for (auto& p : players)
    p.url = playlist;
  std::vector<std::thread> hls_threads;
  const int hls_thread_count = std::min(2, std::max(1, o.hls_players));
  for (int t = 0; t < hls_thread_count; ++t)
    hls_threads.emplace_back([&, t] {
      while (!day_over) {
        auto round = Clock::now();
        for (size_t i = static_cast<size_t>(t); i < players.size(); i += hls_thread_count)
          pollPlaylist(players[i]);
        auto spent = Clock::now() - round;
        if (spent < 1s)
          std::this_thread::sleep_for(1s - spent);
      }
    });

  std::atomic<int> whep_connected{0}, whep_with_media{0}, whep_second_half{0};
  std::atomic<bool> half_time{false};
  std::mutex notes_mutex;
  std::thread whep_thread([&] {
    auto certificate = media::egress::DtlsCertificate::generate();
    if (!certificate)
      return;
    std::vector<std::unique_ptr<LightViewer>> viewers;
    for (int i = 0; i < o.whep_players; ++i) {
      LightViewerOptions lo;
      lo.ufrag = "fair" + std::to_string(i);
      auto v = std::make_unique<LightViewer>(*certificate.value(), lo);
      std::string why;
      if (v->joinWhep(nodes[kMediaNode]->url("/whep/" + room), &why)) {
        viewers.push_back(std::move(v));
      } else {
        std::lock_guard lock(notes_mutex);
        report.notes.push_back("WHEP player " + std::to_string(i) + " refused: " + why);
      }
    }
    auto last_check = Clock::now();
    std::vector<uint64_t> at_half;
    while (!day_over) {
      if (half_time && at_half.empty())
        for (auto& v : viewers)
          at_half.push_back(v->packets());
      pumpLightViewers(viewers, 50);
      if (Clock::now() - last_check > 1s) {
        last_check = Clock::now();
        for (auto& v : viewers)
          v->check();
      }
    }
    for (size_t i = 0; i < viewers.size(); ++i) {
      whep_connected += viewers[i]->connected();
      whep_with_media += viewers[i]->packets() > 0;
      whep_second_half += i < at_half.size() && viewers[i]->packets() > at_half[i];
    }
  });

  // --- Applicants ----------------------------------------------------------------
  std::mutex apps_mutex;
  std::set<std::string> acked;
  std::atomic<int> refused_answers{0};
  std::atomic<int> next_app{0};
  // The first 201 to an apply sent after the master was killed (one sent
  // before may still have been answered by the old master).
  std::atomic<long long> master_killed_ns{std::numeric_limits<long long>::max()};
  std::atomic<long long> first_201_after_kill_ns{0};
  auto day_start = Clock::now();
  const auto day_length = std::chrono::duration_cast<Clock::duration>(o.duration);
  const auto apply_span = day_length * 8 / 10;
  std::vector<std::thread> applicants;
  for (int t = 0; t < 2; ++t)
    applicants.emplace_back([&] {
      for (int i = next_app++; i < o.applications && !day_over; i = next_app++) {
        auto due = day_start + apply_span * i / std::max(1, o.applications);
        std::this_thread::sleep_until(due);
        std::string token = signToken(Role::Jobseeker, "seeker-" + std::to_string(i), {"*"});
        // A jobseeker tries again until answered (as the page does); apply is
        // idempotent per jobseeker and job.
        for (int attempt = 0; attempt < 100 && !day_over; ++attempt) {
          int node = (i + attempt) % kNodes;
          if (!alive[node])
            continue;
          auto p =
              api(node, "PUT", "/me/profile", token, {{"name", "Ama"}, {"phone", "13800138000"}});
          long long sent_ns = Clock::now().time_since_epoch().count();
          HttpResponse r = p;
          if (p.status == 200)
            r = api(node, "POST", "/rooms/" + room + "/jobs/" + job_id + "/apply", token);
          if (r.status == 201 || (p.status == 200 && r.status == 200)) {
            std::string id = r.json().value("id", "");
            if (id.empty() && r.json().contains("application"))
              id = r.json()["application"].value("id", "");
            std::lock_guard lock(apps_mutex);
            acked.insert(id);
            long long none = 0;
            if (sent_ns > master_killed_ns)
              first_201_after_kill_ns.compare_exchange_strong(
                  none, Clock::now().time_since_epoch().count());
            break;
          }
          ++refused_answers;
          std::this_thread::sleep_for(200ms);
        }
      }
    });

  // --- Staff: the captioner, the interview queue -------------------------------------
  std::atomic<int> captions{0}, interviews{0}, queued{0};
  std::thread staff([&] {
    std::string error;
    auto captioner = WsClient::connect(ports[1], {}, &error);
    auto employer = WsClient::connect(ports[0], {}, &error);
    if (!captioner || !employer)
      return;
    const std::string captioner_token = signToken(Role::Captioner, "cap-1", {room});
    const std::string employer_token = signToken(Role::Employer, "acme", {room});
    captioner->hello(room, captioner_token);
    employer->hello(room, employer_token);
    // A page whose channel closed joins again (and says so in the notes).
    auto rejoin = [&](std::unique_ptr<WsClient>& c, int port, const std::string& token,
                      const std::string& who) {
      if (c && !c->closed())
        return;
      std::string code = c ? std::to_string(c->closeCode()) : "no connection";
      c = WsClient::connect(port, {}, &error);
      if (c)
        c->hello(room, token);
      std::lock_guard lock(notes_mutex);
      report.notes.push_back(who + " joined again after close " + code);
    };
    // waiting[i] is jobseeker "queue-i" (null when it could not connect).
    std::vector<std::unique_ptr<WsClient>> waiting;
    for (int i = 0; i < o.queue_joiners; ++i) {
      auto js = WsClient::connect(ports[i % 2], {}, &error);
      if (js) {
        js->hello(room, signToken(Role::Jobseeker, "queue-" + std::to_string(i), {room}));
        if (js->call({{"type", "queue.join"}})["type"] == "ack")
          ++queued;
      }
      waiting.push_back(std::move(js));
    }
    auto next_caption = Clock::now();
    auto interview_every = day_length / (o.interviews + 1);
    auto next_interview = day_start + interview_every;
    int n = 0;
    while (!day_over) {
      rejoin(employer, ports[0], employer_token, "the employer");
      rejoin(captioner, ports[1], captioner_token, "the captioner");
      for (size_t i = 0; i < waiting.size(); ++i)
        if (waiting[i])
          rejoin(waiting[i], ports[i % 2],
                 signToken(Role::Jobseeker, "queue-" + std::to_string(i), {room}),
                 "queue-" + std::to_string(i));
      if (!employer || !captioner)
        break;
      if (Clock::now() >= next_caption) {
        next_caption += std::chrono::milliseconds(o.caption_every_ms);
        json ack = captioner->call({{"type", "caption.send"},
                                    {"text", "Welcome to the fair, part " + std::to_string(++n)},
                                    {"lang", "en"},
                                    {"final", true}});
        captions += ack["type"] == "ack";
        if (ack["type"] != "ack") {
          std::lock_guard lock(notes_mutex);
          report.notes.push_back("caption.send answered " + ack.dump().substr(0, 200));
        }
      }
      if (interviews < o.interviews && Clock::now() >= next_interview) {
        next_interview += interview_every;
        json next = employer->call({{"type", "queue.next"}}, 15s);
        // During a failover the employer presses again, as on the page.
        for (int again = 0; again < 20 && next.value("code", "") == "redis_unavailable"; ++again) {
          std::this_thread::sleep_for(500ms);
          next = employer->call({{"type", "queue.next"}}, 15s);
        }
        if (next["type"] != "ack") {
          std::lock_guard lock(notes_mutex);
          report.notes.push_back("queue.next answered " + next.dump().substr(0, 200) +
                                 (employer->closed()
                                      ? " (closed " + std::to_string(employer->closeCode()) + ")"
                                      : ""));
        }
        if (next["type"] == "ack") {
          ++interviews;
          // The jobseeker offered the interview declines it.
          std::string sub = next["jobseeker"].value("sub", "");
          size_t who = sub.rfind("queue-", 0) == 0 ? std::stoul(sub.substr(6)) : waiting.size();
          if (who < waiting.size() && waiting[who]) {
            json declined = waiting[who]->call(
                {{"type", "call.signal"}, {"call_id", next["call_id"]}, {"kind", "decline"}});
            if (declined["type"] != "ack") {
              std::lock_guard lock(notes_mutex);
              report.notes.push_back("decline answered " + declined.dump().substr(0, 200));
            }
          }
        }
      }
      // Keep reading: the staff's sockets see every event too.
      for (int k = 0; k < 500 && employer->read(1ms); ++k) {
      }
      for (int k = 0; k < 500 && captioner->read(20ms); ++k) {
      }
      for (auto& js : waiting)
        for (int k = 0; k < 500 && js && js->read(1ms); ++k) {
        }
    }
  });

  auto at = [&](double fraction) {
    std::this_thread::sleep_until(
        day_start + std::chrono::duration_cast<Clock::duration>(day_length * fraction));
  };
  auto sampleRss = [&] {
    std::vector<long> row;
    for (int i = 0; i < kNodes; ++i)
      row.push_back(alive[i] ? rssKb(nodes[i]->pid()) : 0);
    return row;
  };
  std::vector<long> rss_start = sampleRss();

  // --- Fault 1: the master of the room's slot -------------------------------------------
  at(0.15);
  int victim = cluster.masterOf(room_slot);
  auto killed = Clock::now();
  long long killed_ns = killed.time_since_epoch().count();
  if (victim >= 0) {
    master_killed_ns = killed_ns;
    cluster.kill(static_cast<size_t>(victim));
    say("killed redis master %d (slot %d)", victim, room_slot);
    if (eventually(
            [&] {
              return cluster.masterOf(room_slot) >= 0 && cluster.masterOf(room_slot) != victim;
            },
            30s))
      report.redis_promoted_s = secondsSince(killed);
    else
      violation("the room's slot got no new master within 30 s");
    if (eventually([&] { return first_201_after_kill_ns > 0; }, 30s))
      report.redis_first_apply_s = static_cast<double>(first_201_after_kill_ns - killed_ns) / 1e9;
    else
      violation("no apply sent after the master's kill was answered 201 within 30 s");
    say("replica promoted after %.2f s; first apply after %.2f s", report.redis_promoted_s,
        report.redis_first_apply_s);
  } else {
    report.notes.push_back("no master known for the room's slot: fault 1 skipped");
  }

  // --- Fault 2: a node killed ----------------------------------------------------------
  at(0.3);
  alive[kVictimNode] = false;
  crowd.nodeDown(kVictimNode);
  report.viewers_moved = crowd.movedCount();
  auto node_killed = Clock::now();
  nodes[kVictimNode]->stop(SIGKILL);
  say("killed node %d; %d viewers must move", kVictimNode, report.viewers_moved);
  if (eventually([&] { return crowd.movedWatching() == report.viewers_moved; }, 60s))
    report.node_viewers_back_s = secondsSince(node_killed);
  else
    violation("only " + std::to_string(crowd.movedWatching()) + " of " +
              std::to_string(report.viewers_moved) + " viewers of the killed node came back");
  say("viewers of node %d back after %.2f s", kVictimNode, report.node_viewers_back_s);

  // --- Fault 3: the publisher's network gone for 5 s -------------------------------------
  at(0.4);
  auto before = httpGet(playlist).body;
  auto discontinuities = [](const std::string& body) {
    size_t at = body.find("#EXT-X-DISCONTINUITY-SEQUENCE:");
    size_t marks = 0;
    for (size_t p = body.find("#EXT-X-DISCONTINUITY\n"); p != std::string::npos;
         p = body.find("#EXT-X-DISCONTINUITY\n", p + 1))
      ++marks;
    return (at == std::string::npos ? 0 : std::atol(body.c_str() + at + 30)) +
           static_cast<long>(marks);
  };
  long disc_before = discontinuities(before);
  publisher->stop();
  say("publisher's network down");
  std::this_thread::sleep_for(5s);
  auto back = Clock::now();
  publisher = std::make_unique<media::WhipClient>(media::WhipClient::Options{
      .width = 320, .height = 180, .fps = 15, .video_kbps = 300, .key_int_max = 30});
  std::string why = "not tried";
  // The page republishes when its connection fails, until the node takes it.
  for (int attempt = 0; attempt < 20 && !why.empty(); ++attempt) {
    if (attempt > 0) {
      publisher = std::make_unique<media::WhipClient>(media::WhipClient::Options{
          .width = 320, .height = 180, .fps = 15, .video_kbps = 300, .key_int_max = 30});
      std::this_thread::sleep_for(500ms);
    }
    why = goOnAir(*publisher, whip_url, whip_token);
  }
  if (!why.empty()) {
    violation("republish: " + why);
  } else {
    report.publisher_republished_s = secondsSince(back);
    if (eventually(
            [&] {
              std::string body = httpGet(playlist).body;
              size_t mark = body.rfind("#EXT-X-DISCONTINUITY\n");
              return discontinuities(body) > disc_before && mark != std::string::npos &&
                     body.find(".ts", mark) != std::string::npos;
            },
            30s))
      report.publisher_hls_back_s = secondsSince(back);
    else
      violation("HLS did not continue after a discontinuity within 30 s of the republish");
  }
  say("republished after %.2f s; HLS back after %.2f s", report.publisher_republished_s,
      report.publisher_hls_back_s);

  // --- The second half: steady -----------------------------------------------------------
  at(0.5);
  std::vector<long> rss_half = sampleRss();
  half_time = true;
  say("half-time");
  at(1.0);
  std::vector<long> rss_end = sampleRss();
  report.rss_kb = {rss_start, rss_half, rss_end};
  for (int i = 0; i < kNodes; ++i)
    if (rss_half[i] > 0 && rss_end[i] > 0 && rss_end[i] > rss_half[i] * 11 / 10)
      violation("node " + std::to_string(i) + " grew from " + std::to_string(rss_half[i]) +
                " kB to " + std::to_string(rss_end[i]) + " kB over the second half");
  say("day over; checking");
  day_over = true;
  for (auto& t : applicants)
    t.join();
  staff.join();
  for (auto& t : hls_threads)
    t.join();
  whep_thread.join();
  report.captions_sent = captions;
  report.interviews_offered = interviews;
  if (interviews < o.interviews) {
    violation("only " + std::to_string(interviews.load()) + " of " + std::to_string(o.interviews) +
              " interviews were offered");
  }
  report.queue_joined = queued;
  report.whep_connected = whep_connected;
  report.whep_with_media = whep_with_media;
  report.whep_media_second_half = whep_second_half;
  if (report.whep_with_media < o.whep_players)
    violation(std::to_string(report.whep_with_media) + " of " + std::to_string(o.whep_players) +
              " WHEP players got media");
  if (report.whep_media_second_half < o.whep_players)
    violation(std::to_string(report.whep_media_second_half) + " of " +
              std::to_string(o.whep_players) + " WHEP players still got media after the republish");

  // --- Live channel: every event for everyone, exactly once, in order ------------------------
  int master = cluster.masterOf(room_slot);
  std::vector<StreamEntry> stream;
  uint64_t final_all = 0;
  // Wait for quiet: the stream's last event for everyone reached every viewer.
  bool caught_up = eventually(
      [&] {
        std::this_thread::sleep_for(500ms);
        stream = readStream(cluster.nodes()[static_cast<size_t>(master)].port,
                            "jc:{r:" + room + "}:events");
        final_all = 0;
        for (const auto& e : stream)
          if (e.aud == "all")
            final_all = e.id;
        return final_all && crowd.caughtUp(final_all) == o.viewers;
      },
      60s);
  crowd.stop();
  if (!caught_up)
    violation(std::to_string(o.viewers - crowd.caughtUp(final_all)) +
              " viewers never got the room's last event");
  std::vector<uint64_t> all_ids;
  for (const auto& e : stream)
    if (e.aud == "all")
      all_ids.push_back(e.id);
  std::vector<uint64_t> prefix_digest(all_ids.size() + 1, 0);
  for (size_t i = 0; i < all_ids.size(); ++i)
    prefix_digest[i + 1] = prefix_digest[i] + mix(all_ids[i]);
  auto viewers = crowd.snapshot();
  int first_bad = -1;
  for (size_t i = 0; i < viewers.size(); ++i) {
    const Viewer& v = viewers[i];
    ++report.viewers_checked;
    report.resumes += v.reconnects;
    report.resumes_ok += v.resumes_ok;
    report.events_delivered += v.count;
    size_t from = static_cast<size_t>(std::upper_bound(all_ids.begin(), all_ids.end(), v.start) -
                                      all_ids.begin());
    long long want = static_cast<long long>(all_ids.size() - from);
    uint64_t want_digest = prefix_digest.back() - prefix_digest[from];
    bool exact = v.started && !v.out_of_order && v.count == want && v.digest == want_digest &&
                 v.last == final_all;
    report.viewers_exact += exact;
    if (!exact && first_bad < 0) {
      first_bad = static_cast<int>(i);
      violation("viewer " + std::to_string(i) + " (node " + std::to_string(v.node) +
                (v.moved ? ", moved" : "") + "): " + std::to_string(v.count) + " events, " +
                std::to_string(want) + " expected" + (v.out_of_order ? ", out of order" : "") +
                (v.digest != want_digest ? ", other events" : ""));
    }
    for (const auto& r : v.resume_answers)
      violation("viewer " + std::to_string(i) + " resumed with \"" + r + "\"");
  }
  if (report.viewers_exact < report.viewers_checked)
    violation(std::to_string(report.viewers_checked - report.viewers_exact) + " of " +
              std::to_string(report.viewers_checked) + " viewers missed or repeated events");
  report.events_in_stream = static_cast<long long>(all_ids.size());
  report.events_per_s = report.events_delivered / std::chrono::duration<double>(day_length).count();

  // --- Applications: none acknowledged lost ------------------------------------------------
  long list_failed = 0;
  std::set<std::string> listed = listApplicationIds(nodes[0]->url(""), room, acme, &list_failed);
  if (list_failed)
    violation("listing applications: " + std::to_string(list_failed));
  report.apps_acked = static_cast<int>(acked.size());
  report.apps_listed = static_cast<int>(listed.size());
  report.apps_refused_answers = refused_answers;
  for (const auto& id : acked)
    report.apps_lost += !listed.count(id);
  if (report.apps_lost)
    violation(std::to_string(report.apps_lost) + " acknowledged applications lost");
  if (report.apps_acked < o.applications)
    violation("only " + std::to_string(report.apps_acked) + " of " +
              std::to_string(o.applications) + " applications were acknowledged");

  // --- HLS ------------------------------------------------------------------------------------
  for (const auto& p : players) {
    report.hls_segments += p.segments;
    report.hls_segment_errors += p.segment_errors;
    report.hls_unmarked_gaps += p.unmarked_gaps;
    report.hls_playlist_errors += p.playlist_errors;
    report.hls_sequence_resets += p.resets;
    report.hls_players_with_discontinuity += p.discontinuities > 0;
    for (const auto& problem : p.problems)
      violation("HLS: " + problem);
  }
  if (report.hls_segment_errors)
    violation(std::to_string(report.hls_segment_errors) + " HLS segments failed to download");
  if (report.hls_players_with_discontinuity < o.hls_players)
    violation(std::to_string(o.hls_players - report.hls_players_with_discontinuity) +
              " HLS players saw no discontinuity at the republish");

  // --- The recording: the publisher leaves; every piece decodes ---------------------------------
  goOffAir(*nodes[kMediaNode], *publisher, whip_token);
  publisher->stop();
  json pieces;
  eventually(
      [&] {
        auto r = api(kMediaNode, "GET", "/rooms/" + room + "/recordings", acme);
        pieces = r.json().value("recordings", json::array());
        // Two sessions (before and after the drop), each at least one piece.
        return r.status == 200 && pieces.size() >= 2;
      },
      30s);
  report.recording_pieces = static_cast<int>(pieces.size());
  for (const auto& piece : pieces) {
    std::string url = piece.value("url", "");
    auto got = httpGet(url.rfind("http", 0) == 0 ? url : nodes[kMediaNode]->url(url));
    if (got.status != 200) {
      violation("recording " + piece.value("file", "") + ": " + std::to_string(got.status));
      continue;
    }
    std::string path = dir.path() + "/piece.mp4";
    std::ofstream(path, std::ios::binary) << got.body;
    Decoded d = decodeFile(path, "mp4", 60s);
    if (d.finished && d.error.empty() && d.video_frames > 0) {
      ++report.recording_pieces_decoded;
      report.recording_video_frames += d.video_frames;
    } else {
      violation("recording " + piece.value("file", "") + " does not decode: " + d.error);
    }
  }
  if (report.recording_pieces < 2)
    violation("the recording has " + std::to_string(report.recording_pieces) +
              " pieces, expected one per publishing session");
  for (int i = 0; i < kNodes; ++i)
    if (alive[i])
      nodes[i]->stop();
  report.wall_s = secondsSince(wall);
  say("done in %.0f s, %zu violations", report.wall_s, report.violations.size());
  return report;
}

std::string describe(const FairDayReport& r) {
  char buf[4096];
  std::string out;
  auto line = [&](const char* fmt, auto... a) {
    std::snprintf(buf, sizeof buf, fmt, a...);
    out += buf;
    out += '\n';
  };
  line("recovery: redis master killed -> replica serves the slot %.2f s, first apply 201 %.2f s",
       r.redis_promoted_s, r.redis_first_apply_s);
  line("recovery: node killed -> its %d viewers welcomed on other nodes %.2f s", r.viewers_moved,
       r.node_viewers_back_s);
  line("recovery: publisher network back -> WHIP 201 %.2f s, HLS after discontinuity %.2f s",
       r.publisher_republished_s, r.publisher_hls_back_s);
  line(
      "live channel: %d/%d viewers exact; %d resumes, %d ok; %lld events for everyone, %lld "
      "delivered, %.0f events/s",
      r.viewers_exact, r.viewers_checked, r.resumes, r.resumes_ok, r.events_in_stream,
      r.events_delivered, r.events_per_s);
  line("applications: %d acked, %d listed, %d lost, %d error answers retried", r.apps_acked,
       r.apps_listed, r.apps_lost, r.apps_refused_answers);
  line("staff: %d captions, %d queued, %d interviews offered", r.captions_sent, r.queue_joined,
       r.interviews_offered);
  line(
      "hls: %lld segments, %lld segment errors, %lld playlist errors, %lld unmarked gaps, %lld "
      "resets, %d players saw the discontinuity",
      r.hls_segments, r.hls_segment_errors, r.hls_playlist_errors, r.hls_unmarked_gaps,
      r.hls_sequence_resets, r.hls_players_with_discontinuity);
  line("whep: %d connected, %d with media, %d still receiving in the second half", r.whep_connected,
       r.whep_with_media, r.whep_media_second_half);
  line("recording: %d pieces, %d decoded, %lld video frames", r.recording_pieces,
       r.recording_pieces_decoded, r.recording_video_frames);
  for (size_t i = 0; i < 3 && !r.rss_kb.empty(); ++i)
    line("memory node %zu: start %ld kB, half %ld kB, end %ld kB", i, r.rss_kb[0][i],
         r.rss_kb[1][i], r.rss_kb[2][i]);
  line("wall time %.0f s; %zu violations", r.wall_s, r.violations.size());
  for (const auto& v : r.violations)
    out += "  VIOLATION " + v + "\n";
  for (const auto& n : r.notes)
    out += "  note " + n + "\n";
  return out;
}

}  // namespace jobcast::test
