#pragma once
// A test viewer's UDP socket on loopback for the egress engine tests: it
// sends to the engine's port, receives waiting at most five seconds, and
// drives a DtlsClient's handshake with the engine.

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "tests/media/egress_dtls_client.h"

namespace jobcast::media::egress {

class ViewerSocket {
 public:
  ViewerSocket() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local);
    socklen_t length = sizeof address_;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address_), &length);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~ViewerSocket() { close(fd_); }
  ViewerSocket(const ViewerSocket&) = delete;
  ViewerSocket& operator=(const ViewerSocket&) = delete;

  void sendTo(uint16_t port, const std::vector<uint8_t>& datagram) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  // The next datagram; empty after five seconds without one.
  std::vector<uint8_t> receive() {
    std::vector<uint8_t> buffer(2048);
    ssize_t size = recv(fd_, buffer.data(), buffer.size(), 0);
    buffer.resize(size > 0 ? static_cast<size_t>(size) : 0);
    return buffer;
  }
  // The client's DTLS handshake with the engine at `port`, at most ten
  // rounds; false when it did not complete (nothing came back in time).
  bool handshake(uint16_t port, DtlsClient& client) {
    for (const auto& datagram : client.step())
      sendTo(port, datagram);
    for (int round = 0; round < 10 && !client.done(); ++round) {
      auto datagram = receive();
      if (datagram.empty())
        return false;
      client.receive(datagram);
      for (const auto& out : client.step())
        sendTo(port, out);
    }
    return client.done();
  }
  const sockaddr_in& address() const { return address_; }

 private:
  int fd_ = -1;
  sockaddr_in address_{};
};

}  // namespace jobcast::media::egress
