#include "tests/support/light_viewer.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>
#include <sstream>

#include "media/egress/packet_kind.h"
#include "media/egress/stun.h"
#include "tests/support/http_client.h"

namespace jobcast::test {

namespace stun = media::egress::stun;
using media::egress::PacketKind;

std::string sdpAttribute(const std::string& sdp, const std::string& name) {
  auto at = sdp.find("a=" + name + ":");
  if (at == std::string::npos)
    return {};
  at += name.size() + 3;
  return sdp.substr(at, sdp.find_first_of("\r\n", at) - at);
}

LightViewer::LightViewer(const media::egress::DtlsCertificate& certificate,
                         LightViewerOptions options)
    : certificate_(certificate), options_(std::move(options)) {
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (options_.receive_buffer > 0)
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &options_.receive_buffer,
               sizeof options_.receive_buffer);
  ssl_ = SSL_new(certificate_.context());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_connect_state(ssl_);
  SSL_set_mtu(ssl_, 1200);
}

LightViewer::~LightViewer() {
  if (ssl_)
    SSL_free(ssl_);
  if (fd_ >= 0)
    close(fd_);
}

std::string LightViewer::offer() const {
  const std::string& fingerprint = certificate_.fingerprint();
  std::ostringstream s;
  s << "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
    << "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\n"
    << "a=rtcp-mux\r\na=ice-ufrag:" << options_.ufrag << "\r\na=ice-pwd:" << options_.pwd << "\r\n"
    << "a=fingerprint:sha-256 " << fingerprint << "\r\na=setup:active\r\n"
    << "a=rtpmap:102 H264/90000\r\n"
    << "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n";
  if (options_.nack)
    s << "a=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n";
  s << "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\n"
    << "a=rtcp-mux\r\na=ice-ufrag:" << options_.ufrag << "\r\na=ice-pwd:" << options_.pwd << "\r\n"
    << "a=fingerprint:sha-256 " << fingerprint << "\r\na=setup:active\r\n"
    << "a=rtpmap:111 opus/48000/2\r\n";
  return s.str();
}

bool LightViewer::readServer(const std::string& sdp) {
  server_ufrag_ = sdpAttribute(sdp, "ice-ufrag");
  server_pwd_ = sdpAttribute(sdp, "ice-pwd");
  for (size_t at = sdp.find("a=candidate:"); at != std::string::npos;
       at = sdp.find("a=candidate:", at + 1)) {
    // "a=candidate:1 1 udp PRIORITY ADDRESS PORT typ host"
    std::istringstream candidate(sdp.substr(at + 12, sdp.find_first_of("\r\n", at) - at - 12));
    std::string foundation, component, transport, priority, address;
    int port = 0;
    candidate >> foundation >> component >> transport >> priority >> address >> port;
    server_.sin_family = AF_INET;
    server_.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, address.c_str(), &server_.sin_addr) == 1)
      return true;
  }
  return false;
}

bool LightViewer::joinWhep(const std::string& url, std::string* why) {
  HttpRequest post{.method = "POST", .url = url, .body = offer()};
  post.headers = {{"Content-Type", "application/sdp"}};
  auto answered = http(post);
  if (answered.status != 201) {
    *why = "status " + std::to_string(answered.status) + ": " + answered.body + answered.error;
    return false;
  }
  location_ = answered.header("location");
  if (!readServer(answered.body)) {
    *why = "no IPv4 candidate in the server's SDP";
    return false;
  }
  check();
  return true;
}

void LightViewer::send(const uint8_t* data, size_t size) {
  sendto(fd_, data, size, 0, reinterpret_cast<sockaddr*>(&server_), sizeof server_);
}

void LightViewer::check() {
  stun::TransactionId id{};
  id[0] = ++seed_;
  id[1] = static_cast<uint8_t>(fd_);
  auto request = stun::bindingRequest(id, server_ufrag_ + ":" + options_.ufrag, server_pwd_, true);
  send(request.data(), request.size());
}

void LightViewer::step() {
  if (!connected_) {
    connected_ = SSL_do_handshake(ssl_) == 1;
    if (connected_ && options_.decrypt) {
      // We are the client: what the server protected is under its keys.
      auto keys = media::egress::exportSrtpKeys(ssl_, false);
      if (keys) {
        auto session = media::egress::SrtpSession::create(
            keys->profile, media::egress::SrtpSession::Direction::Inbound, keys->remote);
        if (session)
          srtp_ = std::move(session).value();
      }
    }
  }
  int pending = BIO_ctrl_pending(out_);
  if (pending > 0) {
    std::vector<uint8_t> datagram(static_cast<size_t>(pending));
    datagram.resize(static_cast<size_t>(BIO_read(out_, datagram.data(), pending)));
    send(datagram.data(), datagram.size());
  }
}

void LightViewer::receiveAll() {
  uint8_t data[2048];
  while (true) {
    sockaddr_storage from{};
    socklen_t from_length = sizeof from;
    ssize_t size =
        recvfrom(fd_, data, sizeof data, 0, reinterpret_cast<sockaddr*>(&from), &from_length);
    if (size <= 0)
      return;
    switch (media::egress::classify(data, static_cast<size_t>(size))) {
      case PacketKind::Stun:
        if (options_.answer_checks) {
          auto message = stun::parse(data, static_cast<size_t>(size));
          if (message && message->type == stun::kBindingRequest) {
            auto reply = stun::bindingSuccess(message->transaction, from, options_.pwd);
            sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(&from),
                   sizeof(sockaddr_in));
          }
        }
        if (!connected_)
          step();  // answered: start (or continue) the handshake
        break;
      case PacketKind::Dtls:
        BIO_write(in_, data, static_cast<int>(size));
        step();
        break;
      case PacketKind::Rtp:
        if (connected_) {
          ++packets_;
          bytes_ += static_cast<uint64_t>(size);
          if (options_.decrypt)
            decrypt(data, static_cast<size_t>(size));
        }
        break;
      case PacketKind::Unknown:
        break;
    }
  }
}

void LightViewer::decrypt(uint8_t* data, size_t size) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t arrived = int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
  if (!srtp_) {
    ++undecryptable_;
    return;
  }
  if (media::egress::rtcp::isRtcp(data, size)) {
    if (!srtp_->unprotectRtcp(data, &size)) {
      ++undecryptable_;
      return;
    }
    if (auto feedback = media::egress::rtcp::parse(data, size)) {
      for (const auto& sender : feedback->senders)
        reports_.push_back({sender, arrived});
    }
    return;
  }
  if (!srtp_->unprotectRtp(data, &size) || size < 12) {
    ++undecryptable_;
    return;
  }
  if (rtp_.size() >= 20000)
    rtp_.erase(rtp_.begin(), rtp_.begin() + 10000);
  rtp_.push_back(
      {(uint32_t{data[8]} << 24) | (uint32_t{data[9]} << 16) | (uint32_t{data[10]} << 8) | data[11],
       (uint32_t{data[4]} << 24) | (uint32_t{data[5]} << 16) | (uint32_t{data[6]} << 8) | data[7],
       static_cast<uint16_t>((data[2] << 8) | data[3]), static_cast<uint8_t>(data[1] & 0x7f),
       arrived});
}

void LightViewer::retransmit() {
  if (!connected_ && DTLSv1_handle_timeout(ssl_) > 0)
    step();
}

void pumpLightViewers(std::vector<std::unique_ptr<LightViewer>>& viewers, int timeout_ms) {
  std::vector<pollfd> fds;
  for (auto& v : viewers)
    fds.push_back({v->fd(), POLLIN, 0});
  if (poll(fds.data(), fds.size(), timeout_ms) > 0) {
    for (size_t i = 0; i < viewers.size(); ++i) {
      if (fds[i].revents & POLLIN)
        viewers[i]->receiveAll();
    }
  }
  for (auto& v : viewers)
    v->retransmit();
}

}  // namespace jobcast::test
