#pragma once
// One signed webhook delivery over HTTP(S): blocking, with a deadline. Runs
// on the dispatcher's thread (backoffice/webhook_dispatcher.h), never on the
// control loop.

#include <cstdint>
#include <string>

namespace jobcast::backoffice {

// "t=SECONDS,v1=HEX": HMAC-SHA256 with `secret` over "SECONDS.BODY".
std::string signature(const std::string& secret, int64_t timestamp_s, const std::string& body);

struct PostResult {
  long status = 0;    // 0: no HTTP answer (refused, timed out)
  std::string error;  // why, when not 2xx
  bool ok() const { return status >= 200 && status < 300; }
};

struct SignedPost {
  std::string url;
  std::string body;
  std::string secret;
  std::string event_id;
  std::string event_type;
  int64_t timestamp_s = 0;
  int64_t timeout_ms = 5000;
};

PostResult post(const SignedPost& request);

}  // namespace jobcast::backoffice
