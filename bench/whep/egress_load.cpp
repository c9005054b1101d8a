// A light WHEP load client for the egress engine (whep.engine: udp), as
// srs-bench does it: per viewer one UDP socket, the WHEP POST, one ICE check
// with USE-CANDIDATE, the DTLS handshake (OpenSSL, memory BIOs), then it only
// counts the SRTP packets and bytes that arrive, without decrypting or
// decoding, and repeats the check every 5 s to keep consent. One thread for
// all viewers. After a settle time it samples for a window and prints one
// line of JSON: viewers connected, kbit/s per viewer (min, median, max).
//
//   egress_load URL N [settle_s] [window_s]

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "media/egress/dtls.h"
#include "media/egress/packet_kind.h"
#include "media/egress/stun.h"
#include "tests/support/http_client.h"

using namespace jobcast;
using namespace jobcast::media::egress;
using Clock = std::chrono::steady_clock;

namespace {

std::shared_ptr<DtlsCertificate> g_certificate;

struct Viewer {
  int fd = -1;
  sockaddr_in server{};
  std::string ufrag;  // the server's
  std::string pwd;
  SSL* ssl = nullptr;
  BIO* in = nullptr;
  BIO* out = nullptr;
  bool connected = false;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint8_t seed = 0;

  ~Viewer() {
    if (ssl)
      SSL_free(ssl);
    if (fd >= 0)
      close(fd);
  }
  void send(const std::vector<uint8_t>& datagram) {
    sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&server),
           sizeof server);
  }
  void check() {
    stun::TransactionId id{};
    id[0] = ++seed;
    id[1] = static_cast<uint8_t>(fd);
    send(stun::bindingRequest(id, ufrag + ":load", pwd, true));
  }
  void step() {
    if (!connected)
      connected = SSL_do_handshake(ssl) == 1;
    int pending = BIO_ctrl_pending(out);
    if (pending > 0) {
      std::vector<uint8_t> datagram(static_cast<size_t>(pending));
      datagram.resize(static_cast<size_t>(BIO_read(out, datagram.data(), pending)));
      send(datagram);
    }
  }
};

std::string offerSdp(const std::string& fingerprint) {
  std::ostringstream s;
  s << "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
    << "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\n"
    << "a=rtcp-mux\r\na=ice-ufrag:load\r\na=ice-pwd:loadloadloadloadloadload\r\n"
    << "a=fingerprint:sha-256 " << fingerprint << "\r\na=setup:active\r\n"
    << "a=rtpmap:102 H264/90000\r\n"
    << "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n"
    << "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\n"
    << "a=rtcp-mux\r\na=ice-ufrag:load\r\na=ice-pwd:loadloadloadloadloadload\r\n"
    << "a=fingerprint:sha-256 " << fingerprint << "\r\na=setup:active\r\n"
    << "a=rtpmap:111 opus/48000/2\r\n";
  return s.str();
}

std::string attribute(const std::string& sdp, const std::string& name) {
  auto at = sdp.find("a=" + name + ":");
  if (at == std::string::npos)
    return {};
  at += name.size() + 3;
  return sdp.substr(at, sdp.find_first_of("\r\n", at) - at);
}

std::unique_ptr<Viewer> join(const std::string& url) {
  auto v = std::make_unique<Viewer>();
  test::HttpRequest post{
      .method = "POST", .url = url, .body = offerSdp(g_certificate->fingerprint())};
  post.headers = {{"Content-Type", "application/sdp"}};
  auto answered = test::http(post);
  if (answered.status != 201) {
    std::fprintf(stderr, "status %ld: %s\n", answered.status, answered.body.c_str());
    return nullptr;
  }
  v->ufrag = attribute(answered.body, "ice-ufrag");
  v->pwd = attribute(answered.body, "ice-pwd");
  // "1 1 udp PRIORITY ADDRESS PORT typ host"
  std::istringstream candidate(attribute(answered.body, "candidate"));
  std::string foundation, component, transport, priority, address;
  int port = 0;
  candidate >> foundation >> component >> transport >> priority >> address >> port;
  v->server.sin_family = AF_INET;
  v->server.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address.c_str(), &v->server.sin_addr);
  v->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int buffer = 1 << 20;
  setsockopt(v->fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  v->ssl = SSL_new(g_certificate->context());
  v->in = BIO_new(BIO_s_mem());
  v->out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(v->in, -1);
  BIO_set_mem_eof_return(v->out, -1);
  SSL_set_bio(v->ssl, v->in, v->out);
  SSL_set_connect_state(v->ssl);
  SSL_set_mtu(v->ssl, 1200);
  v->check();
  return v;
}

// Reads what arrived for every viewer; DTLS goes to OpenSSL, SRTP is counted.
void pump(std::vector<std::unique_ptr<Viewer>>& viewers, int timeout_ms) {
  std::vector<pollfd> fds;
  for (auto& v : viewers)
    fds.push_back({v->fd, POLLIN, 0});
  if (poll(fds.data(), fds.size(), timeout_ms) <= 0)
    return;
  uint8_t data[2048];
  for (size_t i = 0; i < viewers.size(); ++i) {
    if (!(fds[i].revents & POLLIN))
      continue;
    Viewer& v = *viewers[i];
    while (true) {
      ssize_t size = recv(v.fd, data, sizeof data, 0);
      if (size <= 0)
        break;
      switch (classify(data, static_cast<size_t>(size))) {
        case PacketKind::Stun:
          if (!v.connected && !SSL_is_init_finished(v.ssl))
            v.step();  // answered: start (or continue) the handshake
          break;
        case PacketKind::Dtls:
          BIO_write(v.in, data, static_cast<int>(size));
          v.step();
          break;
        case PacketKind::Rtp:
          ++v.packets;
          v.bytes += static_cast<uint64_t>(size);
          break;
        case PacketKind::Unknown:
          break;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s URL N [settle_s] [window_s]\n", argv[0]);
    return 2;
  }
  std::string url = argv[1];
  int n = std::atoi(argv[2]);
  int settle = argc > 3 ? std::atoi(argv[3]) : 5;
  int window = argc > 4 ? std::atoi(argv[4]) : 10;
  auto certificate = DtlsCertificate::generate();
  if (!certificate)
    return 1;
  g_certificate = certificate.value();
  std::vector<std::unique_ptr<Viewer>> viewers;
  for (int i = 0; i < n; ++i) {
    if (auto v = join(url))
      viewers.push_back(std::move(v));
    pump(viewers, 0);
  }
  auto deadline = Clock::now() + std::chrono::seconds(30);
  auto connected = [&] {
    return std::count_if(viewers.begin(), viewers.end(), [](auto& v) { return v->connected; });
  };
  while (connected() < static_cast<long>(viewers.size()) && Clock::now() < deadline)
    pump(viewers, 50);
  std::printf("ready %ld\n", connected());
  std::fflush(stdout);
  auto next_check = Clock::now() + std::chrono::seconds(5);
  auto run_for = [&](int seconds) {
    auto end = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < end) {
      pump(viewers, 50);
      if (Clock::now() >= next_check) {
        for (auto& v : viewers)
          v->check();
        next_check += std::chrono::seconds(5);
      }
    }
  };
  run_for(settle);
  std::vector<uint64_t> start;
  for (auto& v : viewers)
    start.push_back(v->bytes);
  run_for(window);
  std::vector<double> kbps;
  for (size_t i = 0; i < viewers.size(); ++i)
    kbps.push_back(static_cast<double>(viewers[i]->bytes - start[i]) * 8 / 1000 / window);
  std::sort(kbps.begin(), kbps.end());
  std::printf(
      "{\"viewers\": %zu, \"connected\": %ld, \"kbps_min\": %.0f, \"kbps_median\": %.0f, "
      "\"kbps_max\": %.0f}\n",
      viewers.size(), connected(), kbps.empty() ? 0 : kbps.front(),
      kbps.empty() ? 0 : kbps[kbps.size() / 2], kbps.empty() ? 0 : kbps.back());
  return 0;
}
