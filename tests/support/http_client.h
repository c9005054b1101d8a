#pragma once
// A real HTTP client (libcurl) for tests: blocking, one request per call.

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace jobcast::test {

struct HttpResponse {
  long status = 0;                             // 0: no response (connection refused, timeout)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;  // curl's error text when status is 0

  std::string header(const std::string& lower_name) const;
  nlohmann::json json() const;  // parses body; null when it is not JSON
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  long timeout_ms = 10000;
  bool insecure_tls = true;   // tests talk to the self-signed certificate
  std::string local_address;  // source address to connect from (e.g. 127.0.0.2); empty: any
};

HttpResponse http(const HttpRequest& request);
HttpResponse httpGet(const std::string& url,
                     const std::vector<std::pair<std::string, std::string>>& headers = {});
HttpResponse httpJson(const std::string& method, const std::string& url, const nlohmann::json& body,
                      const std::string& bearer = "");

// Every application id of `room`, as its employer (`bearer`) lists them page
// by page from the node at `base` ("http://host:port"). A page answered with
// another status than 200 ends the list; its status (-1: no answer) goes
// to `failed`, which stays as it was otherwise.
std::set<std::string> listApplicationIds(const std::string& base, const std::string& room,
                                         const std::string& bearer, long* failed = nullptr);

}  // namespace jobcast::test
