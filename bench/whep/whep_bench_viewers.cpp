// N real webrtcbin WHEP viewers in one process against one room. Each counts
// the H.264 access units it receives (no decode: the receivers' CPU should go
// to receiving, not to N decoders). After a settle time it samples for a
// window and prints one line of JSON: viewers connected, frames per second per
// viewer (min, median, max), and how many fell below 90% of the source rate.
//
//   whep_bench_viewers URL N [settle_s] [window_s] [source_fps]
//
// JOBCAST_BENCH_DECODE=1: each viewer decodes (avdec_h264) and counts
// decoded frames instead: a few full viewers beside a light load.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/whep_client.h"

using jobcast::test::WhepClient;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s URL N [settle_s] [window_s] [source_fps]\n", argv[0]);
    return 2;
  }
  std::string url = argv[1];
  int n = std::atoi(argv[2]);
  int settle = argc > 3 ? std::atoi(argv[3]) : 5;
  int window = argc > 4 ? std::atoi(argv[4]) : 10;
  double source_fps = argc > 5 ? std::atof(argv[5]) : 30;
  std::vector<std::unique_ptr<WhepClient>> viewers;
  int refused = 0;
  const char* decode = std::getenv("JOBCAST_BENCH_DECODE");
  const bool decoding = decode && std::string(decode) == "1";
  for (int i = 0; i < n; ++i) {
    auto v = std::make_unique<WhepClient>(WhepClient::Options{.decode = decoding});
    long status = v->connect(url);
    if (status != 201) {
      std::fprintf(stderr, "viewer %d: status %ld\n", i, status);
      ++refused;
      continue;
    }
    viewers.push_back(std::move(v));
  }
  std::printf("ready %zu\n", viewers.size());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(settle));
  std::vector<uint64_t> before;
  for (auto& v : viewers)
    before.push_back(v->videoFrames());
  std::this_thread::sleep_for(std::chrono::seconds(window));
  std::vector<double> fps;
  for (size_t i = 0; i < viewers.size(); ++i)
    fps.push_back(double(viewers[i]->videoFrames() - before[i]) / window);
  std::sort(fps.begin(), fps.end());
  int slow = 0;
  for (double f : fps)
    slow += f < 0.9 * source_fps;
  double median = fps.empty() ? 0 : fps[fps.size() / 2];
  std::printf(
      "{\"viewers\":%zu,\"refused\":%d,\"fps_min\":%.1f,\"fps_median\":%.1f,\"fps_max\":%.1f,"
      "\"below_90pct\":%d}\n",
      viewers.size(), refused, fps.empty() ? 0 : fps.front(), median, fps.empty() ? 0 : fps.back(),
      slow);
  std::fflush(stdout);
  return 0;
}
