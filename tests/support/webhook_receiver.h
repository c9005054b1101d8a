#pragma once
// A webhook receiver for tests: a plain HTTP/1.1 server on 127.0.0.1 in the
// test's process, and the receiver's own check of a delivery's signature.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace jobcast::test {

// One request the receiver got, and what it answered.
struct Delivery {
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  int status = 0;
  nlohmann::json payload() const { return nlohmann::json::parse(body, nullptr, false); }
};

// A plain HTTP/1.1 server on 127.0.0.1: one request per connection, answered
// with what `answer` returns for it (called on the receiver's thread).
class Receiver {
 public:
  using Answer = std::function<int(const Delivery&, int nth_for_event)>;
  explicit Receiver(Answer answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

  // Waits until `pred` holds over everything received so far.
  bool waitFor(const std::function<bool(const std::vector<Delivery>&)>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return pred(got_); });
  }
  std::vector<Delivery> got() {
    std::lock_guard lock(mutex_);
    return got_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0)
        continue;
      handle(c);
      ::close(c);
    }
  }

  void handle(int c) {
    std::string in;
    char buf[4096];
    size_t header_end = std::string::npos;
    size_t want = 0;
    while (true) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0)
        return;
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0)
        return;
      in.append(buf, static_cast<size_t>(n));
      if (header_end == std::string::npos) {
        header_end = in.find("\r\n\r\n");
        if (header_end == std::string::npos)
          continue;
      }
      Delivery d;
      std::istringstream lines(in.substr(0, header_end));
      std::string line;
      std::getline(lines, line);  // request line
      while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r')
          line.pop_back();
        auto colon = line.find(':');
        if (colon == std::string::npos)
          continue;
        std::string name = line.substr(0, colon);
        for (auto& ch : name)
          ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        d.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      }
      want = std::stoul(d.headers.count("content-length") ? d.headers["content-length"] : "0");
      if (in.size() < header_end + 4 + want)
        continue;
      d.body = in.substr(header_end + 4, want);
      int nth = ++seen_[d.headers["jobcast-event-id"]];
      d.status = answer_(d, nth);
      std::string out = "HTTP/1.1 " + std::to_string(d.status) +
                        " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!::write(c, out.data(), out.size());
      std::lock_guard lock(mutex_);
      got_.push_back(std::move(d));
      changed_.notify_all();
      return;
    }
  }

  Answer answer_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::map<std::string, int> seen_;  // receiver thread only
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Delivery> got_;
  std::thread thread_;
};

// The receiver's own check of "t=SECONDS,v1=HEX" over "SECONDS.BODY".
inline bool validSignature(const Delivery& d, const std::string& secret) {
  auto it = d.headers.find("jobcast-signature");
  if (it == d.headers.end())
    return false;
  const std::string& sig = it->second;
  auto comma = sig.find(",v1=");
  if (sig.rfind("t=", 0) != 0 || comma == std::string::npos)
    return false;
  std::string t = sig.substr(2, comma - 2);
  std::string text = t + "." + d.body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned int i = 0; i < len; ++i)
    snprintf(hex + 2 * i, 3, "%02x", mac[i]);
  return sig.substr(comma + 4) == std::string(hex, 2 * len);
}

inline int countAccepted(const std::vector<Delivery>& got, const std::string& type = "") {
  int n = 0;
  for (const auto& d : got)
    if (d.status == 200 && (type.empty() || d.payload().value("type", "") == type))
      ++n;
  return n;
}

}  // namespace jobcast::test
