// What a connected viewer costs the egress engine in heap memory: N real
// viewers, each on its own UDP socket, send a nominating ICE check, complete
// the DTLS handshake with OpenSSL and receive SRTP for a video and an audio
// SSRC. The heap in use (mallinfo2: every arena, mmapped chunks included) is
// read before and after; each test client's own OpenSSL session is freed
// before the next one starts, so the growth is the engine's.

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdio>
#include <string>
#include <vector>

#include "media/egress/engine.h"
#include "media/egress/stun.h"
#include "tests/media/egress_dtls_client.h"
#include "tests/media/egress_viewer_socket.h"
#include "tests/support/jobcastd.h"  // eventually()

namespace jobcast::media::egress {
namespace {

using namespace std::chrono_literals;

constexpr char kPwd[] = "memory-pwd-0123456789abcdef";

size_t heapInUse() {
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// Joins one viewer: check, handshake, one video and one audio packet
// received. Returns the engine's id; the client is gone when it returns.
uint64_t join(EgressEngine& engine, ViewerSocket& socket, int index) {
  DtlsClient client;
  std::string ufrag = "mem" + std::to_string(index);
  uint64_t id = engine.addViewer({ufrag, kPwd, client.fingerprint()});
  stun::TransactionId transaction{};
  transaction[0] = static_cast<uint8_t>(index);
  transaction[1] = static_cast<uint8_t>(index >> 8);
  socket.sendTo(engine.port(), stun::bindingRequest(transaction, ufrag + ":view", kPwd, true));
  EXPECT_FALSE(socket.receive().empty()) << "check " << index << " not answered";
  EXPECT_TRUE(socket.handshake(engine.port(), client)) << "viewer " << index << ": no DTLS";
  EXPECT_TRUE(test::eventually(
      [&] { return engine.state(id) == EgressEngine::ViewerState::Connected; }, 5s))
      << engine.failure(id);
  // Two SSRCs, as a viewer of video and audio gets them.
  for (uint8_t ssrc : {1, 2}) {
    std::vector<uint8_t> rtp(1200, 0x55);
    const uint8_t header[12] = {0x80, 102, 0, 1, 0, 0, 0, 9, 0, 0, 0, ssrc};
    std::copy(header, header + 12, rtp.begin());
    engine.send(id, std::move(rtp));
    EXPECT_GT(socket.receive().size(), 1200u) << "viewer " << index << ": no SRTP";
  }
  return id;
}

TEST(EgressMemory, AConnectedViewerCostsTheServerAtMost64KB) {
  constexpr int kViewers = 100;
  constexpr size_t kLimit = 64 * 1024;
  auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate);
  auto engine = EgressEngine::start({"127.0.0.1", 0}, certificate.value());
  ASSERT_TRUE(engine) << engine.error().message;
  std::vector<std::unique_ptr<ViewerSocket>> sockets;
  for (int i = 0; i < kViewers + 2; ++i)
    sockets.push_back(std::make_unique<ViewerSocket>());
  // Two viewers first, removed again: what OpenSSL and libsrtp allocate once
  // per process (tables, error strings) is not a viewer's.
  for (int i = 0; i < 2; ++i)
    engine.value()->removeViewer(join(*engine.value(), *sockets[kViewers + i], 10000 + i));

  std::vector<uint64_t> ids;
  ids.reserve(kViewers);
  size_t before = heapInUse();
  for (int i = 0; i < kViewers; ++i)
    ids.push_back(join(*engine.value(), *sockets[i], i));
  size_t after = heapInUse();
  size_t per_viewer = after > before ? (after - before) / kViewers : 0;
  std::printf("heap per connected viewer: %zu bytes (%d viewers)\n", per_viewer, kViewers);
  EXPECT_LE(per_viewer, kLimit);
  for (uint64_t id : ids)
    EXPECT_EQ(engine.value()->state(id), EgressEngine::ViewerState::Connected);
}

}  // namespace
}  // namespace jobcast::media::egress
