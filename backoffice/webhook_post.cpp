// Runs on the webhook dispatcher's thread.
#include "backoffice/webhook_post.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <memory>

namespace jobcast::backoffice {

std::string signature(const std::string& secret, int64_t timestamp_s, const std::string& body) {
  const std::string signed_text = std::to_string(timestamp_s) + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
       &mac_len);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < mac_len; ++i) {
    hex += kHex[mac[i] >> 4];
    hex += kHex[mac[i] & 15];
  }
  return "t=" + std::to_string(timestamp_s) + ",v1=" + hex;
}

namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

size_t discard(char*, size_t size, size_t n, void*) {
  return size * n;  // the receiver's answer body is not used
}

}  // namespace

PostResult post(const SignedPost& request) {
  PostResult result;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    result.error = "curl_easy_init failed";
    return result;
  }
  curl_slist* raw = nullptr;
  raw = curl_slist_append(raw, "content-type: application/json");
  raw = curl_slist_append(
      raw, ("jobcast-signature: " + signature(request.secret, request.timestamp_s, request.body))
               .c_str());
  raw = curl_slist_append(raw, ("jobcast-event-id: " + request.event_id).c_str());
  raw = curl_slist_append(raw, ("jobcast-event-type: " + request.event_type).c_str());
  raw = curl_slist_append(raw, "expect:");  // no 100-continue round trip
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout_ms));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: we are a thread
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "jobcast-webhooks/1");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) {
    result.error = curl_easy_strerror(code);
    return result;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.status);
  if (!result.ok())
    result.error = "HTTP " + std::to_string(result.status);
  return result;
}

}  // namespace jobcast::backoffice
