#include "signaling/http_server.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/guard.h"
#include "core/log.h"

namespace jobcast::http {

namespace {

constexpr size_t kWriteChunk = 64 * 1024;

struct Exchange;

// Per-connection state that lws keeps for us (its per_session_data).
struct ConnectionData {
  std::shared_ptr<Exchange>* current;
};

}  // namespace

struct HttpServer::Impl {
  HttpServer* server;
  uint64_t in_flight = 0;
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
  char peer[64] = {0};
  lws_get_peer_simple(wsi, peer, sizeof peer);
  req.peer = peer;
  req.tls = lws_is_ssl(wsi) != 0;
}

void corsHeaders(Response& r) {
  r.header("access-control-allow-origin", "*");
  r.header("access-control-expose-headers", "Location, Link, ETag, Retry-After");
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
int writeSome(lws* wsi, Exchange& ex) {
  Response& r = *ex.response;
  const std::string& body = ex.request.method == Method::Head ? std::string() : r.bodyBytes();
  if (!ex.headers_sent) {
    corsHeaders(r);
    std::vector<unsigned char> buf(LWS_PRE + 8192 + r.headers.size() * 256);
    unsigned char* start = buf.data() + LWS_PRE;
    unsigned char* p = start;
    unsigned char* end = buf.data() + buf.size() - 1;
    const char* type = r.content_type.empty() ? nullptr : r.content_type.c_str();
    if (lws_add_http_common_headers(wsi, static_cast<unsigned int>(r.status), type,
                                    r.bodyBytes().size(), &p, end)) {
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
    if (!body.empty()) {
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
  // The whole response is out.
  if (r.close_connection)
    return -1;
  return lws_http_transaction_completed(wsi) ? -1 : 0;
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
      cd->current = new std::shared_ptr<Exchange>(ex);

      const std::string& length_text = ex->request.header("content-length");
      long long length = length_text.empty() ? 0 : std::atoll(length_text.c_str());
      if (length > server->maxBodyBytes()) {
        auto r = Response::error(
            413, "payload_too_large",
            "request body over " + std::to_string(server->maxBodyBytes()) + " bytes");
        r.close_connection = true;
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
    default:
      break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

void lwsLogBridge(int level, const char* line) {
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
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
  impl_ = std::make_unique<Impl>();
  impl_->server = this;
  metrics_.describe("jobcast_http_requests_total", Metrics::Type::Counter,
                    "HTTP requests answered, by route pattern, method and status.");
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
  // needed.
  info.max_http_header_pool2 = 1024;
  context_ = lws_create_context(&info);
  if (!context_)
    return Error{"lws", "cannot create the libwebsockets context"};

  auto makeVhost = [&](const ListenAddress& at, bool tls, int& port_out) -> Result<bool> {
    lws_context_creation_info vi;
    std::memset(&vi, 0, sizeof vi);
    vi.vhost_name = tls ? "https" : "http";
    vi.port = at.port;
    std::string iface = at.host;
    vi.iface = (iface.empty() || iface == "0.0.0.0" || iface == "::") ? nullptr : iface.c_str();
    if (iface == "0.0.0.0")
      vi.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    vi.protocols = protocols_.data();
    vi.user = impl_.get();
    vi.keepalive_timeout = 30;
    vi.timeout_secs = 30;
    if (tls) {
      vi.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
      vi.ssl_cert_filepath = options_.tls_cert.c_str();
      vi.ssl_private_key_filepath = options_.tls_key.c_str();
    }
    lws_vhost* vh = lws_create_vhost(context_, &vi);
    if (!vh) {
      return Error{"listen", std::string("cannot listen on ") + (tls ? "https " : "http ") +
                                 at.str() + " (port in use or certificate unusable)"};
    }
    port_out = lws_get_vhost_listen_port(vh);
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
  if (!context_)
    return;
  lws_context* ctx = context_;
  context_ = nullptr;
  lws_context_destroy(ctx);
  loop_.drain();
}

}  // namespace jobcast::http
