#include "signaling/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include <sys/socket.h>
#include <unistd.h>

#include "core/guard.h"
#include "core/log.h"
#include "core/tls.h"
#include "signaling/http_front.h"

namespace jobcast::http {

namespace {

constexpr size_t kWriteChunk = 64 * 1024;
constexpr int kLingerSeconds = 2;

struct Exchange;

// Per-connection state that lws keeps for us (its per_session_data).
struct ConnectionData {
  std::shared_ptr<Exchange>* current;
};

}  // namespace

std::string clientAddress(const std::string& peer, const std::string& forwarded,
                          const AddressSet& trusted);

struct HttpServer::Impl : HttpFront::Delegate {
  Impl(HttpServer* s, const Options& o)
      : server(s), general(o.general_rate), media(o.media_rate), session(o.session_rate) {}

  HttpServer* server;
  uint64_t in_flight = 0;

  // Guards what the front's serving threads share with the control thread:
  // the connection cap's bookkeeping and the rate limiters.
  std::mutex mutex;
  // The connection cap's bookkeeping. A connection counts against its
  // address from accept (keyed by its fd until lws has made its wsi) until
  // the front closes it or lws destroys the wsi.
  std::unordered_map<std::string, int64_t> open_per_address;
  std::unordered_map<int, std::string> accepted_fds;
  std::unordered_map<const lws*, std::string> connections;
  // A socket being adopted from the front (control thread, during the call).
  int adopting_fd = -1;
  std::optional<std::string> adopting_address;
  std::atomic<uint64_t> accepted_total{0};
  std::atomic<uint64_t> refused_total{0};

  RateLimiter general;
  RateLimiter media;
  RateLimiter session;

  // HttpFront::Delegate, on the front's threads.
  bool admitConnection(int fd, const std::string& peer) override {
    const auto& o = server->options();
    return admitConnection(fd, AddressSet::clientKey(peer), o.trusted_proxies.contains(peer));
  }
  void connectionClosed(int fd) override {
    std::lock_guard lock(mutex);
    auto it = accepted_fds.find(fd);
    if (it == accepted_fds.end())
      return;
    forget(it->second);
    accepted_fds.erase(it);
  }
  std::optional<std::string> refuseMedia(const std::string& peer,
                                         std::string_view forwarded) override {
    std::string client =
        clientAddress(peer, std::string(forwarded), server->options().trusted_proxies);
    std::string key = AddressSet::clientKey(client);
    std::lock_guard lock(mutex);
    if (media.allow(key))
      return std::nullopt;
    return rawErrorResponse(
        429, "rate_limited", "too many requests; slow down", false,
        "Retry-After: " + std::to_string(media.retryAfterSeconds(key)) + "\r\n");
  }
  void handOver(int fd, std::string bytes) override { server->adopt(fd, std::move(bytes)); }

  void forget(const std::string& address) {
    auto it = open_per_address.find(address);
    if (it != open_per_address.end() && --it->second <= 0)
      open_per_address.erase(it);
  }

  // Returns false to refuse a new connection from `address`.
  // `address` is the client's key (AddressSet::clientKey); `exempt` for a
  // trusted proxy.
  bool admitConnection(int fd, const std::string& address, bool exempt) {
    std::lock_guard lock(mutex);
    auto stale = accepted_fds.find(fd);
    if (stale != accepted_fds.end()) {
      // The fd's last connection never became a wsi (adoption failed).
      forget(stale->second);
      accepted_fds.erase(stale);
    }
    const auto& o = server->options();
    int64_t& open = open_per_address[address];
    if (o.max_connections_per_ip > 0 && open >= o.max_connections_per_ip && !exempt) {
      if (open == 0)
        open_per_address.erase(address);
      ++refused_total;
      return false;
    }
    ++open;
    accepted_fds[fd] = address;
    ++accepted_total;
    return true;
  }

  void bindConnection(lws* wsi) {
    std::lock_guard lock(mutex);
    int fd = static_cast<int>(lws_get_socket_fd(wsi));
    if (fd == adopting_fd && adopting_address) {
      connections.emplace(wsi, std::move(*adopting_address));
      adopting_address.reset();
      return;
    }
    auto it = accepted_fds.find(fd);
    if (it == accepted_fds.end() || connections.count(wsi))
      return;
    connections.emplace(wsi, std::move(it->second));
    accepted_fds.erase(it);
  }

  void releaseConnection(const lws* wsi) {
    std::lock_guard lock(mutex);
    auto it = connections.find(wsi);
    if (it == connections.end())
      return;
    forget(it->second);
    connections.erase(it);
  }
};

namespace {

struct Exchange : Responder::Sink {
  HttpServer::Impl* impl = nullptr;
  Metrics* metrics = nullptr;
  lws* wsi = nullptr;
  Request request;
  std::string route = "unmatched";
  std::string body;  // accumulating request body
  bool body_expected = false;
  // The request's body was refused before it was all read; after the answer
  // the connection drains it for a while (see finish()).
  bool body_refused = false;
  bool body_complete = false;
  bool lingering = false;
  bool finished = false;
  std::optional<Response> response;
  bool headers_sent = false;
  size_t sent = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  void deliver(Response r) override {
    if (response)
      return;  // a request is answered once
    if (metrics) {
      metrics->add("jobcast_http_requests_total", {{"route", route},
                                                   {"method", methodName(request.method)},
                                                   {"status", std::to_string(r.status)}});
    }
    auto ms = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count() /
              1000.0;
    log::debug("http", {{"method", methodName(request.method)},
                        {"route", route},
                        {"status", r.status},
                        {"ms", ms}});
    response = std::move(r);
    if (wsi)
      lws_callback_on_writable(wsi);
  }
};

Method methodOf(lws* wsi, std::string& path) {
  struct Candidate {
    lws_token_indexes token;
    Method method;
  };
  static const Candidate candidates[] = {
      {WSI_TOKEN_GET_URI, Method::Get},         {WSI_TOKEN_POST_URI, Method::Post},
      {WSI_TOKEN_OPTIONS_URI, Method::Options}, {WSI_TOKEN_PUT_URI, Method::Put},
      {WSI_TOKEN_PATCH_URI, Method::Patch},     {WSI_TOKEN_DELETE_URI, Method::Delete},
      {WSI_TOKEN_HEAD_URI, Method::Head},
  };
  for (const auto& c : candidates) {
    int len = lws_hdr_total_length(wsi, c.token);
    if (len > 0) {
      path.resize(static_cast<size_t>(len) + 1);
      int n = lws_hdr_copy(wsi, path.data(), len + 1, c.token);
      path.resize(n > 0 ? static_cast<size_t>(n) : 0);
      return c.method;
    }
  }
  return Method::Unknown;
}

void readHeaders(lws* wsi, Request& req) {
  struct Known {
    lws_token_indexes token;
    const char* name;
  };
  static const Known known[] = {
      {WSI_TOKEN_HOST, "host"},
      {WSI_TOKEN_HTTP_AUTHORIZATION, "authorization"},
      {WSI_TOKEN_HTTP_CONTENT_TYPE, "content-type"},
      {WSI_TOKEN_HTTP_CONTENT_LENGTH, "content-length"},
      {WSI_TOKEN_ORIGIN, "origin"},
      {WSI_TOKEN_HTTP_RANGE, "range"},
      {WSI_TOKEN_HTTP_IF_NONE_MATCH, "if-none-match"},
      {WSI_TOKEN_HTTP_IF_MATCH, "if-match"},
      {WSI_TOKEN_X_FORWARDED_FOR, "x-forwarded-for"},
      {WSI_TOKEN_HTTP_ACCEPT_ENCODING, "accept-encoding"},
      {WSI_TOKEN_HTTP_ACCEPT_LANGUAGE, "accept-language"},
      {WSI_TOKEN_HTTP_USER_AGENT, "user-agent"},
      {WSI_TOKEN_HTTP_TRANSFER_ENCODING, "transfer-encoding"},
      {WSI_TOKEN_HTTP_ACCEPT, "accept"},
  };
  std::string buf;
  for (const auto& k : known) {
    int len = lws_hdr_total_length(wsi, k.token);
    if (len <= 0)
      continue;
    buf.resize(static_cast<size_t>(len) + 1);
    int n = lws_hdr_copy(wsi, buf.data(), len + 1, k.token);
    if (n > 0)
      req.headers[k.name] = buf.substr(0, static_cast<size_t>(n));
  }
  // Query arguments arrive from lws already split and URL-decoded.
  char frag[2048];
  for (int i = 0; i < 64; ++i) {
    int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
    if (n < 0)
      break;
    std::string arg(frag, static_cast<size_t>(n));
    auto eq = arg.find('=');
    if (eq == std::string::npos) {
      req.query[arg] = "";
    } else {
      req.query[arg.substr(0, eq)] = arg.substr(eq + 1);
    }
  }
  req.tls = lws_is_ssl(wsi) != 0;
}

std::string peerAddress(lws* wsi) {
  char peer[64] = {0};
  lws_get_peer_simple(wsi, peer, sizeof peer);
  std::string canonical = AddressSet::canonical(peer);
  return canonical.empty() ? std::string(peer) : canonical;
}

}  // namespace

// The client's address: the socket peer, or, when the peer is a trusted proxy,
// the right-most X-Forwarded-For entry that is not itself a trusted proxy
// (proxies append the address they saw; entries further left are the client's
// own claims).
std::string clientAddress(const std::string& peer, const std::string& forwarded,
                          const AddressSet& trusted) {
  if (forwarded.empty() || !trusted.contains(peer))
    return peer;
  std::string chosen = peer;
  size_t end = forwarded.size();
  while (end > 0) {
    size_t comma = forwarded.rfind(',', end - 1);
    size_t begin = comma == std::string::npos ? 0 : comma + 1;
    std::string entry = forwarded.substr(begin, end - begin);
    entry.erase(0, entry.find_first_not_of(" \t"));
    entry.erase(entry.find_last_not_of(" \t") + 1);
    std::string address = AddressSet::canonical(entry);
    if (address.empty())
      break;  // not an address: trust nothing further left
    chosen = address;
    if (!trusted.contains(address))
      break;
    if (comma == std::string::npos)
      break;
    end = comma;
  }
  return chosen;
}

namespace {

std::string headerText(lws* wsi, lws_token_indexes token) {
  int len = lws_hdr_total_length(wsi, token);
  if (len <= 0)
    return {};
  std::string buf(static_cast<size_t>(len) + 1, '\0');
  int n = lws_hdr_copy(wsi, buf.data(), len + 1, token);
  buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return buf;
}

// Which request budget a route draws on; nullptr for health probes.
RateLimiter* budgetFor(HttpServer::Impl& impl, const std::string& route) {
  auto starts = [&](const char* prefix) { return route.rfind(prefix, 0) == 0; };
  if (route == "/healthz" || route == "/readyz" || route == "/metrics")
    return nullptr;
  if (starts("/hls/") || starts("/recordings/") || route == "/api/v1/rooms/{id}/recordings")
    return &impl.media;
  if (starts("/whip/") || starts("/whep/") || route == "/api/v1/demo/token" ||
      starts("/api/v1/rooms/{room}/stage"))
    return &impl.session;
  return &impl.general;
}

// Takes one request from the client's budget; false (and a 429 sent) when empty.
bool admitRequest(Exchange& ex, const std::string& route, const Responder& responder) {
  const Request& req = ex.request;
  RateLimiter* budget = budgetFor(*ex.impl, route);
  std::string key = AddressSet::clientKey(req.client);
  int retry_after = 0;
  {
    std::lock_guard lock(ex.impl->mutex);
    if (!budget || budget->allow(key))
      return true;
    retry_after = budget->retryAfterSeconds(key);
  }
  ex.route = route;
  auto r = Response::error(429, "rate_limited", "too many requests; slow down");
  r.header("retry-after", std::to_string(retry_after));
  responder.send(std::move(r));
  return false;
}

// Pages may load only this node's scripts and styles and may not be framed.
// Media, playlists and the live channel may come from another node (a 307 to
// the room's media node), hence the schemes in media-src and connect-src;
// hls.js feeds the video from blob: URLs and runs its worker from one.
constexpr const char* kPagePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: https: http:; connect-src 'self' https: http: wss: ws:; "
    "worker-src 'self' blob:; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

// Routes other sites' players and WHIP/WHEP clients may call from a browser.
bool crossOriginRoute(const std::string& route) {
  return route.rfind("/whip/", 0) == 0 || route.rfind("/whep/", 0) == 0 ||
         route.rfind("/hls/", 0) == 0;
}

void securityHeaders(const Exchange& ex, Response& r) {
  if (crossOriginRoute(ex.route)) {
    r.header("access-control-allow-origin", "*");
    r.header("access-control-expose-headers", "Location, Link, ETag, Retry-After");
  }
  r.header("x-content-type-options", "nosniff");
  r.header("referrer-policy", "strict-origin-when-cross-origin");
  if (ex.request.tls)
    r.header("strict-transport-security", "max-age=31536000");
  if (r.content_type.rfind("text/html", 0) == 0) {
    r.header("content-security-policy", kPagePolicy);
    r.header("x-frame-options", "DENY");
  }
}

// Runs a route's handler. A handler that throws is a bug: it is logged, the
// request is answered 500 "internal" (unless it was already answered) and the
// node carries on.
void runHandler(const Handler& handler, const Request& req, const Responder& responder) {
  if (!guarded("http handler", [&] { handler(req, responder); }))
    responder.error(500, "internal", "the server failed to handle this request");
}

void dispatch(Router& router, const std::shared_ptr<Exchange>& ex) {
  Request& req = ex->request;
  Responder responder(ex);
  auto match = router.find(req.method, req.path);
  std::string route = match.route.empty() ? "static" : match.route;
  if (!admitRequest(*ex, route, responder))
    return;
  if (match.handler) {
    ex->route = match.route;
    req.params = std::move(match.params);
    req.route = match.route;
    runHandler(*match.handler, req, responder);
    return;
  }
  if (!match.allowed.empty()) {
    ex->route = match.route;
    std::string allow;
    for (auto m : match.allowed)
      allow += std::string(allow.empty() ? "" : ", ") + methodName(m);
    if (req.method == Method::Options) {
      auto r = Response::noContent();
      r.header("allow", allow + ", OPTIONS");
      r.header("access-control-allow-methods", allow + ", OPTIONS");
      r.header("access-control-allow-headers", "Authorization, Content-Type, If-Match");
      r.header("access-control-max-age", "86400");
      responder.send(std::move(r));
      return;
    }
    auto r = Response::error(405, "method_not_allowed",
                             std::string(methodName(req.method)) + " is not allowed here");
    r.header("allow", allow);
    responder.send(std::move(r));
    return;
  }
  if ((req.method == Method::Get || req.method == Method::Head) && router.fallback()) {
    ex->route = "static";
    runHandler(*router.fallback(), req, responder);
    return;
  }
  responder.error(404, "not_found", "no such resource");
}

// Writes the pending response: headers first, then the body in chunks, each on
// its own writable callback. Returns -1 to close the connection.
// The whole response is out (or buffered in lws).
int finish(lws* wsi, Exchange& ex) {
  ex.finished = true;
  if (lws_partial_buffered(wsi)) {
    lws_callback_on_writable(wsi);
    return 0;  // back here once lws has sent what it holds
  }
  if (!ex.response->close_connection)
    return lws_http_transaction_completed(wsi) ? -1 : 0;
  // An HTTP/2 stream shares its socket: only an HTTP/1 connection lingers.
  if (!ex.body_refused || ex.body_complete || lws_get_network_wsi(wsi) != wsi)
    return -1;
  // Lingering close: closing a socket that still has unread request bytes
  // makes the kernel send RST, which can destroy the answer before the
  // client reads it. Send FIN instead and drain the rest of the body for a
  // short while; the connection closes when the body ends, the client
  // closes, or the timeout fires.
  if (ex.lingering)
    return 0;
  ex.lingering = true;
  ::shutdown(lws_get_socket_fd(wsi), SHUT_WR);
  lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, kLingerSeconds);
  return 0;
}

int writeSome(lws* wsi, Exchange& ex) {
  if (ex.finished)
    return finish(wsi, ex);
  Response& r = *ex.response;
  const std::string& body = ex.request.method == Method::Head ? std::string() : r.bodyBytes();
  if (!ex.headers_sent) {
    securityHeaders(ex, r);
    std::vector<unsigned char> buf(LWS_PRE + 8192 + r.headers.size() * 256);
    unsigned char* start = buf.data() + LWS_PRE;
    unsigned char* p = start;
    unsigned char* end = buf.data() + buf.size() - 1;
    const char* type = r.content_type.empty() ? nullptr : r.content_type.c_str();
    if (lws_add_http_common_headers(wsi, static_cast<unsigned int>(r.status), type, r.bodySize(),
                                    &p, end)) {
      return -1;
    }
    for (const auto& [name, value] : r.headers) {
      std::string key = name + ":";
      if (lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(key.c_str()),
                                      reinterpret_cast<const unsigned char*>(value.data()),
                                      static_cast<int>(value.size()), &p, end)) {
        return -1;
      }
    }
    if (r.close_connection) {
      static const char kClose[] = "close";
      if (lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                       reinterpret_cast<const unsigned char*>(kClose), 5, &p,
                                       end)) {
        return -1;
      }
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
      return -1;
    ex.headers_sent = true;
    if (!body.empty() ||
        (r.file_body && r.file_body->length > 0 && ex.request.method != Method::Head)) {
      lws_callback_on_writable(wsi);
      return 0;
    }
  } else if (r.file_body && ex.request.method != Method::Head) {
    const Response::FileBody& file = *r.file_body;
    size_t n = static_cast<size_t>(std::min<uint64_t>(kWriteChunk, file.length - ex.sent));
    std::vector<unsigned char> buf(LWS_PRE + n);
    ssize_t got =
        pread(*file.fd, buf.data() + LWS_PRE, n, static_cast<off_t>(file.offset + ex.sent));
    if (got != static_cast<ssize_t>(n))
      return -1;  // the file shrank: the length promised cannot be kept
    bool last = ex.sent + n == file.length;
    if (lws_write(wsi, buf.data() + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
        static_cast<int>(n)) {
      return -1;
    }
    ex.sent += n;
    if (!last) {
      lws_callback_on_writable(wsi);
      return 0;
    }
  } else if (ex.sent < body.size()) {
    size_t n = std::min(kWriteChunk, body.size() - ex.sent);
    std::vector<unsigned char> buf(LWS_PRE + n);
    std::memcpy(buf.data() + LWS_PRE, body.data() + ex.sent, n);
    bool last = ex.sent + n == body.size();
    if (lws_write(wsi, buf.data() + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
        static_cast<int>(n)) {
      return -1;
    }
    ex.sent += n;
    if (!last) {
      lws_callback_on_writable(wsi);
      return 0;
    }
  }
  return finish(wsi, ex);
}

void detach(ConnectionData* cd) {
  if (cd && cd->current) {
    (*cd->current)->wsi = nullptr;
    delete cd->current;
    cd->current = nullptr;
  }
}

int httpCallback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
  auto* cd = static_cast<ConnectionData*>(user);
  auto* vhost_impl = static_cast<HttpServer::Impl*>(lws_get_vhost_user(lws_get_vhost(wsi)));
  switch (reason) {
    case LWS_CALLBACK_HTTP: {
      if (!cd || !vhost_impl)
        return -1;
      HttpServer* server = vhost_impl->server;
      detach(cd);
      auto ex = std::make_shared<Exchange>();
      ex->impl = vhost_impl;
      ex->wsi = wsi;
      ex->metrics = &server->metrics();
      std::string path;
      ex->request.method = methodOf(wsi, path);
      ex->request.path = path.empty() && in ? std::string(static_cast<const char*>(in)) : path;
      readHeaders(wsi, ex->request);
      ex->request.peer = peerAddress(wsi);
      ex->request.client = clientAddress(ex->request.peer, ex->request.header("x-forwarded-for"),
                                         server->options().trusted_proxies);
      cd->current = new std::shared_ptr<Exchange>(ex);

      const std::string& length_text = ex->request.header("content-length");
      long long length = length_text.empty() ? 0 : std::atoll(length_text.c_str());
      if (length > server->maxBodyBytes()) {
        auto r = Response::error(
            413, "payload_too_large",
            "request body over " + std::to_string(server->maxBodyBytes()) + " bytes");
        r.close_connection = true;
        ex->body_refused = true;
        Responder(ex).send(std::move(r));
        return 0;
      }
      bool has_body = length > 0 || !ex->request.header("transfer-encoding").empty();
      if (has_body && (ex->request.method == Method::Post || ex->request.method == Method::Put ||
                       ex->request.method == Method::Patch)) {
        ex->body_expected = true;
        return 0;  // dispatched on LWS_CALLBACK_HTTP_BODY_COMPLETION
      }
      dispatch(server->router(), ex);
      return 0;
    }
    case LWS_CALLBACK_HTTP_BODY: {
      if (!cd || !cd->current || !vhost_impl)
        return -1;
      auto& ex = *cd->current;
      if (ex->response)
        return 0;  // already refused; discard
      if (static_cast<int64_t>(ex->body.size() + len) > vhost_impl->server->maxBodyBytes()) {
        auto r = Response::error(413, "payload_too_large", "request body too large");
        r.close_connection = true;
        ex->body_refused = true;
        Responder(ex).send(std::move(r));
        return 0;
      }
      // lws drops a body that goes silent; this also ends one that trickles.
      if (std::chrono::steady_clock::now() - ex->started >
          std::chrono::seconds(vhost_impl->server->options().body_timeout_s)) {
        auto r = Response::error(408, "request_timeout", "request body too slow");
        r.close_connection = true;
        ex->body_refused = true;
        Responder(ex).send(std::move(r));
        return 0;
      }
      ex->body.append(static_cast<const char*>(in), len);
      return 0;
    }
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
      if (!cd || !cd->current || !vhost_impl)
        return -1;
      auto ex = *cd->current;
      ex->body_complete = true;
      if (ex->lingering)
        return -1;  // the refused body is drained: close now
      // lws also completes bodiless POSTs, which were dispatched already on
      // LWS_CALLBACK_HTTP; an asynchronous handler has not answered yet then.
      if (ex->response || !ex->body_expected)
        return 0;
      ex->request.body = std::move(ex->body);
      ex->body_expected = false;
      dispatch(vhost_impl->server->router(), ex);
      return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
      if (!cd || !cd->current)
        return 0;
      auto ex = *cd->current;
      if (!ex->response)
        return 0;
      int rc = writeSome(wsi, *ex);
      return rc;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
      detach(cd);
      return 0;
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: {
      // Called on the listener before lws adopts the socket: refuse here and
      // the connection never takes a header slot.
      if (!vhost_impl || !user)
        return 0;
      const auto* args = static_cast<const lws_filter_network_conn_args*>(user);
      char text[INET6_ADDRSTRLEN] = {0};
      if (args->cli_addr.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&args->cli_addr)->sin_addr, text,
                  sizeof text);
      } else if (args->cli_addr.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&args->cli_addr)->sin6_addr,
                  text, sizeof text);
      }
      std::string address = AddressSet::canonical(text);
      bool exempt = vhost_impl->server->options().trusted_proxies.contains(address);
      return vhost_impl->admitConnection(static_cast<int>(args->accept_fd),
                                         AddressSet::clientKey(address), exempt)
                 ? 0
                 : 1;
    }
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
      if (vhost_impl)
        vhost_impl->bindConnection(wsi);
      return 0;
    case LWS_CALLBACK_WSI_DESTROY:
      if (vhost_impl)
        vhost_impl->releaseConnection(wsi);
      return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
      // A WebSocket upgrade starts a session: it draws on the session budget.
      if (!vhost_impl)
        return 0;
      std::string client =
          clientAddress(peerAddress(wsi), headerText(wsi, WSI_TOKEN_X_FORWARDED_FOR),
                        vhost_impl->server->options().trusted_proxies);
      bool allowed = false;
      {
        std::lock_guard lock(vhost_impl->mutex);
        allowed = vhost_impl->session.allow(AddressSet::clientKey(client));
      }
      if (allowed)
        return 0;
      vhost_impl->server->metrics().add(
          "jobcast_http_requests_total",
          {{"route", "websocket"}, {"method", "GET"}, {"status", "429"}});
      return 1;
    }
    default:
      break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

void lwsLogBridge(int level, const char* line) {
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  // lws 4.1 reports every adopted socket with read bytes at error level.
  if ((level & LLL_ERR) && (text.find("readbuf") != std::string::npos ||
                            text.find("deferring handling ah") != std::string::npos)) {
    log::debug("lws", {{"detail", text}});
    return;
  }
  if (level & LLL_ERR) {
    log::error("lws", {{"detail", text}});
  } else if (level & LLL_WARN) {
    log::warn("lws", {{"detail", text}});
  } else {
    log::debug("lws", {{"detail", text}});
  }
}

}  // namespace

HttpServer::HttpServer(Loop& loop, Metrics& metrics, Router& router, Options options)
    : loop_(loop), metrics_(metrics), router_(router), options_(std::move(options)) {
  impl_ = std::make_unique<Impl>(this, options_);
  metrics_.describe("jobcast_http_connections_accepted_total", Metrics::Type::Counter,
                    "TCP connections accepted.");
  metrics_.describe("jobcast_http_connections_refused_total", Metrics::Type::Counter,
                    "TCP connections refused: their address already had "
                    "server.max_connections_per_ip open.");
  metrics_.gaugeFn("jobcast_http_connections_accepted_total", {},
                   [this] { return static_cast<double>(impl_->accepted_total.load()); });
  metrics_.gaugeFn("jobcast_http_connections_refused_total", {},
                   [this] { return static_cast<double>(impl_->refused_total.load()); });
  metrics_.gaugeFn("jobcast_http_connections_open", {}, [this] {
    std::lock_guard lock(impl_->mutex);
    int64_t open = 0;
    for (const auto& [address, n] : impl_->open_per_address)
      open += n;
    return static_cast<double>(open);
  });
  metrics_.describe("jobcast_http_connections_open", Metrics::Type::Gauge, "Connections open now.");
  metrics_.describe("jobcast_http_requests_total", Metrics::Type::Counter,
                    "HTTP requests answered, by route pattern, method and status.");
  metrics_.describe("jobcast_http_front_responses_total", Metrics::Type::Counter,
                    "HLS requests the plain-HTTP front answered itself, by status.");
  for (const char* status : {"200", "304", "429", "bad"}) {
    metrics_.gaugeFn("jobcast_http_front_responses_total", {{"status", status}},
                     [this, status] { return static_cast<double>(frontResponses(status)); });
  }
  metrics_.describe("jobcast_http_front_handovers_total", Metrics::Type::Counter,
                    "Connections the plain-HTTP front handed to libwebsockets.");
  metrics_.gaugeFn("jobcast_http_front_handovers_total", {}, [this] {
    return front_ ? static_cast<double>(front_->counters().handed_over.load()) : 0.0;
  });
  metrics_.describe("jobcast_http_front_held_total", Metrics::Type::Counter,
                    "Low-latency HLS reloads and hinted parts the front held until they existed.");
  metrics_.gaugeFn("jobcast_http_front_held_total", {}, [this] {
    return front_ ? static_cast<double>(front_->counters().held.load()) : 0.0;
  });
}

uint64_t HttpServer::frontResponses(const std::string& status) const {
  if (!front_)
    return 0;
  const auto& c = front_->counters();
  if (status == "200")
    return c.ok;
  if (status == "304")
    return c.not_modified;
  if (status == "429")
    return c.refused;
  return c.bad;
}

void HttpServer::adopt(int fd, std::string bytes) {
  loop_.post([this, alive = alive_, fd, bytes = std::move(bytes)] {
    if (!alive->load() || !http_vhost_) {
      ::close(fd);
      return;  // the front's bookkeeping went with the server
    }
    {
      std::lock_guard lock(impl_->mutex);
      auto it = impl_->accepted_fds.find(fd);
      impl_->adopting_fd = fd;
      if (it != impl_->accepted_fds.end()) {
        impl_->adopting_address = std::move(it->second);
        impl_->accepted_fds.erase(it);
      }
    }
    // lws binds the connection (LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED,
    // which takes adopting_address) and parses `bytes` before reading on; on
    // failure it closes the socket.
    if (bytes.empty())
      lws_adopt_socket_vhost(http_vhost_, fd);
    else
      lws_adopt_socket_vhost_readbuf(http_vhost_, fd, bytes.data(), bytes.size());
    std::lock_guard lock(impl_->mutex);
    if (impl_->adopting_address) {
      impl_->forget(*impl_->adopting_address);
      impl_->adopting_address.reset();
    }
    impl_->adopting_fd = -1;
  });
}

HttpServer::~HttpServer() {
  stop();
}

Result<bool> HttpServer::start() {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  lws_set_log_level(LLL_ERR | LLL_WARN, lwsLogBridge);

  protocols_.clear();
  protocols_.push_back(
      lws_protocols{"http", httpCallback, sizeof(ConnectionData), 0, 0, nullptr, 0});
  for (const auto& p : options_.websocket_protocols)
    protocols_.push_back(p);
  protocols_.push_back(lws_protocols{nullptr, nullptr, 0, 0, 0, nullptr, 0});

  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_GLIB |
                 LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  foreign_loops_[0] = loop_.mainLoop();
  info.foreign_loops = foreign_loops_;
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols_.data();
  // Connections parsing headers at once. Handlers answer asynchronously (a
  // WHIP answer takes a second or more), and a request keeps its header
  // slot until answered: with lws' small default pool a few slow requests
  // held every slot and the node stopped answering. Slots are allocated as
  // needed. Half-sent headers hold a slot for at most header_timeout_s, and
  // one address at most max_connections_per_ip slots, so it takes many
  // addresses to fill the pool.
  info.max_http_header_pool2 = 4096;
  // Silence while a request body is due (lws re-arms it on every piece).
  info.timeout_secs = static_cast<unsigned int>(options_.body_timeout_s);
  // lws' own default pings a quiet WebSocket after 5 minutes and hangs up 10 s
  // later: a phone gone without a word held its place (and a queued
  // jobseeker's) that long. Any frame from the peer, or its PONG, counts.
  idle_policy_ = lws_retry_bo_t{};
  idle_policy_.secs_since_valid_ping = options_.ws_ping_s;
  idle_policy_.secs_since_valid_hangup = options_.ws_timeout_s;
  info.retry_and_idle_policy = &idle_policy_;
  context_ = lws_create_context(&info);
  if (!context_)
    return Error{"lws", "cannot create the libwebsockets context"};

  auto makeVhost = [&](const ListenAddress& at, bool tls, int& port_out) -> Result<bool> {
    lws_context_creation_info vi;
    std::memset(&vi, 0, sizeof vi);
    vi.vhost_name = tls ? "https" : "http";
    // Plain HTTP arrives through the front, which owns the listening socket.
    vi.port = tls ? at.port : CONTEXT_PORT_NO_LISTEN_SERVER;
    std::string iface = at.host;
    vi.iface = (iface.empty() || iface == "0.0.0.0" || iface == "::") ? nullptr : iface.c_str();
    if (iface == "0.0.0.0")
      vi.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    vi.protocols = protocols_.data();
    vi.user = impl_.get();
    vi.keepalive_timeout = 30;
    vi.timeout_secs = 30;
    // From a connection's first byte to its complete request header.
    vi.timeout_secs_ah_idle = static_cast<unsigned int>(options_.header_timeout_s);
    if (tls) {
      vi.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
      vi.ssl_cert_filepath = options_.tls_cert.c_str();
      vi.ssl_private_key_filepath = options_.tls_key.c_str();
      vi.ssl_cipher_list = tls::kTls12Ciphers;
      vi.tls1_3_plus_cipher_list = tls::kTls13Ciphers;
      vi.ssl_options_set =
          SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_CIPHER_SERVER_PREFERENCE;
    }
    lws_vhost* vh = lws_create_vhost(context_, &vi);
    if (!vh) {
      return Error{"listen", std::string("cannot listen on ") + (tls ? "https " : "http ") +
                                 at.str() + " (port in use or certificate unusable)"};
    }
    if (!tls) {
      http_vhost_ = vh;
      HttpFront::Options fo;
      fo.listen = at;
      fo.threads = options_.front_threads;
      fo.header_timeout_s = options_.header_timeout_s;
      fo.keepalive_timeout_s = 30;
      auto hls = options_.hls ? options_.hls : std::make_shared<const HlsResponses>();
      front_ = std::make_unique<HttpFront>(fo, hls, *impl_);
      auto started = front_->start();
      if (!started)
        return started;
      port_out = front_->port();
    } else {
      port_out = lws_get_vhost_listen_port(vh);
    }
    log::info("listening",
              {{"scheme", tls ? "https" : "http"}, {"address", at.host}, {"port", port_out}});
    return true;
  };
  if (options_.http.enabled()) {
    auto r = makeVhost(options_.http, false, http_port_);
    if (!r)
      return r;
  }
  if (options_.https.enabled()) {
    auto r = makeVhost(options_.https, true, https_port_);
    if (!r)
      return r;
  }
  return true;
}

void HttpServer::stop() {
  if (front_)
    front_->stop();  // joins the serving threads: no new adoption after this
  alive_->store(false);
  if (!context_)
    return;
  lws_context* ctx = context_;
  context_ = nullptr;
  http_vhost_ = nullptr;
  lws_context_destroy(ctx);
  loop_.drain();
}

}  // namespace jobcast::http
