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

#include <dirent.h>
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/jwt.h"
#include "core/log.h"
#include "core/metrics.h"
#include "media/egress/dtls.h"
#include "media/egress/udp_viewers.h"
#include "media/programme_feed.h"
#include "media/whep_egress.h"
#include "signaling/http_server.h"
#include "signaling/whep.h"
#include "tests/media/test_programme.h"
#include "tests/support/http_client.h"
#include "tests/support/light_viewer.h"
#include "tests/support/loopback_http.h"

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

// What the process holds: file descriptors, threads, and the heap in use
// (every arena, mmapped chunks included) after free memory went back.
struct Usage {
  int fds = 0;
  int threads = 0;
  size_t heap = 0;
};

Usage usage() {
  malloc_trim(0);
  struct mallinfo2 info = mallinfo2();
  return {entries("/proc/self/fd"), entries("/proc/self/task"), info.uordblks + info.hblkhd};
}

// A viewer that POSTed its offer and sent the first check; null (and a
// test failure) if the server refuses.
std::unique_ptr<test::LightViewer> join(const std::string& base,
                                        const DtlsCertificate& certificate) {
  auto v = std::make_unique<test::LightViewer>(
      certificate, test::LightViewerOptions{.ufrag = "soak", .pwd = "soaksoaksoaksoaksoaksoak"});
  std::string why;
  bool joined = v->joinWhep(base + "/whep/r1", &why);
  EXPECT_TRUE(joined) << why;
  return joined ? std::move(v) : nullptr;
}

// Pumps a batch until every viewer has its DTLS up and SRTP arriving.
bool watch(std::vector<std::unique_ptr<test::LightViewer>>& batch, std::chrono::seconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    bool all = true;
    for (auto& v : batch)
      all = all && v->connected() && v->packets() > 0;
    if (all)
      return true;
    test::pumpLightViewers(batch, 50);
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
  auto udp = UdpViewers::start({"127.0.0.1", 0, {"127.0.0.1"}, 8s});
  ASSERT_TRUE(udp) << udp.error().message;
  WhepEgress::Options options;
  options.max_viewers = kCycles;  // vanished viewers wait out their consent
  options.engine = udp.value();
  WhepEgress egress(loop, options);
  egress.setFeed("r1", "", &feed);
  http::WhepEndpoint endpoint(router, egress, jwt, nullptr, metrics, {});
  http::HttpServer server(loop, metrics, router, test::loopbackHttpOptions());
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

  Usage before, after;
  int watched = 0, deleted = 0, vanished = 0;
  std::thread viewers([&] {
    auto cycle = [&](int count) {
      for (int done = 0; done < count; done += kBatch) {
        std::vector<std::unique_ptr<test::LightViewer>> batch;
        for (int i = 0; i < kBatch; ++i) {
          if (auto v = join(base, *certificate.value()))
            batch.push_back(std::move(v));
        }
        EXPECT_TRUE(watch(batch, 20s)) << "a viewer of the batch did not get its DTLS and SRTP";
        for (size_t i = 0; i < batch.size(); ++i) {
          watched += batch[i]->connected() && batch[i]->packets() > 0;
          if (i % 5 == 4) {
            ++vanished;  // its socket closes below, without a DELETE
            continue;
          }
          const std::string& location = batch[i]->location();
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
    before = usage();
    watched = deleted = vanished = 0;
    cycle(kCycles);
    // The vanished ones of the last batch go when their consent runs out.
    EXPECT_TRUE(settled(30s)) << sessions << " sessions left";
    after = usage();
    loop.post([&] { loop.quit(); });
  });
  loop.run();
  viewers.join();
  count.cancel();

  EXPECT_EQ(watched, kCycles);
  EXPECT_EQ(deleted, kCycles * 4 / 5);
  EXPECT_EQ(vanished, kCycles / 5);
  EXPECT_EQ(after.fds, before.fds);
  EXPECT_EQ(after.threads, before.threads);
  // Bounded: what a cycle left behind would be 1,000 times that; a few
  // hundred KB is the allocator's and GStreamer's pools moving.
  long growth = static_cast<long>(after.heap) - static_cast<long>(before.heap);
  std::printf("%d cycles: heap %+ld bytes, fds %d -> %d, threads %d -> %d\n", kCycles, growth,
              before.fds, after.fds, before.threads, after.threads);
  EXPECT_LT(growth, 1L << 20);
}

}  // namespace
}  // namespace jobcast::media::egress
