// Glass-to-glass latency of the WHEP path on loopback, in one process (one
// clock): a live solid-colour camera (720p30, x264 zerolatency, ultrafast)
// flips colour at a known instant; a real webrtcbin viewer decodes and we time
// the first decoded frame of the new colour. Covers capture, encode, payload,
// SRTP, loopback UDP, the viewer's jitter buffer (latency 50 ms), depayload and
// decode; not a screen's refresh.
//
//   whep_latency [flips]      (JOBCAST_BENCH_ENGINE=udp: through the egress engine)
//
// `whep_latency --first-frame [joins]` times joins instead: for each, a new
// webrtcbin viewer makes its offer (ICE gathering not counted, as a browser
// gathers before it POSTs), then the clock runs from the WHEP request
// (WhepEgress::create, what the POST handler calls) to the viewer's first
// decoded video frame. The programme runs all along, so joins land at any
// point of its 2 s GOP.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>
#include <vector>

#include "core/log.h"
#include "media/egress/udp_viewers.h"
#include "media/programme_feed.h"
#include "media/whep_egress.h"
#include "tests/media/media_test_util.h"
#include "tests/media/test_programme.h"
#include "tests/support/whep_client.h"

using namespace jobcast;
using namespace std::chrono_literals;

namespace {

void printStats(const char* what, std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  std::printf("{\"%s\":%zu,\"ms_min\":%.0f,\"ms_median\":%.0f,\"ms_p90\":%.0f,\"ms_max\":%.0f}\n",
              what, ms.size(), ms.front(), ms[ms.size() / 2], ms[ms.size() * 9 / 10], ms.back());
}

int firstFrames(Loop& loop, media::WhepEgress& egress, int joins) {
  std::vector<double> ms;
  for (int i = 0; i < joins; ++i) {
    test::WhepClient viewer;
    std::string offer = viewer.offer();
    auto start = std::chrono::steady_clock::now();
    std::optional<Result<media::WhepEgress::Created>> created;
    egress.create("lat", "", offer, [&](Result<media::WhepEgress::Created> r) { created = r; });
    if (!test::runUntil(
            loop, [&] { return created.has_value(); }, 5s) ||
        !created->ok()) {
      std::fprintf(stderr, "join %d: no answer\n", i);
      return 1;
    }
    auto since = [start] {
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
          .count();
    };
    double answered = since();
    viewer.setAnswer(created->value().answer);
    double connected = -1;
    if (!test::runUntil(
            loop,
            [&] {
              if (connected < 0 && viewer.connected())
                connected = since();
              return viewer.videoFrames() > 0;
            },
            10s)) {
      std::fprintf(stderr, "join %d: no frame\n", i);
      return 1;
    }
    ms.push_back(since());
    // Where the time went: the answer, ICE + DTLS up (webrtcbin's
    // connection-state), the first decoded frame.
    std::fprintf(stderr, "join %d: answer %.0f ms, connected %.0f ms, first frame %.0f ms\n", i,
                 answered, connected, ms.back());
    viewer.close();
    egress.remove("lat", created->value().session_id);
    // Joins spread over the GOP (2 s) rather than in step with it.
    test::runUntil(
        loop, [] { return false; }, std::chrono::milliseconds(300 + 370 * (i % 5)));
  }
  printStats("joins", ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool first_frame = argc > 1 && std::string(argv[1]) == "--first-frame";
  if (first_frame) {
    ++argv;
    --argc;
  }
  int flips = argc > 1 ? std::atoi(argv[1]) : (first_frame ? 15 : 20);
  log::configure(log::Level::Warn, log::Format::Text);
  Loop loop;
  test::TestProgramme programme(
      {.width = 1280, .height = 720, .fps = 30, .bitrate_kbps = 1500, .colour = 0xff0000});
  media::ProgrammeFeed feed("lat");
  feed.attach(programme.pipeline(), programme.videoPad(), programme.audioPad());
  media::WhepEgress::Options options;
  options.session.local_addresses = {"127.0.0.1"};
  const char* engine = std::getenv("JOBCAST_BENCH_ENGINE");
  if (engine && std::string(engine) == "udp") {
    // JOBCAST_BENCH_GSO=0: the engine without GSO, for comparison.
    const char* gso = std::getenv("JOBCAST_BENCH_GSO");
    auto udp = media::egress::UdpViewers::start({.bind_address = "127.0.0.1",
                                                 .public_addresses = {"127.0.0.1"},
                                                 .gso = !(gso && std::string(gso) == "0")});
    if (!udp) {
      std::fprintf(stderr, "%s\n", udp.error().message.c_str());
      return 1;
    }
    options.engine = udp.value();
  }
  media::WhepEgress egress(loop, options);
  egress.setFeed("lat", "", &feed);
  if (first_frame) {
    // The programme's first keyframe is out before the first join.
    test::runUntil(
        loop, [] { return false; }, 2s);
    return firstFrames(loop, egress, flips);
  }
  test::WhepClient viewer;
  std::optional<Result<media::WhepEgress::Created>> created;
  egress.create("lat", "", viewer.offer(),
                [&](Result<media::WhepEgress::Created> r) { created = r; });
  if (!test::runUntil(
          loop, [&] { return created.has_value(); }, 5s) ||
      !created->ok()) {
    std::fprintf(stderr, "no answer\n");
    return 1;
  }
  viewer.setAnswer(created->value().answer);
  if (!test::runUntil(
          loop, [&] { return viewer.videoFrames() > 30; }, 10s)) {
    std::fprintf(stderr, "no video\n");
    return 1;
  }
  GstElement* camera = gst_bin_get_by_name(GST_BIN(programme.pipeline()), "videotestsrc0");
  std::vector<double> ms;
  bool green = false;
  for (int i = 0; i < flips; ++i) {
    green = !green;
    auto start = std::chrono::steady_clock::now();
    g_object_set(camera, "foreground-color", green ? 0xff00ff00u : 0xffff0000u, nullptr);
    bool seen = test::runUntil(
        loop,
        [&] {
          auto f = viewer.lastFrame();
          if (f.rgb.empty())
            return false;
          auto c = test::meanColour(f.rgb, f.width, f.width / 2, f.height / 2);
          return green ? test::near(c, 0, 255, 0) : test::near(c, 255, 0, 0);
        },
        3s);
    if (seen) {
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
    test::runUntil(
        loop, [] { return false; }, 300ms);
  }
  gst_object_unref(camera);
  if (ms.empty()) {
    std::fprintf(stderr, "no flip seen\n");
    return 1;
  }
  printStats("flips", ms);
  return 0;
}
