// 1,000 WHEP viewers join and leave through the egress engine (whep.engine:
// udp) behind the real WHEP endpoint and HTTP server: each one POSTs its
// offer, sends a nominating ICE check, completes the DTLS handshake and
// receives SRTP; four in five then leave with a DELETE, the fifth vanishes
// (its socket closed, no DELETE) and is found by the consent timeout.
// Viewers go in batches of 50 at once. Afterwards the file descriptors
// (/proc/self/fd), the threads (/proc/self/task) and the sessions are back
// at their baseline and the heap has grown by a bounded amount.
//
// The control loop runs on the test's main thread; the viewers (blocking
// HTTP, their sockets and DTLS) on a thread of their own.

#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/jwt.h"
#include "core/log.h"
#include "core/metrics.h"
#include "media/egress/dtls.h"
#include "media/egress/packet_kind.h"
#include "media/egress/stun.h"
#include "media/egress/udp_viewers.h"
#include "media/programme_feed.h"
#include "media/whep_egress.h"
#include "signaling/http_server.h"
#include "signaling/whep.h"
#include "tests/media/test_programme.h"
#include "tests/support/http_client.h"

namespace jobcast::media::egress {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int entries(const char* dir) {
  int n = 0;
  if (DIR* d = opendir(dir)) {
    while (dirent* e = readdir(d))
      n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

size_t heapInUse() {
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

std::string attribute(const std::string& sdp, const std::string& name) {
  auto at = sdp.find("a=" + name + ":");
  if (at == std::string::npos)
    return {};
  at += name.size() + 3;
  return sdp.substr(at, sdp.find_first_of("\r\n", at) - at);
}

std::string offerSdp(const std::string& fingerprint) {
  std::ostringstream s;
  s << "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
    << "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\n"
    << "a=rtcp-mux\r\na=ice-ufrag:soak\r\na=ice-pwd:soaksoaksoaksoaksoaksoak\r\n"
    << "a=fingerprint:sha-256 " << fingerprint << "\r\na=setup:active\r\n"
    << "a=rtpmap:102 H264/90000\r\n"
    << "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n"
    << "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\n"
    << "a=rtcp-mux\r\na=ice-ufrag:soak\r\na=ice-pwd:soaksoaksoaksoaksoaksoak\r\n"
    << "a=fingerprint:sha-256 " << fingerprint << "\r\na=setup:active\r\n"
    << "a=rtpmap:111 opus/48000/2\r\n";
  return s.str();
}

// One light viewer: a UDP socket, an OpenSSL DTLS client on memory BIOs.
struct Viewer {
  int fd = -1;
  sockaddr_in server{};
  std::string ufrag, pwd, location;
  SSL* ssl = nullptr;
  BIO* in = nullptr;
  BIO* out = nullptr;
  bool connected = false;
  uint64_t srtp_packets = 0;

  ~Viewer() {
    if (ssl)
      SSL_free(ssl);
    if (fd >= 0)
      close(fd);
  }
  void send(const uint8_t* data, size_t size) {
    sendto(fd, data, size, 0, reinterpret_cast<sockaddr*>(&server), sizeof server);
  }
  void step() {
    if (!connected)
      connected = SSL_do_handshake(ssl) == 1;
    int pending = BIO_ctrl_pending(out);
    if (pending > 0) {
      std::vector<uint8_t> datagram(static_cast<size_t>(pending));
      datagram.resize(static_cast<size_t>(BIO_read(out, datagram.data(), pending)));
      send(datagram.data(), datagram.size());
    }
  }
  void receiveAll() {
    uint8_t data[2048];
    while (true) {
      ssize_t size = recv(fd, data, sizeof data, MSG_DONTWAIT);
      if (size <= 0)
        return;
      switch (classify(data, static_cast<size_t>(size))) {
        case PacketKind::Stun:
          if (!connected)
            step();
          break;
        case PacketKind::Dtls:
          BIO_write(in, data, static_cast<int>(size));
          step();
          break;
        case PacketKind::Rtp:
          srtp_packets += connected;
          break;
        case PacketKind::Unknown:
          break;
      }
    }
  }
};

// POSTs an offer and sends the first check; null (and a test failure) if
// the server refuses.
std::unique_ptr<Viewer> join(const std::string& base, const DtlsCertificate& certificate) {
  auto v = std::make_unique<Viewer>();
  test::HttpRequest post{
      .method = "POST", .url = base + "/whep/r1", .body = offerSdp(certificate.fingerprint())};
  post.headers = {{"Content-Type", "application/sdp"}};
  auto answered = test::http(post);
  EXPECT_EQ(answered.status, 201) << answered.body;
  if (answered.status != 201)
    return nullptr;
  v->location = answered.header("location");
  v->ufrag = attribute(answered.body, "ice-ufrag");
  v->pwd = attribute(answered.body, "ice-pwd");
  std::istringstream candidate(attribute(answered.body, "candidate"));
  std::string foundation, component, transport, priority, address;
  int port = 0;
  candidate >> foundation >> component >> transport >> priority >> address >> port;
  v->server.sin_family = AF_INET;
  v->server.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address.c_str(), &v->server.sin_addr);
  v->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  v->ssl = SSL_new(certificate.context());
  v->in = BIO_new(BIO_s_mem());
  v->out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(v->in, -1);
  BIO_set_mem_eof_return(v->out, -1);
  SSL_set_bio(v->ssl, v->in, v->out);
  SSL_set_connect_state(v->ssl);
  SSL_set_mtu(v->ssl, 1200);
  stun::TransactionId id{};
  id[0] = static_cast<uint8_t>(v->fd);
  id[1] = static_cast<uint8_t>(v->fd >> 8);
  auto check = stun::bindingRequest(id, v->ufrag + ":soak", v->pwd, true);
  v->send(check.data(), check.size());
  return v;
}

// Pumps a batch until every viewer has its DTLS up and SRTP arriving.
bool watch(std::vector<std::unique_ptr<Viewer>>& batch, std::chrono::seconds limit) {
  auto deadline = Clock::now() + limit;
  std::vector<pollfd> fds;
  for (auto& v : batch)
    fds.push_back({v->fd, POLLIN, 0});
  while (Clock::now() < deadline) {
    bool all = true;
    for (auto& v : batch)
      all = all && v->connected && v->srtp_packets > 0;
    if (all)
      return true;
    poll(fds.data(), fds.size(), 50);
    for (auto& v : batch) {
      v->receiveAll();
      if (!v->connected && DTLSv1_handle_timeout(v->ssl) > 0)
        v->step();
    }
  }
  return false;
}

TEST(EgressSoak, AThousandViewersJoinAndLeaveLeavingFdsThreadsAndMemoryAtBaseline) {
  constexpr int kCycles = 1000;
  constexpr int kBatch = 50;
  constexpr int kWarmUp = 2 * kBatch;
  log::configure(log::Level::Warn, log::Format::Text);
  Loop loop;
  Metrics metrics;
  http::Router router;
  Jwt jwt("soak-secret-not-used-for-anything");
  test::TestProgramme programme({.width = 320, .height = 180, .bitrate_kbps = 300});
  ProgrammeFeed feed("r1");
  feed.attach(programme.pipeline(), programme.videoPad(), programme.audioPad());
  // Consent is refreshed only by authenticated traffic (a check or SRTCP);
  // these viewers send one check, so the timeout must outlast a batch's
  // handshakes and DELETEs on a loaded machine.
  auto udp = UdpViewers::start({"127.0.0.1", 0, "127.0.0.1", 8s});
  ASSERT_TRUE(udp) << udp.error().message;
  WhepEgress::Options options;
  options.max_viewers = kCycles;  // vanished viewers wait out their consent
  options.engine = udp.value();
  WhepEgress egress(loop, options);
  egress.setFeed("r1", "", &feed);
  http::WhepEndpoint endpoint(router, egress, jwt, nullptr, metrics, {});
  http::HttpServer::Options http_options;
  http_options.http = {"127.0.0.1", 0};
  http_options.https = {"", -1};
  http_options.max_connections_per_ip = 0;
  http_options.session_rate = {.per_second = 1e6, .burst = 1e6};
  http::HttpServer server(loop, metrics, router, http_options);
  ASSERT_TRUE(server.start());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.httpPort());
  auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate);

  // The session count, read on the control thread for the viewers' thread.
  std::atomic<size_t> sessions{0};
  Timer count;
  count.start(loop, 50ms, [&] {
    sessions = egress.viewers();
    return true;
  });
  auto settled = [&](std::chrono::seconds limit) {
    auto deadline = Clock::now() + limit;
    while (sessions != 0 && Clock::now() < deadline)
      std::this_thread::sleep_for(50ms);
    return sessions == 0;
  };

  int fds_before = 0, threads_before = 0, fds_after = 0, threads_after = 0;
  size_t heap_before = 0, heap_after = 0;
  int watched = 0, deleted = 0, vanished = 0;
  std::thread viewers([&] {
    auto cycle = [&](int count) {
      for (int done = 0; done < count; done += kBatch) {
        std::vector<std::unique_ptr<Viewer>> batch;
        for (int i = 0; i < kBatch; ++i) {
          if (auto v = join(base, *certificate.value()))
            batch.push_back(std::move(v));
        }
        EXPECT_TRUE(watch(batch, 20s)) << "a viewer of the batch did not get its DTLS and SRTP";
        for (size_t i = 0; i < batch.size(); ++i) {
          watched += batch[i]->connected && batch[i]->srtp_packets > 0;
          if (i % 5 == 4) {
            ++vanished;  // its socket closes below, without a DELETE
            continue;
          }
          const std::string& location = batch[i]->location;
          auto gone =
              test::http({.method = "DELETE",
                          .url = location.rfind("http", 0) == 0 ? location : base + location});
          EXPECT_EQ(gone.status, 204) << gone.body;
          deleted += gone.status == 204;
        }
      }
    };
    // The first rounds settle what is made once (the packetizer, OpenSSL
    // tables, curl, malloc arenas).
    cycle(kWarmUp);
    EXPECT_TRUE(settled(30s)) << sessions << " sessions left after the warm-up";
    malloc_trim(0);
    fds_before = entries("/proc/self/fd");
    threads_before = entries("/proc/self/task");
    heap_before = heapInUse();
    watched = deleted = vanished = 0;
    cycle(kCycles);
    // The vanished ones of the last batch go when their consent runs out.
    EXPECT_TRUE(settled(30s)) << sessions << " sessions left";
    malloc_trim(0);
    fds_after = entries("/proc/self/fd");
    threads_after = entries("/proc/self/task");
    heap_after = heapInUse();
    loop.post([&] { loop.quit(); });
  });
  loop.run();
  viewers.join();
  count.cancel();

  EXPECT_EQ(watched, kCycles);
  EXPECT_EQ(deleted, kCycles * 4 / 5);
  EXPECT_EQ(vanished, kCycles / 5);
  EXPECT_EQ(fds_after, fds_before);
  EXPECT_EQ(threads_after, threads_before);
  // Bounded: what a cycle left behind would be 1,000 times that; a few
  // hundred KB is the allocator's and GStreamer's pools moving.
  long growth = static_cast<long>(heap_after) - static_cast<long>(heap_before);
  std::printf("%d cycles: heap %+ld bytes, fds %d -> %d, threads %d -> %d\n", kCycles, growth,
              fds_before, fds_after, threads_before, threads_after);
  EXPECT_LT(growth, 1L << 20);
}

}  // namespace
}  // namespace jobcast::media::egress
