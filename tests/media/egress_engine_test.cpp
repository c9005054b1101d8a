// The egress engine on a real UDP socket against a real peer: a test viewer
// on its own socket sends ICE checks, completes DTLS with OpenSSL and opens
// the SRTP the engine sends; bad checks are refused, a silent viewer loses
// consent.

#include "media/egress/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "media/egress/packet_kind.h"
#include "media/egress/srtp.h"
#include "media/egress/stun.h"
#include "tests/media/egress_dtls_client.h"
#include "tests/media/egress_viewer_socket.h"
#include "tests/support/jobcastd.h"  // eventually()

namespace jobcast::media::egress {
namespace {

using namespace std::chrono_literals;

const char kUfrag[] = "eng1";
const char kPwd[] = "engine-pwd-0123456789abcdef";

stun::TransactionId transaction(uint8_t seed) {
  stun::TransactionId id{};
  for (size_t i = 0; i < id.size(); ++i)
    id[i] = static_cast<uint8_t>(seed + i);
  return id;
}

struct Started {
  std::unique_ptr<EgressEngine> engine;
  uint64_t viewer = 0;
};

Started startEngine(const DtlsClient& client, std::chrono::milliseconds consent = 30s) {
  auto certificate = DtlsCertificate::generate();
  EXPECT_TRUE(certificate);
  auto engine = EgressEngine::start({"127.0.0.1", 0, consent}, certificate.value());
  EXPECT_TRUE(engine) << engine.error().message;
  Started out;
  out.engine = std::move(engine).value();
  out.viewer = out.engine->addViewer({kUfrag, kPwd, client.fingerprint()});
  return out;
}

// One nominating check, answered; returns the response.
std::vector<uint8_t> check(ViewerSocket& socket, uint16_t port, uint8_t seed,
                           const char* password = kPwd) {
  socket.sendTo(
      port, stun::bindingRequest(transaction(seed), std::string(kUfrag) + ":view", password, true));
  return password == kPwd ? socket.receive() : std::vector<uint8_t>{};
}

// The engine calls a viewer connected just after its final flight is out,
// which the client may read first.
bool becomesConnected(const EgressEngine& engine, uint64_t id) {
  return test::eventually([&] { return engine.state(id) == EgressEngine::ViewerState::Connected; },
                          5s);
}

// The DTLS handshake after the check; fails the test when it does not complete.
void handshake(ViewerSocket& socket, uint16_t port, DtlsClient& client) {
  ASSERT_TRUE(socket.handshake(port, client)) << "no DTLS from the engine";
}

TEST(EgressEngine, AnswersChecksCompletesDtlsAndSendsSrtpTheViewerOpens) {
  DtlsClient client;
  auto [engine, id] = startEngine(client);
  ViewerSocket socket;
  EXPECT_EQ(engine->state(id), EgressEngine::ViewerState::Checking);

  // A check keyed with the wrong password is refused without an answer;
  // the good one after it is answered with our address as the engine saw it.
  check(socket, engine->port(), 1, "not-the-password");
  auto response = check(socket, engine->port(), 2);
  auto parsed = stun::parse(response.data(), response.size());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->type, stun::kBindingSuccess);
  EXPECT_EQ(parsed->transaction, transaction(2));
  EXPECT_TRUE(stun::checkIntegrity(response.data(), response.size(), kPwd));
  ASSERT_TRUE(parsed->xor_mapped);
  const auto* mapped = reinterpret_cast<const sockaddr_in*>(&*parsed->xor_mapped);
  EXPECT_EQ(mapped->sin_port, socket.address().sin_port);
  EXPECT_EQ(mapped->sin_addr.s_addr, socket.address().sin_addr.s_addr);
  EXPECT_EQ(engine->stats().checks_rejected, 1u);
  EXPECT_EQ(engine->stats().checks_answered, 1u);

  handshake(socket, engine->port(), client);
  ASSERT_TRUE(becomesConnected(*engine, id)) << engine->failure(id);

  auto material = client.material(2 * (16 + 12));  // GCM, the engine's first choice
  auto receiver = SrtpSession::create(SrtpProfile::AeadAes128Gcm, SrtpSession::Direction::Inbound,
                                      keyAndSalt(material, 16, 44, 12));
  ASSERT_TRUE(receiver) << receiver.error().message;
  for (uint16_t seq = 1; seq <= 3; ++seq) {
    std::vector<uint8_t> rtp = {
        0x80, 102, 0, static_cast<uint8_t>(seq), 0, 0, 0, 9, 0, 0, 0, 42, 'f', 'r', 'a', 'm', 'e'};
    engine->send(id, rtp);
  }
  for (uint16_t seq = 1; seq <= 3; ++seq) {
    auto datagram = socket.receive();
    ASSERT_FALSE(datagram.empty()) << "packet " << seq << " never arrived";
    size_t size = datagram.size();
    ASSERT_TRUE(receiver.value()->unprotectRtp(datagram.data(), &size));
    ASSERT_EQ(size, 17u);
    EXPECT_EQ(datagram[3], seq);
    EXPECT_EQ(std::memcmp(datagram.data() + 12, "frame", 5), 0);
  }
  EXPECT_GE(engine->stats().packets_sent, 3u);

  engine->removeViewer(id);
  EXPECT_EQ(engine->state(id), EgressEngine::ViewerState::Gone);
}

TEST(EgressEngine, AViewerThatStopsCheckingLosesConsent) {
  DtlsClient client;
  auto [engine, id] = startEngine(client, 300ms);
  ViewerSocket socket;
  ASSERT_FALSE(check(socket, engine->port(), 7).empty());
  handshake(socket, engine->port(), client);
  ASSERT_TRUE(becomesConnected(*engine, id)) << engine->failure(id);
  // No more checks: consent runs out and the viewer is gone.
  EXPECT_TRUE(
      test::eventually([&] { return engine->state(id) == EgressEngine::ViewerState::Gone; }, 5s));
  EXPECT_EQ(engine->failure(id), "consent_expired");
}

TEST(EgressEngine, DtlsFromAnAddressNoCheckNominatedIsIgnored) {
  DtlsClient client;
  auto [engine, id] = startEngine(client);
  ViewerSocket socket;
  for (const auto& datagram : client.step())
    socket.sendTo(engine->port(), datagram);
  // The check that follows is answered; the DTLS before it was dropped, so
  // the engine is still waiting for a handshake.
  ASSERT_FALSE(check(socket, engine->port(), 9).empty());
  EXPECT_EQ(engine->state(id), EgressEngine::ViewerState::Handshaking);
}

size_t countEntries(const char* dir) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    (void)entry;
    ++n;
  }
  return n;
}

// Viewers connected to `engine`: checked, through DTLS, each with the SRTP
// receiver for what the engine sends it.
struct Peer {
  DtlsClient client;
  ViewerSocket socket;
  uint64_t id = 0;
  std::unique_ptr<SrtpSession> receiver;
};

std::vector<std::unique_ptr<Peer>> connectPeers(EgressEngine& engine, int count,
                                                const std::string& prefix, uint8_t seed) {
  std::vector<std::unique_ptr<Peer>> peers;
  for (int i = 0; i < count; ++i) {
    auto peer = std::make_unique<Peer>();
    std::string ufrag = prefix + std::to_string(i);
    peer->id = engine.addViewer({ufrag, kPwd, peer->client.fingerprint()});
    peer->socket.sendTo(engine.port(),
                        stun::bindingRequest(transaction(static_cast<uint8_t>(seed + i)),
                                             ufrag + ":view", kPwd, true));
    EXPECT_FALSE(peer->socket.receive().empty());
    handshake(peer->socket, engine.port(), peer->client);
    EXPECT_TRUE(becomesConnected(engine, peer->id)) << engine.failure(peer->id);
    auto material = peer->client.material(2 * (16 + 12));
    auto receiver = SrtpSession::create(SrtpProfile::AeadAes128Gcm, SrtpSession::Direction::Inbound,
                                        keyAndSalt(material, 16, 44, 12));
    if (!receiver) {
      ADD_FAILURE() << receiver.error().message;
      return {};
    }
    peer->receiver = std::move(receiver).value();
    peers.push_back(std::move(peer));
  }
  return peers;
}

// A viewer's own RTCP (what ViewerSpec::reports gives, the sender reports)
// goes out SRTCP-protected under its keys, first as soon as it is connected
// and has something to report, then every 0.5-1.5 s; nothing while it has
// nothing to report, nothing once it is removed.
TEST(EgressEngine, ReportsGoOutAsSrtcpAboutOnceASecond) {
  std::atomic<bool> ready{false};  // outlive the engine, whose thread reads them
  std::atomic<int> asked{0};
  DtlsClient client;
  auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate);
  auto started = EgressEngine::start({"127.0.0.1", 0}, certificate.value());
  ASSERT_TRUE(started) << started.error().message;
  auto engine = std::move(started).value();
  uint64_t id = engine->addViewer(
      {kUfrag, kPwd, client.fingerprint(), nullptr, [&](uint64_t) {
         ++asked;
         if (!ready)
           return std::vector<uint8_t>{};
         return rtcp::senderReports({{0x5eed, 0xe0000000'00000000ull, 1234, 7, 700}}, "cname");
       }});
  ViewerSocket socket;
  check(socket, engine->port(), 40);
  handshake(socket, engine->port(), client);
  ASSERT_TRUE(becomesConnected(*engine, id)) << engine->failure(id);
  auto material = client.material(2 * (16 + 12));
  auto receiver = SrtpSession::create(SrtpProfile::AeadAes128Gcm, SrtpSession::Direction::Inbound,
                                      keyAndSalt(material, 16, 44, 12));
  ASSERT_TRUE(receiver) << receiver.error().message;

  // Nothing to report yet: asked again at the engine's tick, nothing sent.
  ASSERT_TRUE(test::eventually([&] { return asked >= 3; }, 2s));
  EXPECT_EQ(engine->stats().reports_sent, 0u);
  ready = true;
  auto since = std::chrono::steady_clock::now();
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  while (std::chrono::steady_clock::now() - since < 4500ms) {
    auto datagram = socket.receive();
    ASSERT_FALSE(datagram.empty());
    ASSERT_TRUE(rtcp::isRtcp(datagram.data(), datagram.size()));
    size_t size = datagram.size();
    ASSERT_TRUE(receiver.value()->unprotectRtcp(datagram.data(), &size)) << "not under its keys";
    auto read = rtcp::parse(datagram.data(), size);
    ASSERT_TRUE(read);
    ASSERT_EQ(read->senders.size(), 1u);
    EXPECT_EQ(read->senders[0].ssrc, 0x5eedu);
    EXPECT_EQ(read->senders[0].rtp_timestamp, 1234u);
    arrivals.push_back(std::chrono::steady_clock::now());
  }
  // The first within a tick (100 ms) of being ready, then 0.5-1.5 s apart
  // (each sent at the first tick after it is due; the margins are for a
  // busy machine's scheduling, not for the engine).
  ASSERT_GE(arrivals.size(), 3u);
  EXPECT_LT(arrivals[0] - since, 500ms);
  for (size_t i = 1; i < arrivals.size(); ++i) {
    EXPECT_GE(arrivals[i] - arrivals[i - 1], 350ms);
    EXPECT_LE(arrivals[i] - arrivals[i - 1], 1800ms);
  }
  EXPECT_LE(arrivals.size(), 10u);
  EXPECT_EQ(engine->stats().reports_sent, arrivals.size());

  engine->removeViewer(id);
  int after = asked;
  std::this_thread::sleep_for(1600ms);
  EXPECT_EQ(asked, after) << "a removed viewer is not asked";
}

// The viewer has our final DTLS flight before any SRTP: it cannot open SRTP
// without the keys that flight confirms, so media sent the moment the
// engine calls the viewer connected must not overtake it (a new viewer's
// first keyframe would be lost and it would wait a GOP for the next).
TEST(EgressEngine, NoSrtpOvertakesTheFinalDtlsFlight) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    DtlsClient client;
    auto [engine, id] = startEngine(client);
    ViewerSocket socket;
    check(socket, engine->port(), static_cast<uint8_t>(100 + attempt));
    for (const auto& datagram : client.step())
      socket.sendTo(engine->port(), datagram);
    auto server_hello = socket.receive();  // the server's first flight
    ASSERT_FALSE(server_hello.empty());
    client.receive(server_hello);
    // The client's second flight; the engine answers it with its last.
    for (const auto& datagram : client.step())
      socket.sendTo(engine->port(), datagram);
    while (engine->state(id) == EgressEngine::ViewerState::Handshaking ||
           engine->state(id) == EgressEngine::ViewerState::Checking) {
    }
    ASSERT_EQ(engine->state(id), EgressEngine::ViewerState::Connected);
    engine->send(id, {0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 5, 'f', 'i', 'r', 's', 't'});
    auto next = socket.receive();
    ASSERT_FALSE(next.empty());
    ASSERT_EQ(classify(next.data(), next.size()), PacketKind::Dtls) << "attempt " << attempt;
    client.receive(next);
    EXPECT_TRUE(client.step().empty());
    EXPECT_TRUE(client.done());
    auto media = socket.receive();
    EXPECT_EQ(classify(media.data(), media.size()), PacketKind::Rtp);
  }
}

// Several sender threads, each with its share of the viewers: one shared
// packet reaches every viewer with that viewer's payload type, sequence
// number and SSRC written in, and the payload as it was.
TEST(EgressEngine, SenderThreadsShareOnePacketAmongViewersEachWithItsOwnHeader) {
  auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate);
  auto started =
      EgressEngine::start({.bind_address = "127.0.0.1", .send_threads = 3}, certificate.value());
  ASSERT_TRUE(started) << started.error().message;
  auto& engine = *started.value();
  constexpr int kViewers = 5;
  auto peers = connectPeers(engine, kViewers, "thr", 40);
  ASSERT_EQ(peers.size(), static_cast<size_t>(kViewers));
  auto packet = std::make_shared<const std::vector<uint8_t>>(std::vector<uint8_t>{
      0x80, 0x60, 0, 7, 0, 0, 0, 9, 0xaa, 0xbb, 0xcc, 0xdd, 's', 'h', 'a', 'r', 'e', 'd'});
  for (uint16_t round = 0; round < 3; ++round) {
    std::vector<EgressEngine::Send> sends;
    for (int i = 0; i < kViewers; ++i) {
      sends.push_back({peers[i]->id, packet, true, static_cast<uint8_t>(96 + i),
                       static_cast<uint16_t>(1000 * i + round), 0x1000u + i});
    }
    engine.send(std::move(sends));
  }
  for (int i = 0; i < kViewers; ++i) {
    for (uint16_t round = 0; round < 3; ++round) {
      auto datagram = peers[i]->socket.receive();
      ASSERT_FALSE(datagram.empty()) << "viewer " << i << " packet " << round;
      size_t size = datagram.size();
      ASSERT_TRUE(peers[i]->receiver->unprotectRtp(datagram.data(), &size));
      ASSERT_EQ(size, packet->size());
      EXPECT_EQ(datagram[1], 96 + i);  // marker bit clear, this viewer's payload type
      EXPECT_EQ((datagram[2] << 8) | datagram[3], 1000 * i + round);
      EXPECT_EQ(datagram[11], 0x00 + i);
      EXPECT_EQ(datagram[10], 0x10);
      EXPECT_EQ(std::memcmp(datagram.data() + 12, "shared", 6), 0);
    }
  }
  // The shared packet itself is untouched.
  EXPECT_EQ((*packet)[1], 0x60);
  EXPECT_EQ((*packet)[11], 0xdd);
  EXPECT_GE(engine.stats().packets_sent, static_cast<uint64_t>(3 * kViewers));
  EXPECT_EQ(engine.queued(), 0u);
}

// The packets of one frame to one viewer leave as one segmented send when
// GSO is on, and each viewer still receives them as the separate datagrams
// they were, in order, each opening on its own; with GSO off, one by one.
void frameReachesEachViewerAsItsDatagrams(bool gso) {
  auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate);
  auto started =
      EgressEngine::start({.bind_address = "127.0.0.1", .gso = gso}, certificate.value());
  ASSERT_TRUE(started) << started.error().message;
  auto& engine = *started.value();
  auto peers = connectPeers(engine, 2, gso ? "gso" : "one", gso ? 60 : 70);
  ASSERT_EQ(peers.size(), 2u);
  // Four full packets and a short last one, as a payloader cuts a frame.
  const size_t sizes[] = {1200, 1200, 1200, 1200, 311};
  std::vector<EgressEngine::Packet> frame;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    std::vector<uint8_t> rtp(sizes[i], static_cast<uint8_t>('a' + i));
    rtp[0] = 0x80;
    rtp[1] = i + 1 == std::size(sizes) ? 0xe0 : 0x60;  // the marker on the last
    frame.push_back(std::make_shared<const std::vector<uint8_t>>(std::move(rtp)));
  }
  uint64_t before = engine.stats().packets_sent;
  std::vector<EgressEngine::Send> sends;
  for (size_t v = 0; v < peers.size(); ++v) {
    for (size_t i = 0; i < frame.size(); ++i)
      sends.push_back({peers[v]->id, frame[i], true, 102, static_cast<uint16_t>(500 + i),
                       static_cast<uint32_t>(0x2000 + v)});
  }
  engine.send(std::move(sends));
  for (size_t v = 0; v < peers.size(); ++v) {
    for (size_t i = 0; i < frame.size(); ++i) {
      auto datagram = peers[v]->socket.receive();
      ASSERT_EQ(datagram.size(), sizes[i] + 16) << "viewer " << v << " packet " << i;
      size_t size = datagram.size();
      ASSERT_TRUE(peers[v]->receiver->unprotectRtp(datagram.data(), &size));
      EXPECT_EQ(size, sizes[i]);
      EXPECT_EQ((datagram[2] << 8) | datagram[3], 500 + static_cast<int>(i));
      EXPECT_EQ(datagram[11], 0x00 + v);
      EXPECT_EQ(datagram[size - 1], 'a' + i);
    }
  }
  // The counts follow the send the viewers have just read (and may still
  // take in the engine thread's last handshake flight).
  auto stats = engine.stats();
  for (int i = 0; i < 200 && stats.packets_sent - before < 10; ++i) {
    std::this_thread::sleep_for(5ms);
    stats = engine.stats();
  }
  EXPECT_GE(stats.packets_sent - before, 10u);
  EXPECT_EQ(stats.packets_segmented, gso ? 10u : 0u);
}

TEST(EgressEngine, AFramesPacketsGoInOneSegmentedSendAndArriveAsTheirDatagrams) {
  frameReachesEachViewerAsItsDatagrams(true);
}

TEST(EgressEngine, WithoutGsoAFramesPacketsArriveTheSame) {
  frameReachesEachViewerAsItsDatagrams(false);
}

TEST(EgressEngine, JoinAndLeaveCyclesLeaveFdsAndThreadsAtBaseline) {
  auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate);
  auto engine = EgressEngine::start({"127.0.0.1", 0}, certificate.value());
  ASSERT_TRUE(engine);
  ViewerSocket socket;
  size_t fds = countEntries("/proc/self/fd");
  size_t threads = countEntries("/proc/self/task");
  for (int i = 0; i < 200; ++i) {
    DtlsClient client;
    uint64_t id = engine.value()->addViewer({kUfrag, kPwd, client.fingerprint()});
    ASSERT_FALSE(check(socket, engine.value()->port(), static_cast<uint8_t>(i)).empty());
    handshake(socket, engine.value()->port(), client);
    ASSERT_TRUE(becomesConnected(*engine.value(), id));
    engine.value()->removeViewer(id);
  }
  EXPECT_EQ(countEntries("/proc/self/fd"), fds);
  EXPECT_EQ(countEntries("/proc/self/task"), threads);
}

}  // namespace
}  // namespace jobcast::media::egress
