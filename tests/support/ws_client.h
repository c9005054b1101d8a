#pragma once
// A small blocking WebSocket client for tests (RFC 6455 over a plain TCP
// socket): handshake with a subprotocol, masked text frames out, frames in with
// timeouts, and helpers for the jobcast.v1 protocol.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace jobcast::test {

using namespace std::chrono_literals;

class WsClient {
 public:
  struct Options {
    std::string path = "/ws";
    std::string protocol = "jobcast.v1";
    int receive_buffer = 0;  // SO_RCVBUF before connecting (slow readers); 0 = default
  };
  struct Message {
    int opcode = 0;  // 1 text, 2 binary, 8 close
    std::string payload;
    int close_code = 0;
  };

  // Connects and upgrades; nullptr (with `error` set) when that fails.
  static std::unique_ptr<WsClient> connect(int port, const Options& options, std::string* error);
  static std::unique_ptr<WsClient> connect(int port);
  ~WsClient();

  bool sendText(std::string_view text);
  bool sendBinary(std::string_view data);
  bool sendJson(const nlohmann::json& j) { return sendText(j.dump()); }
  bool sendClose(int code = 1000);

  // The next message; nullopt on timeout. After the peer closes (close frame or
  // EOF) closed() is true and close_code() says why (0 for EOF).
  std::optional<Message> read(std::chrono::milliseconds timeout);
  // The next text message as JSON; null on timeout or close.
  nlohmann::json next(std::chrono::milliseconds timeout = 5s);
  // Reads until a JSON message satisfies `pred`; null when none does in time.
  nlohmann::json waitFor(const std::function<bool(const nlohmann::json&)>& pred,
                         std::chrono::milliseconds timeout = 5s);
  // Every JSON message read so far, in order, with the events of a batch
  // frame as messages of their own (next() hands them out one by one).
  const std::vector<nlohmann::json>& received() const { return received_; }
  // Every JSON frame as it came over the wire (batches whole).
  const std::vector<nlohmann::json>& frames() const { return frames_; }

  // hello; returns the welcome or the error frame.
  nlohmann::json hello(const std::string& room, const std::string& token = "",
                       const std::string& since = "");
  // Sends an action with a fresh req and returns its ack or error.
  nlohmann::json call(nlohmann::json action, std::chrono::milliseconds timeout = 5s);
  // Events of `kind` read so far.
  std::vector<nlohmann::json> events(const std::string& kind) const;
  // Waits for an event of `kind` matching `pred` (default: any).
  nlohmann::json waitEvent(const std::string& kind,
                           const std::function<bool(const nlohmann::json&)>& pred = nullptr,
                           std::chrono::milliseconds timeout = 5s);
  // Waits until the server closes the connection; returns the close code (0 for EOF, -1 timeout).
  int waitClosed(std::chrono::milliseconds timeout = 5s);

  bool closed() const { return closed_; }
  int closeCode() const { return close_code_; }
  int fd() const { return fd_; }

 private:
  WsClient() = default;
  bool sendFrame(int opcode, std::string_view payload);
  bool fill(std::chrono::milliseconds timeout);
  std::optional<Message> parseOne();

  int fd_ = -1;
  std::string rx_;
  std::string fragments_;
  int fragment_opcode_ = 0;
  bool closed_ = false;
  int close_code_ = 0;
  int64_t next_req_ = 1;
  std::vector<nlohmann::json> received_;
  std::vector<nlohmann::json> frames_;
  std::deque<nlohmann::json> unpacked_;
};

}  // namespace jobcast::test
