#include "tests/support/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

namespace jobcast::test {
namespace {

size_t onBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t onHeader(char* data, size_t size, size_t n, void* user) {
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n'))
      value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * n;
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_ALL); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

nlohmann::json HttpResponse::json() const {
  return nlohmann::json::parse(body, nullptr, false).is_discarded() ? nlohmann::json()
                                                                    : nlohmann::json::parse(body);
}

HttpResponse http(const HttpRequest& request) {
  static CurlGlobal global;
  HttpResponse response;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD")
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
      request.method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Expect:");
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  std::string local = "host!" + request.local_address;
  if (!request.local_address.empty())
    curl_easy_setopt(curl, CURLOPT_INTERFACE, local.c_str());
  if (request.insecure_tls) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  } else {
    response.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return response;
}

HttpResponse httpGet(const std::string& url,
                     const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpRequest r;
  r.url = url;
  r.headers = headers;
  return http(r);
}

HttpResponse httpJson(const std::string& method, const std::string& url, const nlohmann::json& body,
                      const std::string& bearer) {
  HttpRequest r;
  r.method = method;
  r.url = url;
  if (!body.is_null()) {
    r.body = body.dump();
    r.headers.emplace_back("Content-Type", "application/json");
  }
  if (!bearer.empty())
    r.headers.emplace_back("Authorization", "Bearer " + bearer);
  return http(r);
}

std::set<std::string> listApplicationIds(const std::string& base, const std::string& room,
                                         const std::string& bearer, long* failed) {
  std::set<std::string> ids;
  for (int offset = 0;; offset += 200) {
    auto page = httpJson(
        "GET",
        base + "/api/v1/rooms/" + room + "/applications?limit=200&offset=" + std::to_string(offset),
        nullptr, bearer);
    if (page.status != 200) {
      if (failed)
        *failed = page.status ? page.status : -1;
      break;
    }
    nlohmann::json j = page.json();
    for (const auto& item : j["items"])
      ids.insert(item.value("id", ""));
    if (j["next_offset"].is_null())
      break;
  }
  return ids;
}

}  // namespace jobcast::test
