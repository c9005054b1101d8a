#pragma once
// HTTP requests, responses and routing, independent of libwebsockets. Handlers
// run on the control thread and answer through a Responder, now or later (after
// a Redis reply, say).

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace jobcast::http {

enum class Method { Get, Head, Post, Put, Patch, Delete, Options, Unknown };
const char* methodName(Method method);

struct Request {
  Method method = Method::Unknown;
  std::string path;                            // URL-decoded, without the query
  std::map<std::string, std::string> query;    // decoded name -> value
  std::map<std::string, std::string> headers;  // lower-case name -> value
  std::map<std::string, std::string> params;   // from the route pattern's {names}
  std::string route;                           // the matched pattern, e.g. "/api/v1/rooms/{id}"
  std::string body;
  std::string peer;    // the socket's peer address
  std::string client;  // the client: X-Forwarded-For when `peer` is a trusted proxy, else `peer`
  bool tls = false;

  std::string header(const std::string& lower_name) const;
  std::string param(const std::string& name) const;
  std::optional<std::string> queryParam(const std::string& name) const;
  // The token of "Authorization: Bearer TOKEN", or empty.
  std::string bearerToken() const;
  // "METHOD pattern" of the matched route, e.g. "POST /api/v1/rooms/{id}/jobs":
  // the name of its body's schema (signaling/wire.h).
  std::string routeKey() const { return std::string(methodName(method)) + " " + route; }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // A body shared with other responses (a live HLS segment, say); used when set.
  std::shared_ptr<const std::string> shared_body;
  // A body read from an open file while it is sent (a recording): `length`
  // bytes from `offset`, one bounded chunk per writable callback, so a large
  // file is never held in memory. Used when set.
  struct FileBody {
    std::shared_ptr<const int> fd;  // closed when the last response holding it goes
    uint64_t offset = 0;
    uint64_t length = 0;
  };
  std::optional<FileBody> file_body;
  bool close_connection = false;

  static Response json(int status, const nlohmann::json& body);
  static Response text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  static Response error(int status, std::string code, std::string message);
  static Response noContent();

  Response& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  const std::string& bodyBytes() const { return shared_body ? *shared_body : body; }
  uint64_t bodySize() const { return file_body ? file_body->length : bodyBytes().size(); }
};

// Answers one request once. Copyable handle; sending after the client went away
// is a no-op, so handlers never need to know whether the connection survived.
class Responder {
 public:
  struct Sink {
    virtual ~Sink() = default;
    virtual void deliver(Response response) = 0;
  };
  explicit Responder(std::shared_ptr<Sink> sink) : sink_(std::move(sink)) {}
  void send(Response response) const;
  void json(int status, const nlohmann::json& body) const { send(Response::json(status, body)); }
  void error(int status, std::string code, std::string message) const {
    send(Response::error(status, std::move(code), std::move(message)));
  }

 private:
  std::shared_ptr<Sink> sink_;
};

using Handler = std::function<void(const Request&, const Responder&)>;

// Routes "METHOD /path/{param}/..." patterns. A request whose path matches but
// whose method does not gets 405 with Allow; OPTIONS on a known path gets 204.
class Router {
 public:
  void add(Method method, const std::string& pattern, Handler handler);
  // Puts `wrap(handler)` in place of the handler of the route added with this
  // method and pattern (a module deciding before another's handler, e.g. a 307
  // to the node that owns a room's media). False when there is no such route.
  bool wrap(Method method, const std::string& pattern, const std::function<Handler(Handler)>& wrap);
  // Handles GET/HEAD requests no route matched (static files).
  void setFallback(Handler handler) { fallback_ = std::move(handler); }

  struct Match {
    const Handler* handler = nullptr;
    std::string route;  // the pattern, for metrics
    std::map<std::string, std::string> params;
    std::vector<Method> allowed;  // methods for a path that matched
  };
  Match find(Method method, const std::string& path) const;
  const Handler* fallback() const { return fallback_ ? &fallback_ : nullptr; }

 private:
  struct Route {
    Method method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
  Handler fallback_;
};

std::string urlDecode(const std::string& text);

}  // namespace jobcast::http
