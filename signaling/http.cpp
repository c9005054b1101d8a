#include "signaling/http.h"

#include <algorithm>
#include <cctype>

namespace jobcast::http {
namespace {

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos)
      end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  // "/a/b/" and "/a/b" route alike.
  while (out.size() > 1 && out.back().empty())
    out.pop_back();
  return out;
}

}  // namespace

const char* methodName(Method method) {
  switch (method) {
    case Method::Get:
      return "GET";
    case Method::Head:
      return "HEAD";
    case Method::Post:
      return "POST";
    case Method::Put:
      return "PUT";
    case Method::Patch:
      return "PATCH";
    case Method::Delete:
      return "DELETE";
    case Method::Options:
      return "OPTIONS";
    case Method::Unknown:
      break;
  }
  return "UNKNOWN";
}

std::string Request::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string Request::param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

std::optional<std::string> Request::queryParam(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end())
    return std::nullopt;
  return it->second;
}

std::string Request::bearerToken() const {
  std::string auth = header("authorization");
  if (auth.size() > 7 && strncasecmp(auth.c_str(), "Bearer ", 7) == 0) {
    auto token = auth.substr(7);
    token.erase(0, token.find_first_not_of(' '));
    return token;
  }
  return {};
}

Response Response::json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response Response::error(int status, std::string code, std::string message) {
  return json(status, {{"error", {{"code", std::move(code)}, {"message", std::move(message)}}}});
}

Response Response::noContent() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

void Responder::send(Response response) const {
  if (sink_)
    sink_->deliver(std::move(response));
}

void Router::add(Method method, const std::string& pattern, Handler handler) {
  routes_.push_back(Route{method, pattern, splitPath(pattern), std::move(handler)});
}

bool Router::wrap(Method method, const std::string& pattern,
                  const std::function<Handler(Handler)>& wrap) {
  for (auto& route : routes_) {
    if (route.method == method && route.pattern == pattern) {
      route.handler = wrap(std::move(route.handler));
      return true;
    }
  }
  return false;
}

Router::Match Router::find(Method method, const std::string& path) const {
  Match match;
  auto segments = splitPath(path);
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size())
      continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      const std::string& want = route.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        if (segments[i].empty())
          ok = false;
        params[want.substr(1, want.size() - 2)] = segments[i];
      } else {
        ok = want == segments[i];
      }
    }
    if (!ok)
      continue;
    Method effective = method == Method::Head ? Method::Get : method;
    if (route.method == effective && !match.handler) {
      match.handler = &route.handler;
      match.route = route.pattern;
      match.params = std::move(params);
    }
    if (std::find(match.allowed.begin(), match.allowed.end(), route.method) ==
        match.allowed.end()) {
      match.allowed.push_back(route.method);
      if (match.route.empty())
        match.route = route.pattern;
    }
  }
  return match;
}

std::string urlDecode(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() &&
               std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace jobcast::http
