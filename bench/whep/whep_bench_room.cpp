// One room's programme (live test pattern, 720p30 H.264 ~1.5 Mbps + Opus)
// served by the real WHEP endpoint on 127.0.0.1. Prints "port N" and runs
// until killed. Used by bench/whep/run.sh. JOBCAST_BENCH_ENGINE=udp serves
// the viewers through the egress engine instead of a webrtcbin each. Every
// second it also prints "heap N": the bytes malloc has handed out and not
// had back (mallinfo2, every arena), which RSS exceeds by what the
// allocator keeps after bursts.

#include <malloc.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "core/jwt.h"
#include "core/log.h"
#include "core/metrics.h"
#include "media/egress/udp_viewers.h"
#include "media/programme_feed.h"
#include "media/whep_egress.h"
#include "signaling/http_server.h"
#include "signaling/whep.h"
#include "tests/media/test_programme.h"
#include "tests/support/loopback_http.h"

using namespace jobcast;

namespace {
Loop* g_loop = nullptr;
}

int main(int argc, char** argv) {
  int max_viewers = argc > 1 ? std::atoi(argv[1]) : 500;
  log::configure(log::Level::Warn, log::Format::Text);
  Loop loop;
  g_loop = &loop;
  std::signal(SIGTERM, [](int) { g_loop->quit(); });
  std::signal(SIGINT, [](int) { g_loop->quit(); });
  Metrics metrics;
  http::Router router;
  Jwt jwt("bench-secret-not-used-for-anything");
  test::TestProgramme programme(
      {.width = 1280, .height = 720, .fps = 30, .bitrate_kbps = 1500, .colour = -1});
  media::ProgrammeFeed feed("bench");
  feed.attach(programme.pipeline(), programme.videoPad(), programme.audioPad());
  media::WhepEgress::Options options;
  options.max_viewers = max_viewers;
  options.session.local_addresses = {"127.0.0.1"};
  // JOBCAST_BENCH_ENGINE=udp: viewers through the egress engine.
  const char* engine = std::getenv("JOBCAST_BENCH_ENGINE");
  if (engine && std::string(engine) == "udp") {
    // JOBCAST_BENCH_SEND_THREADS: the engine's sender threads (default 1).
    const char* threads = std::getenv("JOBCAST_BENCH_SEND_THREADS");
    auto udp = media::egress::UdpViewers::start(
        {.bind_address = "127.0.0.1",
         .public_addresses = {"127.0.0.1"},
         .send_threads = threads ? std::max(1, std::atoi(threads)) : 1});
    if (!udp) {
      std::fprintf(stderr, "%s\n", udp.error().message.c_str());
      return 1;
    }
    options.engine = udp.value();
  }
  media::WhepEgress egress(loop, options);
  egress.setFeed("bench", "", &feed);
  http::WhepEndpoint endpoint(router, egress, jwt, nullptr, metrics, {});
  // Every viewer comes from 127.0.0.1: no per-address limits here.
  http::HttpServer server(loop, metrics, router, test::loopbackHttpOptions());
  if (!server.start()) {
    std::fprintf(stderr, "cannot listen\n");
    return 1;
  }
  std::printf("port %d\n", server.httpPort());
  std::fflush(stdout);
  Timer heap;
  heap.start(loop, std::chrono::seconds(1), [] {
    struct mallinfo2 info = mallinfo2();
    std::printf("heap %zu\n", info.uordblks + info.hblkhd);
    std::fflush(stdout);
    return true;
  });
  loop.run();
  server.stop();
  return 0;
}
