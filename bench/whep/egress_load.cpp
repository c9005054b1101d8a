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
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "media/egress/dtls.h"
#include "tests/support/http_client.h"
#include "tests/support/light_viewer.h"

#include <nlohmann/json.hpp>

using namespace jobcast;
using jobcast::test::LightViewer;
using Clock = std::chrono::steady_clock;

namespace {

std::shared_ptr<media::egress::DtlsCertificate> g_certificate;

// Every viewer answers checks: a full ICE agent (Janus) checks us too.
std::unique_ptr<LightViewer> newViewer() {
  return std::make_unique<LightViewer>(*g_certificate,
                                       test::LightViewerOptions{.ufrag = "load",
                                                                .pwd = "loadloadloadloadloadload",
                                                                .nack = true,
                                                                .receive_buffer = 1 << 20,
                                                                .answer_checks = true});
}

std::unique_ptr<LightViewer> join(const std::string& url) {
  auto v = newViewer();
  std::string why;
  if (!v->joinWhep(url, &why)) {
    std::fprintf(stderr, "%s\n", why.c_str());
    return nullptr;
  }
  return v;
}

// Our answer to a Janus offer: every m-line accepted, recvonly, its first
// payload type only (no RTX, no header extensions), bundle on one socket
// whose host candidate is `address`:`port`.
std::string janusAnswer(const std::string& offer, const LightViewer& v, const std::string& address,
                        uint16_t port) {
  std::ostringstream s;
  s << "v=0\r\no=- 1 2 IN IP4 " << address << "\r\ns=-\r\nt=0 0\r\n"
    << "a=group:" << test::sdpAttribute(offer, "group") << "\r\n";
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
      << "a=mid:" << test::sdpAttribute(section, "mid") << "\r\na=recvonly\r\na=rtcp-mux\r\n"
      << "a=ice-ufrag:" << v.local().ufrag << "\r\na=ice-pwd:" << v.local().pwd << "\r\n"
      << "a=fingerprint:sha-256 " << g_certificate->fingerprint() << "\r\na=setup:active\r\n"
      << "a=rtpmap:" << pt << " " << test::sdpAttribute(section, "rtpmap:" + pt) << "\r\n";
    std::string fmtp = test::sdpAttribute(section, "fmtp:" + pt);
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
std::unique_ptr<LightViewer> joinJanus(const std::string& base, int mountpoint) {
  auto v = newViewer();
  static int counter = 0;
  ++counter;
  v->setLocalUfrag("ld" + std::to_string(counter));
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
  if (offer.empty()) {
    std::fprintf(stderr, "no offer from Janus\n");
    return nullptr;
  }
  if (!v->readServer(offer)) {
    std::fprintf(stderr, "no IPv4 candidate in Janus's offer\n");
    return nullptr;
  }
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr = v->server().sin_addr;
  bind(v->fd(), reinterpret_cast<sockaddr*>(&local), sizeof local);
  socklen_t length = sizeof local;
  getsockname(v->fd(), reinterpret_cast<sockaddr*>(&local), &length);
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
  auto certificate = media::egress::DtlsCertificate::generate();
  if (!certificate)
    return 1;
  g_certificate = certificate.value();
  std::vector<std::unique_ptr<LightViewer>> viewers;
  for (int i = 0; i < n; ++i) {
    if (auto v = janus ? joinJanus(url, mountpoint) : join(url))
      viewers.push_back(std::move(v));
    test::pumpLightViewers(viewers, 0);
  }
  auto deadline = Clock::now() + std::chrono::seconds(30);
  auto connected = [&] {
    return std::count_if(viewers.begin(), viewers.end(), [](auto& v) { return v->connected(); });
  };
  while (connected() < static_cast<long>(viewers.size()) && Clock::now() < deadline)
    test::pumpLightViewers(viewers, 50);
  std::printf("ready %ld\n", connected());
  std::fflush(stdout);
  auto next_check = Clock::now() + std::chrono::seconds(5);
  auto run_for = [&](int seconds) {
    auto end = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < end) {
      test::pumpLightViewers(viewers, 50);
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
    start.push_back(v->bytes());
  run_for(window);
  std::vector<double> kbps;
  for (size_t i = 0; i < viewers.size(); ++i)
    kbps.push_back(static_cast<double>(viewers[i]->bytes() - start[i]) * 8 / 1000 / window);
  std::sort(kbps.begin(), kbps.end());
  std::printf(
      "{\"viewers\": %zu, \"connected\": %ld, \"kbps_min\": %.0f, \"kbps_median\": %.0f, "
      "\"kbps_max\": %.0f}\n",
      viewers.size(), connected(), kbps.empty() ? 0 : kbps.front(),
      kbps.empty() ? 0 : kbps[kbps.size() / 2], kbps.empty() ? 0 : kbps.back());
  return 0;
}
