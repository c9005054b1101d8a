// Runs on the front's own serving threads (one epoll each); the listening
// socket is shared, each accepted connection stays on the thread that took it.
#include "signaling/http_front.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <unordered_map>

#include "core/address_set.h"
#include "core/log.h"

namespace jobcast::http {

namespace {

using SteadyClock = std::chrono::steady_clock;

// One piece of output: a view into a prepared response (kept alive by
// `keep`) or bytes of its own.
struct Chunk {
  std::shared_ptr<const PreparedResponse> keep;
  std::string owned;
  std::string_view view;
  int file = -1;  // sent with sendfile from keep->body_fd when set; view gives the length
  size_t off = 0;
  const char* data() const { return owned.empty() ? view.data() : owned.data(); }
  size_t size() const { return owned.empty() ? view.size() : owned.size(); }
};

struct Connection {
  int fd = -1;
  std::string peer;
  std::string in;
  std::deque<Chunk> out;
  bool close_after = false;  // close once `out` is written
  bool hand_over = false;    // hand `in` over once `out` is written
  bool peer_closed = false;
  bool fresh = true;  // no request answered yet: silence counts as a slow header
  // A low-latency playlist reload held until the playlist has what it asks
  // for (woken by HlsResponses' publish), or 503 at the deadline.
  bool parked = false;
  SteadyClock::time_point park_deadline{};
  uint32_t events = 0;
  SteadyClock::time_point header_started{};  // of the request header in `in`
  SteadyClock::time_point last_activity = SteadyClock::now();
};

bool equalsLower(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != lower[i])
      return false;
  }
  return true;
}

bool containsLower(std::string_view haystack, std::string_view lower) {
  if (lower.size() > haystack.size())
    return false;
  for (size_t i = 0; i + lower.size() <= haystack.size(); ++i) {
    if (equalsLower(haystack.substr(i, lower.size()), lower))
      return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// "Date: ...\r\n", formatted once a second per thread.
const std::string& dateLine() {
  thread_local time_t formatted_at = 0;
  thread_local std::string line;
  time_t now = std::time(nullptr);
  if (now != formatted_at) {
    struct tm tm {};
    gmtime_r(&now, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    line = buf;
    formatted_at = now;
  }
  return line;
}

std::string statusText(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Error";
  }
}

struct Request {
  std::string_view method, target, version;
  std::string_view if_none_match, forwarded, connection, content_length, transfer_encoding, upgrade;
};

// Parses one complete header (without its blank line). False when malformed.
bool parseHeader(std::string_view head, Request& r) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t a = line.find(' ');
  size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
  if (a == std::string_view::npos || b == std::string_view::npos ||
      line.find(' ', b + 1) != std::string_view::npos) {
    return false;
  }
  r.method = line.substr(0, a);
  r.target = line.substr(a + 1, b - a - 1);
  r.version = line.substr(b + 1);
  if (r.method.empty() || r.method.size() > 16 || r.target.empty() ||
      (r.version != "HTTP/1.1" && r.version != "HTTP/1.0")) {
    return false;
  }
  for (char c : r.method) {
    if (c < 'A' || c > 'Z')
      return false;
  }
  for (char c : r.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return false;
  }
  while (eol != std::string_view::npos) {
    size_t start = eol + 2;
    eol = head.find("\r\n", start);
    std::string_view field = head.substr(start, eol == std::string_view::npos ? eol : eol - start);
    if (field.empty())
      continue;
    size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0 || field[0] == ' ' || field[0] == '\t')
      return false;
    std::string_view name = field.substr(0, colon);
    std::string_view value = trim(field.substr(colon + 1));
    if (equalsLower(name, "if-none-match"))
      r.if_none_match = value;
    else if (equalsLower(name, "x-forwarded-for"))
      r.forwarded = value;
    else if (equalsLower(name, "connection"))
      r.connection = value;
    else if (equalsLower(name, "content-length"))
      r.content_length = value;
    else if (equalsLower(name, "transfer-encoding"))
      r.transfer_encoding = value;
    else if (equalsLower(name, "upgrade"))
      r.upgrade = value;
  }
  return true;
}

std::string canonicalPeer(const sockaddr_storage& sa) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (sa.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&sa)->sin_addr, text, sizeof text);
  } else if (sa.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&sa)->sin6_addr, text, sizeof text);
  }
  std::string canonical = AddressSet::canonical(text);
  return canonical.empty() ? std::string(text) : canonical;
}

}  // namespace

std::string rawErrorResponse(int status, const std::string& code, const std::string& message,
                             bool close, const std::string& extra_headers) {
  std::string body = R"({"error":{"code":")" + code + R"(","message":")" + message + "\"}}";
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + statusText(status) + "\r\n";
  r += "Content-Type: application/json\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "Access-Control-Allow-Origin: *\r\n";
  r += "X-Content-Type-Options: nosniff\r\n";
  r += extra_headers;
  r += dateLine();
  if (close)
    r += "Connection: close\r\n";
  r += "\r\n";
  r += body;
  return r;
}

namespace {

// What the front makes of a low-latency playlist reload
// (/hls/ROOM/RENDITION/index.m3u8?_HLS_msn=M&_HLS_part=P&_HLS_skip=YES).
struct LlReload {
  std::shared_ptr<const PreparedResponse> ready;  // answer this now
  bool wait = false;                              // hold the request
  int hold_seconds = 0;                           // for at most this long
};

std::optional<uint64_t> digits(std::string_view text) {
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  uint64_t v = 0;
  for (char ch : text)
    v = v * 10 + static_cast<uint64_t>(ch - '0');
  return v;
}

// Neither `ready` nor `wait`: not one the front answers (another query, an
// error to explain, a room not live here): libwebsockets and the router do.
LlReload llReload(const HlsResponses& responses, std::string_view target) {
  LlReload out;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = target.substr(q + 1);
  constexpr std::string_view kPrefix = "/hls/";
  constexpr std::string_view kPlaylist = "/index.m3u8";
  if (path.substr(0, kPrefix.size()) != kPrefix ||
      path.size() <= kPrefix.size() + kPlaylist.size() ||
      path.substr(path.size() - kPlaylist.size()) != kPlaylist)
    return out;
  std::string_view middle =
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kPlaylist.size());
  size_t slash = middle.find('/');
  if (slash == std::string_view::npos || slash == 0 ||
      middle.find('/', slash + 1) != std::string_view::npos)
    return out;
  std::string room(middle.substr(0, slash));
  std::string rendition(middle.substr(slash + 1));
  std::optional<uint64_t> msn, part;
  bool skip = false;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (name == "_HLS_msn") {
      if (!(msn = digits(value)))
        return out;
    } else if (name == "_HLS_part") {
      if (!(part = digits(value)))
        return out;
    } else if (name == "_HLS_skip") {
      skip = value == "YES" || value == "v2";
    } else {
      return out;
    }
  }
  if (part && !msn)
    return out;
  std::string plain = std::string(path);
  if (!responses.findLive(plain))
    return out;
  auto state = responses.llState(room, rendition);
  if (!state || (msn && *msn > state->position.sequence + 2))
    return out;
  if (!msn ||
      HlsResponses::llReached(state->position, *msn, part ? static_cast<int64_t>(*part) : -1)) {
    out.ready = responses.findLive(skip ? plain + "?skip" : plain);
    return out;
  }
  out.wait = true;
  out.hold_seconds = 3 * std::max(1, state->target_seconds);
  return out;
}

// A low-latency part asked for before it exists, as the playlist's preload
// hint names it (or the one after): seconds to hold it; 0 when the request
// is not for such a part.
int llHintedPart(const HlsResponses& responses, std::string_view target) {
  constexpr std::string_view kPrefix = "/hls/";
  if (target.substr(0, kPrefix.size()) != kPrefix)
    return 0;
  std::string_view rest = target.substr(kPrefix.size());
  size_t a = rest.find('/');
  size_t b = a == std::string_view::npos ? a : rest.find('/', a + 1);
  if (a == std::string_view::npos || b == std::string_view::npos || a == 0 ||
      rest.find('/', b + 1) != std::string_view::npos)
    return 0;
  std::string room(rest.substr(0, a));
  std::string rendition(rest.substr(a + 1, b - a - 1));
  std::string_view name = rest.substr(b + 1);
  auto state = responses.llState(room, rendition);
  if (!state || !responses.findLive(std::string(kPrefix) + room + "/" + rendition + "/index.m3u8"))
    return 0;
  std::string prefix = state->epoch + "-p";
  if (name.size() <= prefix.size() + 4 || name.substr(0, prefix.size()) != prefix ||
      name.substr(name.size() - 4) != ".m4s")
    return 0;
  auto n = digits(name.substr(prefix.size(), name.size() - prefix.size() - 4));
  if (!n || *n < state->position.next_part || *n > state->position.next_part + 1)
    return 0;
  return 3 * std::max(1, state->target_seconds);
}

}  // namespace

struct HttpFront::Worker {
  HttpFront& front;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::atomic<bool> stopping{false};
  std::thread thread;
  std::unordered_map<int, std::unique_ptr<Connection>> connections;
  // Markers for epoll's data.ptr.
  char listen_marker = 0;
  char wake_marker = 0;

  explicit Worker(HttpFront& f) : front(f) {}

  Result<bool> start() {
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd < 0 || wake_fd < 0)
      return Error{"http.front", std::string("epoll: ") + std::strerror(errno)};
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.ptr = &listen_marker;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, front.listen_fd_, &ev) != 0)
      return Error{"http.front", std::string("epoll_ctl: ") + std::strerror(errno)};
    ev.events = EPOLLIN;
    ev.data.ptr = &wake_marker;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);
    thread = std::thread([this] { run(); });
    return true;
  }

  void stop() {
    stopping = true;
    uint64_t one = 1;
    if (wake_fd >= 0 && ::write(wake_fd, &one, sizeof one) < 0) {
      // The thread still wakes within a second.
    }
    if (thread.joinable())
      thread.join();
    for (auto& [fd, c] : connections) {
      ::close(fd);
      front.delegate_.connectionClosed(fd);
    }
    connections.clear();
    if (epoll_fd >= 0)
      ::close(epoll_fd);
    if (wake_fd >= 0)
      ::close(wake_fd);
    epoll_fd = wake_fd = -1;
  }

  void run() {
    epoll_event events[256];
    auto last_sweep = SteadyClock::now();
    while (!stopping) {
      int n = epoll_wait(epoll_fd, events, 256, 1000);
      for (int i = 0; i < n; ++i) {
        void* ptr = events[i].data.ptr;
        if (ptr == &listen_marker) {
          acceptAll();
        } else if (ptr == &wake_marker) {
          uint64_t v;
          while (::read(wake_fd, &v, sizeof v) > 0) {
          }
          retryParked();
        } else {
          serve(*static_cast<Connection*>(ptr), events[i].events);
        }
      }
      auto now = SteadyClock::now();
      if (now - last_sweep >= std::chrono::seconds(1)) {
        sweep(now);
        last_sweep = now;
      }
    }
  }

  // A playlist changed: the held reloads look again.
  void wake() {
    uint64_t one = 1;
    if (::write(wake_fd, &one, sizeof one) < 0) {
      // Already signalled (the counter is far from full): it wakes anyway.
    }
  }

  void retryParked() {
    std::vector<int> held;
    for (auto& [fd, c] : connections) {
      if (c->parked)
        held.push_back(fd);
    }
    for (int fd : held) {
      auto it = connections.find(fd);
      if (it != connections.end() && it->second->parked)
        process(*it->second);
    }
  }

  void acceptAll() {
    for (;;) {
      sockaddr_storage sa{};
      socklen_t len = sizeof sa;
      int fd = accept4(front.listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return;  // EAGAIN, or a connection that went away before we took it
      std::string peer = canonicalPeer(sa);
      if (!front.delegate_.admitConnection(fd, peer)) {
        ::close(fd);
        continue;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Connection>();
      c->fd = fd;
      c->peer = std::move(peer);
      c->events = EPOLLIN | EPOLLRDHUP | EPOLLET;
      c->header_started = SteadyClock::now();
      epoll_event ev{};
      ev.events = c->events;
      ev.data.ptr = c.get();
      if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        ::close(fd);
        front.delegate_.connectionClosed(fd);
        continue;
      }
      connections.emplace(fd, std::move(c));
    }
  }

  void close(Connection& c) {
    int fd = c.fd;
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    front.delegate_.connectionClosed(fd);
    connections.erase(fd);  // destroys c
  }

  void handOver(Connection& c) {
    int fd = c.fd;
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    std::string bytes;  // nothing taken off the socket: lws reads it all
    connections.erase(fd);
    front.counters_.handed_over++;
    front.delegate_.handOver(fd, std::move(bytes));
  }

  void setInterest(Connection& c) {
    // Reading waits while output is pending: a pipelining client cannot make
    // the front queue without bound.
    uint32_t want = EPOLLRDHUP | EPOLLET | (c.out.empty() ? EPOLLIN : EPOLLOUT);
    if (want == c.events)
      return;
    c.events = want;
    epoll_event ev{};
    ev.events = want;
    ev.data.ptr = &c;
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void serve(Connection& c, uint32_t events) {
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      if (!readSome(c))
        return;  // closed
      if (c.parked && c.peer_closed) {
        close(c);  // nobody waits for the held answer any more
        return;
      }
    }
    process(c);
  }

  // Looks at what the socket holds without taking it: bytes stay in the
  // kernel until a request is answered here (consume), so a connection
  // handed to lws is read by lws from its first unanswered byte. The socket
  // is edge-triggered: looked-at bytes do not wake the thread again. False
  // when the connection was closed.
  bool readSome(Connection& c) {
    std::string buf(front.options_.max_header_bytes + 1, '\0');
    for (;;) {
      ssize_t n = ::recv(c.fd, buf.data(), buf.size(), MSG_PEEK);
      if (n > 0) {
        if (c.in.empty())
          c.header_started = SteadyClock::now();
        if (static_cast<size_t>(n) != c.in.size())
          c.last_activity = SteadyClock::now();
        c.in.assign(buf.data(), static_cast<size_t>(n));
        break;
      }
      if (n == 0) {
        c.peer_closed = true;
        break;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      if (errno == EINTR)
        continue;
      close(c);
      return false;
    }
    if (c.peer_closed && c.in.empty() && c.out.empty()) {
      close(c);
      return false;
    }
    return true;
  }

  // Takes `count` looked-at bytes off the socket (and off `in`).
  void consume(Connection& c, size_t count) {
    count = std::min(count, c.in.size());
    char sink[16384];
    size_t taken = 0;
    while (taken < count) {
      ssize_t n = ::recv(c.fd, sink, std::min(sizeof sink, count - taken), 0);
      if (n <= 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      taken += static_cast<size_t>(n);
    }
    c.in.erase(0, count);
  }

  void queue(Connection& c, std::shared_ptr<const PreparedResponse> keep, std::string_view view) {
    Chunk chunk;
    chunk.keep = std::move(keep);
    chunk.view = view;
    c.out.push_back(std::move(chunk));
  }

  void queueOwned(Connection& c, std::string bytes) {
    Chunk chunk;
    chunk.owned = std::move(bytes);
    c.out.push_back(std::move(chunk));
  }

  // Answers a request the front cannot parse, then closes.
  void error(int status, const char* code, const char* message, Connection& c) {
    front.counters_.bad++;
    queueOwned(c, rawErrorResponse(status, code, message, true));
    c.close_after = true;
    consume(c, c.in.size());  // unread bytes at close would reset the answer
  }

  // Answers the complete requests in `in`, then writes.
  void process(Connection& c) {
    while (!c.close_after && !c.hand_over && c.out.size() < 64) {
      size_t skip = 0;  // blank lines between requests are allowed
      while (skip + 1 < c.in.size() && c.in[skip] == '\r' && c.in[skip + 1] == '\n')
        skip += 2;
      if (skip)
        consume(c, skip);
      size_t end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (c.in.size() > front.options_.max_header_bytes)
          error(431, "header_too_large", "the request header is too large", c);
        else if (c.peer_closed)
          c.close_after = true;
        break;
      }
      if (end > front.options_.max_header_bytes) {
        error(431, "header_too_large", "the request header is too large", c);
        break;
      }
      Request r;
      if (!parseHeader(std::string_view(c.in).substr(0, end + 2), r)) {
        error(400, "malformed_request", "malformed request line or header", c);
        break;
      }
      bool get = r.method == "GET";
      bool plain = (get || r.method == "HEAD") && r.upgrade.empty() &&
                   r.transfer_encoding.empty() &&
                   (r.content_length.empty() || r.content_length == "0");
      std::shared_ptr<const PreparedResponse> prepared;
      // Held with nothing written: the request's bytes stay in the socket
      // until the answer. It is looked at again when a playlist changes
      // (retryParked) and answered 503 at the deadline (sweep).
      auto park = [&](int seconds) {
        if (!c.parked) {
          c.parked = true;
          c.park_deadline = SteadyClock::now() + std::chrono::seconds(seconds);
          front.counters_.held++;
        }
      };
      if (plain && r.target.find('?') == std::string_view::npos) {
        prepared = front.responses_->findLive(r.target);
        if (!prepared) {
          if (int hold = llHintedPart(*front.responses_, r.target); hold > 0) {
            park(hold);
            break;
          }
        }
      } else if (plain) {
        LlReload ll = llReload(*front.responses_, r.target);
        if (ll.wait) {
          park(ll.hold_seconds);
          break;
        }
        prepared = std::move(ll.ready);
      }
      c.parked = false;
      if (!prepared) {
        // Not ours: libwebsockets answers it (and whatever follows).
        c.hand_over = true;
        break;
      }
      bool keep_alive = r.version == "HTTP/1.1" ? !containsLower(r.connection, "close")
                                                : containsLower(r.connection, "keep-alive");
      std::string tail = dateLine();
      if (!keep_alive)
        tail += "Connection: close\r\n";
      else if (r.version == "HTTP/1.0")
        tail += "Connection: keep-alive\r\n";
      tail += "\r\n";
      if (auto refusal = front.delegate_.refuseMedia(c.peer, r.forwarded)) {
        front.counters_.refused++;
        queueOwned(c, std::move(*refusal));
      } else if (prepared->notModified(r.if_none_match)) {
        front.counters_.not_modified++;
        queue(c, prepared, prepared->head_not_modified);
        queueOwned(c, std::move(tail));
      } else {
        front.counters_.ok++;
        queue(c, prepared, prepared->head);
        queueOwned(c, std::move(tail));
        if (get && !prepared->body->empty()) {
          queue(c, prepared, *prepared->body);
          c.out.back().file = prepared->body_fd;
        }
      }
      consume(c, end + 4);
      c.header_started = SteadyClock::now();
      c.fresh = false;
      if (!keep_alive) {
        c.close_after = true;
        consume(c, c.in.size());
      }
    }
    flush(c);
  }

  // Writes what is queued; then closes, hands over or reads on. Memory
  // chunks go out with one sendmsg (held back with MSG_MORE when a file body
  // follows), file bodies with sendfile.
  void flush(Connection& c) {
    while (!c.out.empty()) {
      ssize_t n = 0;
      size_t want = 0;
      if (c.out.front().file >= 0) {
        Chunk& chunk = c.out.front();
        auto offset = static_cast<off_t>(chunk.off);
        want = chunk.size() - chunk.off;
        n = ::sendfile(c.fd, chunk.file, &offset, want);
      } else {
        iovec iov[64];
        int count = 0;
        bool more = false;
        for (auto it = c.out.begin(); it != c.out.end() && count < 64; ++it) {
          if (it->file >= 0) {
            more = true;
            break;
          }
          iov[count].iov_base = const_cast<char*>(it->data() + it->off);
          iov[count].iov_len = it->size() - it->off;
          want += iov[count].iov_len;
          ++count;
        }
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = static_cast<size_t>(count);
        n = ::sendmsg(c.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0));
      }
      if (n < 0) {
        if (errno == EINTR)
          continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
          break;
        close(c);
        return;
      }
      if (n == 0)
        break;
      c.last_activity = SteadyClock::now();
      auto left = static_cast<size_t>(n);
      while (left > 0 && !c.out.empty()) {
        Chunk& front_chunk = c.out.front();
        size_t remaining = front_chunk.size() - front_chunk.off;
        if (left >= remaining) {
          left -= remaining;
          c.out.pop_front();
        } else {
          front_chunk.off += left;
          left = 0;
        }
      }
      // The socket took less than it was given: its buffer is full. Wait for
      // EPOLLOUT rather than find that out with one more call (as nginx does).
      if (static_cast<size_t>(n) < want)
        break;
    }
    if (!c.out.empty()) {
      setInterest(c);
      return;
    }
    if (c.close_after) {
      ::shutdown(c.fd, SHUT_WR);
      close(c);
      return;
    }
    if (c.hand_over) {
      handOver(c);
      return;
    }
    if (c.peer_closed && c.in.empty()) {
      close(c);
      return;
    }
    setInterest(c);
    if (c.parked)
      return;  // woken by a publish or the sweep
    // Requests held back while output was pending.
    if (!readSome(c))
      return;
    if (c.in.find("\r\n\r\n") != std::string::npos)
      process(c);
  }

  void sweep(SteadyClock::time_point now) {
    std::vector<Connection*> expired;
    const auto header_limit = std::chrono::seconds(front.options_.header_timeout_s);
    const auto idle_limit = std::chrono::seconds(front.options_.keepalive_timeout_s);
    std::vector<Connection*> overdue;
    for (auto& [fd, c] : connections) {
      if (c->parked) {
        if (now >= c->park_deadline)
          overdue.push_back(c.get());
        continue;
      }
      if (!c->out.empty()) {
        if (now - c->last_activity > idle_limit)
          expired.push_back(c.get());
      } else if (!c->in.empty() || c->fresh) {
        if (now - c->header_started > header_limit)
          expired.push_back(c.get());
      } else if (now - c->last_activity > idle_limit) {
        expired.push_back(c.get());
      }
    }
    for (Connection* c : overdue) {
      // As LL-HLS asks: not reached within three target durations.
      c->parked = false;
      queueOwned(*c, rawErrorResponse(503, "not_yet_available",
                                      "the stream did not reach the requested part in time", false,
                                      "Cache-Control: no-cache\r\nRetry-After: 1\r\n"));
      size_t end = c->in.find("\r\n\r\n");
      consume(*c, end == std::string::npos ? c->in.size() : end + 4);
      flush(*c);
    }
    for (Connection* c : expired) {
      // A header that never completed is closed without an answer, as lws
      // does: a slow client gets nothing to wait on.
      if (c->out.empty() && (!c->in.empty() || c->fresh))
        front.counters_.bad++;
      close(*c);
    }
  }
};

HttpFront::HttpFront(Options options, std::shared_ptr<const HlsResponses> responses,
                     Delegate& delegate)
    : options_(std::move(options)), responses_(std::move(responses)), delegate_(delegate) {}

HttpFront::~HttpFront() {
  stop();
}

Result<bool> HttpFront::start() {
  const ListenAddress& at = options_.listen;
  std::string host = at.host.empty() || at.host == "::" ? "::" : at.host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  addrinfo* found = nullptr;
  std::string port = std::to_string(at.port);
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || !found)
    return Error{"listen", "cannot listen on http " + at.str() + " (bad address)"};
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  int zero = 0;
  if (fd >= 0) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (found->ai_family == AF_INET6)
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  }
  bool ok = fd >= 0 && bind(fd, found->ai_addr, found->ai_addrlen) == 0 && listen(fd, 4096) == 0;
  freeaddrinfo(found);
  if (!ok) {
    std::string why = std::strerror(errno);
    if (fd >= 0)
      ::close(fd);
    return Error{"listen", "cannot listen on http " + at.str() + " (" + why + ")"};
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  listen_fd_ = fd;
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    workers_.push_back(std::make_unique<Worker>(*this));
    auto started = workers_.back()->start();
    if (!started) {
      stop();
      return started;
    }
  }
  listener_ = responses_->addListener([this] {
    for (auto& w : workers_)
      w->wake();
  });
  return true;
}

void HttpFront::stop() {
  if (listener_ >= 0)
    responses_->removeListener(listener_);
  listener_ = -1;
  for (auto& w : workers_)
    w->stop();
  workers_.clear();
  if (listen_fd_ >= 0)
    ::close(listen_fd_);
  listen_fd_ = -1;
}

}  // namespace jobcast::http
