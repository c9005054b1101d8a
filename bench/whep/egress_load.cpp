// A light WHEP load client for the egress engine (whep.engine: udp), as
// srs-bench does it: per viewer one UDP socket, the WHEP POST, one ICE check
// with USE-CANDIDATE, the DTLS handshake (OpenSSL, memory BIOs), then it only
// counts the SRTP packets and bytes that arrive, without decrypting or
// decoding, and repeats the check every 5 s to keep consent. One thread for
// all viewers. After a settle time it samples for a window and prints one
// line of JSON: viewers connected, kbit/s per viewer (min, median, max).
//
// --janus loads a Janus streaming mountpoint the same way, so both servers
// meet the same client code. Janus offers (create a session, attach
// janus.plugin.streaming, "watch" -> JSEP offer, "start" with our answer);
// it is a full ICE agent, so the viewer also answers Janus's checks.
//
//   egress_load URL N [settle_s] [window_s]
//   egress_load --janus http://HOST:PORT/janus N [settle_s] [window_s] [mountpoint]

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

#include <nlohmann/json.hpp>

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
  std::string local_ufrag = "load";  // ours, as our SDP states it
  std::string local_pwd = "loadloadloadloadloadload";
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
    send(stun::bindingRequest(id, ufrag + ":" + local_ufrag, pwd, true));
  }
  // A full ICE agent (Janus) checks us too: answer as a controlled agent.
  void answerCheck(const uint8_t* data, size_t size, const sockaddr_storage& from) {
    auto message = stun::parse(data, size);
    if (!message || message->type != stun::kBindingRequest)
      return;
    auto reply = stun::bindingSuccess(message->transaction, from, local_pwd);
    sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(&from),
           sizeof(sockaddr_in));
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
    << "a=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n"
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

// The server's ICE credentials and its first IPv4 host candidate, from its SDP.
bool readServer(Viewer& v, const std::string& sdp) {
  v.ufrag = attribute(sdp, "ice-ufrag");
  v.pwd = attribute(sdp, "ice-pwd");
  for (size_t at = sdp.find("a=candidate:"); at != std::string::npos;
       at = sdp.find("a=candidate:", at + 1)) {
    // "a=candidate:1 1 udp PRIORITY ADDRESS PORT typ host"
    std::istringstream candidate(sdp.substr(at + 12, sdp.find_first_of("\r\n", at) - at - 12));
    std::string foundation, component, transport, priority, address;
    int port = 0;
    candidate >> foundation >> component >> transport >> priority >> address >> port;
    v.server.sin_family = AF_INET;
    v.server.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, address.c_str(), &v.server.sin_addr) == 1)
      return true;
  }
  std::fprintf(stderr, "no IPv4 candidate in the server's SDP\n");
  return false;
}

void openTransport(Viewer* v) {
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
  if (!readServer(*v, answered.body))
    return nullptr;
  openTransport(v.get());
  v->check();
  return v;
}

// Our answer to a Janus offer: every m-line accepted, recvonly, its first
// payload type only (no RTX, no header extensions), bundle on one socket
// whose host candidate is `address`:`port`.
std::string janusAnswer(const std::string& offer, const Viewer& v, const std::string& address,
                        uint16_t port) {
  std::ostringstream s;
  s << "v=0\r\no=- 1 2 IN IP4 " << address << "\r\ns=-\r\nt=0 0\r\n"
    << "a=group:" << attribute(offer, "group") << "\r\n";
  size_t at = offer.find("\r\nm=");
  bool first = true;
  while (at != std::string::npos) {
    size_t end = offer.find("\r\nm=", at + 2);
    std::string section = offer.substr(at + 2, end == std::string::npos ? end : end - at - 2);
    std::istringstream mline(section.substr(0, section.find("\r\n")));
    std::string kind, port_text, proto, pt;
    mline >> kind >> port_text >> proto >> pt;
    kind = kind.substr(2);
    s << "m=" << kind << " 9 UDP/TLS/RTP/SAVPF " << pt << "\r\nc=IN IP4 " << address << "\r\n"
      << "a=mid:" << attribute(section, "mid") << "\r\na=recvonly\r\na=rtcp-mux\r\n"
      << "a=ice-ufrag:" << v.local_ufrag << "\r\na=ice-pwd:" << v.local_pwd << "\r\n"
      << "a=fingerprint:sha-256 " << g_certificate->fingerprint() << "\r\na=setup:active\r\n"
      << "a=rtpmap:" << pt << " " << attribute(section, "rtpmap:" + pt) << "\r\n";
    std::string fmtp = attribute(section, "fmtp:" + pt);
    if (!fmtp.empty())
      s << "a=fmtp:" << pt << " " << fmtp << "\r\n";
    if (kind == "video")
      s << "a=rtcp-fb:" << pt << " nack\r\na=rtcp-fb:" << pt << " nack pli\r\n";
    if (first) {
      s << "a=candidate:1 1 udp 2130706431 " << address << " " << port << " typ host\r\n";
      first = false;
    }
    s << "a=end-of-candidates\r\n";
    at = end;
  }
  return s.str();
}

// One Janus streaming viewer: its own Janus session (sessions do not time
// out in the bench's Janus config, so no keepalives), one handle, watch,
// answer, start.
std::unique_ptr<Viewer> joinJanus(const std::string& base, int mountpoint) {
  auto v = std::make_unique<Viewer>();
  static int counter = 0;
  ++counter;
  v->local_ufrag = "ld" + std::to_string(counter);
  auto post = [&](const std::string& url, nlohmann::json body) {
    body["transaction"] = "t" + std::to_string(counter);
    return test::httpJson("POST", url, body).json();
  };
  auto session = post(base, {{"janus", "create"}});
  if (session.value("janus", "") != "success")
    return nullptr;
  std::string session_url = base + "/" + std::to_string(session["data"]["id"].get<uint64_t>());
  auto handle = post(session_url, {{"janus", "attach"}, {"plugin", "janus.plugin.streaming"}});
  if (handle.value("janus", "") != "success")
    return nullptr;
  std::string handle_url = session_url + "/" + std::to_string(handle["data"]["id"].get<uint64_t>());
  post(handle_url, {{"janus", "message"}, {"body", {{"request", "watch"}, {"id", mountpoint}}}});
  std::string offer;
  for (int i = 0; i < 10 && offer.empty(); ++i) {
    auto event = test::httpGet(session_url + "?maxev=1").json();
    if (event.is_array() && !event.empty())
      event = event[0];
    if (event.contains("jsep"))
      offer = event["jsep"].value("sdp", "");
  }
  if (offer.empty() || !readServer(*v, offer)) {
    std::fprintf(stderr, "no offer from Janus\n");
    return nullptr;
  }
  openTransport(v.get());
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr = v->server.sin_addr;
  bind(v->fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
  socklen_t length = sizeof local;
  getsockname(v->fd, reinterpret_cast<sockaddr*>(&local), &length);
  char address[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &local.sin_addr, address, sizeof address);
  auto started = post(
      handle_url,
      {{"janus", "message"},
       {"body", {{"request", "start"}}},
       {"jsep",
        {{"type", "answer"}, {"sdp", janusAnswer(offer, *v, address, ntohs(local.sin_port))}}}});
  if (started.value("janus", "") != "ack" && started.value("janus", "") != "success") {
    std::fprintf(stderr, "Janus refused the answer: %s\n", started.dump().c_str());
    return nullptr;
  }
  v->check();
  return v;
}

// Reads what arrived for every viewer; DTLS goes to OpenSSL, SRTP is counted.
void pump(std::vector<std::unique_ptr<Viewer>>& viewers, int timeout_ms) {
  std::vector<pollfd> fds;
  for (auto& v : viewers)
    fds.push_back({v->fd, POLLIN, 0});
  int ready = poll(fds.data(), fds.size(), timeout_ms);
  uint8_t data[2048];
  for (size_t i = 0; i < viewers.size() && ready > 0; ++i) {
    if (!(fds[i].revents & POLLIN))
      continue;
    Viewer& v = *viewers[i];
    while (true) {
      sockaddr_storage from{};
      socklen_t from_length = sizeof from;
      ssize_t size =
          recvfrom(v.fd, data, sizeof data, 0, reinterpret_cast<sockaddr*>(&from), &from_length);
      if (size <= 0)
        break;
      switch (classify(data, static_cast<size_t>(size))) {
        case PacketKind::Stun:
          v.answerCheck(data, static_cast<size_t>(size), from);
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
  // A lost flight (Janus drops DTLS until its ICE is connected) is resent
  // when its timer runs out.
  for (auto& v : viewers) {
    if (!v->connected && DTLSv1_handle_timeout(v->ssl) > 0)
      v->step();
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool janus = argc > 1 && std::string(argv[1]) == "--janus";
  if (janus) {
    ++argv;
    --argc;
  }
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s URL N [settle_s] [window_s]\n"
                 "       %s --janus http://HOST:PORT/janus N [settle_s] [window_s] [mountpoint]\n",
                 argv[0], argv[0]);
    return 2;
  }
  std::string url = argv[1];
  int n = std::atoi(argv[2]);
  int settle = argc > 3 ? std::atoi(argv[3]) : 5;
  int window = argc > 4 ? std::atoi(argv[4]) : 10;
  int mountpoint = argc > 5 ? std::atoi(argv[5]) : 1;
  auto certificate = DtlsCertificate::generate();
  if (!certificate)
    return 1;
  g_certificate = certificate.value();
  std::vector<std::unique_ptr<Viewer>> viewers;
  for (int i = 0; i < n; ++i) {
    if (auto v = janus ? joinJanus(url, mountpoint) : join(url))
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
