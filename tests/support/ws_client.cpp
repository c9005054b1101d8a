#include "tests/support/ws_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>

namespace jobcast::test {

namespace {

std::string base64(const std::string& in) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool writeAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::unique_ptr<WsClient> WsClient::connect(int port) {
  std::string error;
  auto c = connect(port, Options{}, &error);
  return c;
}

std::unique_ptr<WsClient> WsClient::connect(int port, const Options& options, std::string* error) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (options.receive_buffer > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer, sizeof(int));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::random_device rd;
  std::string key_bytes(16, '\0');
  for (auto& c : key_bytes)
    c = static_cast<char>(rd());
  std::string request = "GET " + options.path +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                        "Sec-WebSocket-Key: " +
                        base64(key_bytes) + "\r\n";
  if (!options.protocol.empty())
    request += "Sec-WebSocket-Protocol: " + options.protocol + "\r\n";
  request += "\r\n";
  if (!writeAll(fd, request)) {
    *error = "cannot send the handshake";
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<WsClient> client(new WsClient());
  client->fd_ = fd;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  size_t end;
  while ((end = client->rx_.find("\r\n\r\n")) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline || !client->fill(200ms)) {
      if (client->closed_ || std::chrono::steady_clock::now() > deadline) {
        *error = "no handshake answer: " + client->rx_.substr(0, 200);
        return nullptr;
      }
    }
  }
  std::string head = client->rx_.substr(0, end);
  client->rx_.erase(0, end + 4);
  if (head.rfind("HTTP/1.1 101", 0) != 0) {
    *error = "handshake refused: " + head.substr(0, head.find("\r\n"));
    return nullptr;
  }
  return client;
}

WsClient::~WsClient() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool WsClient::sendFrame(int opcode, std::string_view payload) {
  std::string frame;
  frame += static_cast<char>(0x80 | opcode);
  size_t n = payload.size();
  if (n < 126) {
    frame += static_cast<char>(0x80 | n);
  } else if (n < 65536) {
    frame += static_cast<char>(0x80 | 126);
    frame += static_cast<char>(n >> 8);
    frame += static_cast<char>(n & 0xff);
  } else {
    frame += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i)
      frame += static_cast<char>((static_cast<uint64_t>(n) >> (8 * i)) & 0xff);
  }
  static std::mt19937 rng{std::random_device{}()};
  char mask[4];
  for (auto& m : mask)
    m = static_cast<char>(rng());
  frame.append(mask, 4);
  for (size_t i = 0; i < n; ++i)
    frame += static_cast<char>(payload[i] ^ mask[i % 4]);
  return writeAll(fd_, frame);
}

bool WsClient::sendText(std::string_view text) {
  return sendFrame(1, text);
}
bool WsClient::sendBinary(std::string_view data) {
  return sendFrame(2, data);
}
bool WsClient::sendClose(int code) {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xff);
  return sendFrame(8, p);
}

bool WsClient::fill(std::chrono::milliseconds timeout) {
  if (closed_)
    return false;
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (r <= 0)
    return false;
  char buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  rx_.append(buf, static_cast<size_t>(n));
  return true;
}

std::optional<WsClient::Message> WsClient::parseOne() {
  while (true) {
    if (rx_.size() < 2)
      return std::nullopt;
    auto b0 = static_cast<uint8_t>(rx_[0]);
    auto b1 = static_cast<uint8_t>(rx_[1]);
    size_t pos = 2;
    uint64_t len = b1 & 0x7f;
    if (len == 126) {
      if (rx_.size() < 4)
        return std::nullopt;
      len = (uint64_t(uint8_t(rx_[2])) << 8) | uint8_t(rx_[3]);
      pos = 4;
    } else if (len == 127) {
      if (rx_.size() < 10)
        return std::nullopt;
      len = 0;
      for (int i = 0; i < 8; ++i)
        len = (len << 8) | uint8_t(rx_[2 + i]);
      pos = 10;
    }
    if (b1 & 0x80)
      pos += 4;  // servers do not mask, but tolerate it
    if (rx_.size() < pos + len)
      return std::nullopt;
    std::string payload = rx_.substr(pos, len);
    rx_.erase(0, pos + len);
    int opcode = b0 & 0x0f;
    bool fin = (b0 & 0x80) != 0;
    if (opcode == 9) {
      sendFrame(10, payload);
      continue;
    }
    if (opcode == 10)
      continue;
    if (opcode == 8) {
      Message m{8, payload, 0};
      if (payload.size() >= 2)
        m.close_code = (uint8_t(payload[0]) << 8) | uint8_t(payload[1]);
      closed_ = true;
      close_code_ = m.close_code;
      return m;
    }
    if (opcode != 0)
      fragment_opcode_ = opcode;
    fragments_ += payload;
    if (!fin)
      continue;
    Message m{fragment_opcode_, std::move(fragments_), 0};
    fragments_.clear();
    return m;
  }
}

std::optional<WsClient::Message> WsClient::read(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (auto m = parseOne())
      return m;
    if (closed_)
      return std::nullopt;
    // Rounded up, and the socket looked at even when the time is up: read(1ms)
    // once computed 0 ms left and returned without reading, so a client polled
    // that way never drained its socket nor answered the server's PINGs.
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!fill(std::max(left, std::chrono::milliseconds(0))) && left.count() <= 0)
      return std::nullopt;
  }
}

nlohmann::json WsClient::next(std::chrono::milliseconds timeout) {
  if (!unpacked_.empty()) {
    nlohmann::json j = std::move(unpacked_.front());
    unpacked_.pop_front();
    return j;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return nullptr;
    auto m = read(left);
    if (!m || m->opcode == 8)
      return nullptr;
    if (m->opcode != 1)
      continue;
    auto j = nlohmann::json::parse(m->payload, nullptr, false);
    if (j.is_discarded())
      j = nlohmann::json{{"type", "(not json)"}, {"raw", m->payload}};
    frames_.push_back(j);
    if (j["type"] == "batch" && j["events"].is_array() && !j["events"].empty()) {
      // Several events in one frame: handed out one by one, in order.
      for (auto& e : j["events"]) {
        received_.push_back(e);
        unpacked_.push_back(e);
      }
      nlohmann::json first = std::move(unpacked_.front());
      unpacked_.pop_front();
      return first;
    }
    received_.push_back(j);
    return j;
  }
}

nlohmann::json WsClient::waitFor(const std::function<bool(const nlohmann::json&)>& pred,
                                 std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return nullptr;
    auto j = next(left);
    if (j.is_null())
      return nullptr;
    if (pred(j))
      return j;
  }
}

nlohmann::json WsClient::hello(const std::string& room, const std::string& token,
                               const std::string& since) {
  nlohmann::json h{{"type", "hello"}, {"room", room}, {"token", nullptr}, {"since", nullptr}};
  if (!token.empty())
    h["token"] = token;
  if (!since.empty())
    h["since"] = since;
  sendJson(h);
  return waitFor(
      [](const nlohmann::json& j) { return j["type"] == "welcome" || j["type"] == "error"; });
}

nlohmann::json WsClient::call(nlohmann::json action, std::chrono::milliseconds timeout) {
  int64_t req = next_req_++;
  action["req"] = req;
  sendJson(action);
  return waitFor(
      [req](const nlohmann::json& j) {
        return (j["type"] == "ack" || j["type"] == "error") && j.value("req", int64_t{-1}) == req;
      },
      timeout);
}

std::vector<nlohmann::json> WsClient::events(const std::string& kind) const {
  std::vector<nlohmann::json> out;
  for (const auto& j : received_) {
    if (j["type"] == "event" && j["kind"] == kind)
      out.push_back(j);
  }
  return out;
}

nlohmann::json WsClient::waitEvent(const std::string& kind,
                                   const std::function<bool(const nlohmann::json&)>& pred,
                                   std::chrono::milliseconds timeout) {
  return waitFor(
      [&](const nlohmann::json& j) {
        return j["type"] == "event" && j["kind"] == kind && (!pred || pred(j));
      },
      timeout);
}

int WsClient::waitClosed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return -1;
    auto m = read(left);
    if (m && m->opcode == 1) {
      auto j = nlohmann::json::parse(m->payload, nullptr, false);
      if (j.is_discarded())
        continue;
      frames_.push_back(j);
      if (j["type"] == "batch" && j["events"].is_array()) {
        for (auto& e : j["events"])
          received_.push_back(e);
      } else {
        received_.push_back(j);
      }
    }
  }
  return close_code_;
}

}  // namespace jobcast::test
