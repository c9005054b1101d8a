// Media benchmarks against a real jobcastd (see RESULTS.md for figures):
//   CPU of jobcastd per live room (passthrough only, full ladder; 1, 2, 4 rooms)
//   glass-to-glass latency of HLS (send time painted into each frame by the
//   publisher, read back from decoded segments) with 1 s and 2 s segments.
// Run: build/bench/media/media_bench [--gtest_filter=Bench.Cpu*|Bench.Latency*]
// BENCH_SECONDS (default 20) sets how long CPU is sampled.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/jwt.h"
#include "media/whip_client.h"
#include "rooms/keys.h"
#include "tests/media/decode.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"

namespace jobcast::test {
namespace {

using namespace std::chrono_literals;

std::string token(Role role, const std::string& sub) {
  Claims c;
  c.sub = sub;
  c.role = role;
  c.rooms = {"*"};
  c.iat = static_cast<int64_t>(std::time(nullptr));
  c.exp = c.iat + 3600;
  return Jwt("test-secret-0123456789abcdef-0123456789").sign(c);
}

std::string employerToken() {
  Claims c;
  c.sub = "emp";
  c.role = Role::Employer;
  c.rooms = {"*"};
  c.iat = static_cast<int64_t>(std::time(nullptr));
  c.exp = c.iat + 3600;
  return Jwt("test-secret-0123456789abcdef-0123456789").sign(c);
}

double cpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14 || i == 15)
      ticks += std::stod(f);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Bench {
  RedisServer redis;
  TempDir dir{"jobcast-bench"};
  std::unique_ptr<Jobcastd> node;
  std::vector<std::unique_ptr<media::WhipClient>> publishers;

  explicit Bench(const std::string& yaml) {
    redis.start();
    std::string config = dir.path() + "/bench.yaml";
    // Every client here comes from 127.0.0.1: no per-address limits.
    std::ofstream(config) << yaml
                          << "limits:\n  session_rate_per_second: 1000000\n"
                             "  session_rate_burst: 1000000\n  media_rate_per_second: 1000000\n"
                             "  media_rate_burst: 1000000\n";
    node = std::make_unique<Jobcastd>(
        Jobcastd::Options{.args = {"--config", config}, .redis = redis.address()});
    node->start();
  }
  void publish(const std::string& room, media::WhipClient::Options options,
               const std::string& bearer = employerToken()) {
    redis.command({"HSET", rooms::keys::room(room), "status", "live", "employer_id", "emp"});
    auto client = std::make_unique<media::WhipClient>(options);
    auto offer = client->createOffer();
    ASSERT_TRUE(offer);
    HttpRequest req;
    req.method = "POST";
    req.url = node->url("/whip/" + room);
    req.body = offer.value();
    req.headers = {{"Content-Type", "application/sdp"}, {"Authorization", "Bearer " + bearer}};
    auto r = http(req);
    ASSERT_EQ(r.status, 201) << r.body;
    ASSERT_TRUE(client->setAnswer(r.body));
    publishers.push_back(std::move(client));
  }
};

// `guests` counsellors (640x360) join each room's stage: the programme is then
// the composite, decoded and encoded once per room.
void cpuRun(const std::string& ladder, int rooms, int guests = 0) {
  int seconds = 20;
  if (const char* s = std::getenv("BENCH_SECONDS"))
    seconds = std::atoi(s);
  Bench b("media:\n  renditions: [" + ladder + "]\n");
  media::WhipClient::Options options;  // 640x360 30 fps, 800 kbit/s
  options.width = 1280;
  options.height = 720;
  options.video_kbps = 1500;
  for (int i = 0; i < rooms; ++i)
    b.publish("bench" + std::to_string(i), options);
  ASSERT_TRUE(eventually(
      [&] {
        return httpGet(b.node->url("/hls/bench" + std::to_string(rooms - 1) + "/master.m3u8"))
                   .status == 200;
      },
      30s));
  media::WhipClient::Options guest_options;
  guest_options.pattern = "ball";
  for (int i = 0; i < rooms; ++i) {
    std::string room = "bench" + std::to_string(i);
    for (int g = 0; g < guests; ++g) {
      std::string sub = "c" + std::to_string(g);
      std::string bearer = token(Role::Counsellor, sub);
      HttpRequest put{.method = "PUT",
                      .url = b.node->url("/api/v1/rooms/" + room + "/stage/" + sub),
                      .body = R"({"slot":"guest","name":"Counsellor"})"};
      put.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + bearer}};
      ASSERT_EQ(http(put).status, 200);
      b.publish(room, guest_options, bearer);
    }
    if (guests > 0) {
      ASSERT_TRUE(eventually(
          [&] {
            return httpGet(b.node->url("/hls/" + room + "/master.m3u8"))
                           .body.find("RESOLUTION=1280x720") != std::string::npos &&
                   b.node->log().find("\"layout\":\"composite\"") != std::string::npos;
          },
          30s));
    }
  }
  std::this_thread::sleep_for(3s);
  double c0 = cpuSeconds(b.node->pid());
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  double c1 = cpuSeconds(b.node->pid());
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double pct = 100.0 * (c1 - c0) / wall;
  std::printf(
      "BENCH cpu ladder=[%s] rooms=%d guests=%d publisher=1280x720@30 1.5Mbit/s "
      "jobcastd=%.1f%% of one core (%.1f%% per room) over %.0f s\n",
      ladder.c_str(), rooms, guests, pct, pct / rooms, wall);
}

TEST(Bench, CpuPassthrough1) {
  cpuRun("source", 1);
}
TEST(Bench, CpuPassthrough2) {
  cpuRun("source", 2);
}
TEST(Bench, CpuPassthrough4) {
  cpuRun("source", 4);
}
TEST(Bench, CpuLadder1) {
  cpuRun("source, 360p, audio", 1);
}
TEST(Bench, CpuLadder2) {
  cpuRun("source, 360p, audio", 2);
}
TEST(Bench, CpuLadder4) {
  cpuRun("source, 360p, audio", 4);
}
TEST(Bench, CpuStage1) {
  cpuRun("source, 360p, audio", 1, 1);
}
TEST(Bench, CpuStage2Guests) {
  cpuRun("source, 360p, audio", 1, 2);
}

void latencyRun(int segment_seconds) {
  Bench b("media:\n  segment_seconds: " + std::to_string(segment_seconds) + "\n");
  media::WhipClient::Options options;
  options.stamp = true;
  b.publish("lat", options);
  std::string last;
  std::vector<double> oldest, newest;
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(12 * segment_seconds + 10);
  while (std::chrono::steady_clock::now() < deadline && oldest.size() < 10) {
    // A player polls the playlist; poll it often so the fetch time is when the
    // segment became available.
    auto playlist = httpGet(b.node->url("/hls/lat/source/index.m3u8")).body;
    auto end = playlist.rfind(".ts");
    if (end != std::string::npos) {
      auto start = playlist.rfind('\n', end) + 1;
      std::string name = playlist.substr(start, end + 3 - start);
      if (name != last && !last.empty()) {
        auto seg = httpGet(b.node->url("/hls/lat/source/" + name));
        int64_t fetched = nowMs();
        Decoded d = decodeBytes(seg.body, "ts", 10s);
        if (d.first_stamp_ms > 0) {
          oldest.push_back(static_cast<double>(fetched - d.first_stamp_ms));
          newest.push_back(static_cast<double>(fetched - d.last_stamp_ms));
        }
      }
      last = name;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_GE(oldest.size(), 5u);
  auto avg = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v)
      s += x;
    return s / static_cast<double>(v.size());
  };
  std::printf(
      "BENCH latency segment=%ds segments=%zu first-frame-to-available=%.0f ms "
      "last-frame-to-available=%.0f ms; a player holding 3 segments shows frames "
      "about %.0f ms after capture\n",
      segment_seconds, oldest.size(), avg(oldest), avg(newest),
      avg(oldest) + 2.0 * 1000 * segment_seconds);
}

TEST(Bench, Latency1s) {
  latencyRun(1);
}
TEST(Bench, Latency2s) {
  latencyRun(2);
}

}  // namespace
}  // namespace jobcast::test
