// 20 WHEP viewers join and leave, round after round: sessions, threads and
// memory must come back to where they were. Half the viewers leave with a
// DELETE, half vanish (their RTCP stops) and are found by the server.

#include <gtest/gtest.h>

#include <dirent.h>

#include <fstream>
#include <optional>
#include <string>

#include "media/programme_feed.h"
#include "media/whep_egress.h"
#include "tests/media/media_test_util.h"
#include "tests/media/test_programme.h"
#include "tests/support/whep_client.h"

namespace jobcast::media {
namespace {

using namespace std::chrono_literals;
using test::runUntil;

int threadCount() {
  int n = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (dirent* e = readdir(dir))
      n += e->d_name[0] != '.';
    closedir(dir);
  }
  return n;
}

long rssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  }
  return 0;
}

TEST(WhepSoak, TwentyViewersJoinAndLeaveWithoutLeaks) {
  constexpr int kViewers = 20;
  constexpr int kRounds = 3;
  Loop loop;
  test::TestProgramme programme({.width = 320, .height = 180, .bitrate_kbps = 300});
  ProgrammeFeed feed("r1");
  feed.attach(programme.pipeline(), programme.videoPad(), programme.audioPad());
  WhepEgress::Options options;
  options.session.local_addresses = {"127.0.0.1"};
  options.session.rtcp_timeout = 3s;
  options.max_viewers = kViewers;
  WhepEgress egress(loop, options);
  egress.setFeed("r1", "", &feed);

  int threads_after_first = 0;
  long rss_after_first = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::unique_ptr<test::WhepClient>> clients;
    std::vector<std::string> ids;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kViewers; ++i) {
      clients.push_back(std::make_unique<test::WhepClient>(
          test::WhepClient::Options{.decode = false, .local_addresses = {"127.0.0.1"}}));
    }
    // All offers first, then all answers: the server answers them concurrently.
    std::vector<std::optional<Result<WhepEgress::Created>>> results(kViewers);
    for (int i = 0; i < kViewers; ++i) {
      egress.create("r1", "", clients[i]->offer(),
                    [&results, i](Result<WhepEgress::Created> r) { results[i] = r; });
    }
    ASSERT_TRUE(runUntil(
        loop,
        [&] {
          for (auto& r : results) {
            if (!r)
              return false;
          }
          return true;
        },
        10s));
    for (int i = 0; i < kViewers; ++i) {
      ASSERT_TRUE(results[i]->ok()) << results[i]->error().message;
      ASSERT_TRUE(clients[i]->setAnswer(results[i]->value().answer));
      ids.push_back(results[i]->value().session_id);
    }
    auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(runUntil(
        loop,
        [&] {
          for (auto& c : clients) {
            if (c->videoFrames() < 3)
              return false;
          }
          return true;
        },
        20s))
        << "round " << round;
    EXPECT_EQ(egress.viewers(), static_cast<size_t>(kViewers));
    auto t2 = std::chrono::steady_clock::now();
    std::printf("round %d: answered in %.1f s, all receiving after %.1f s\n", round,
                std::chrono::duration<double>(t1 - t0).count(),
                std::chrono::duration<double>(t2 - t0).count());
    for (int i = 0; i < kViewers; ++i) {
      if (i % 2 == 0)
        EXPECT_TRUE(egress.remove("r1", ids[i]));
      else
        clients[i].reset();  // vanishes
    }
    ASSERT_TRUE(runUntil(
        loop, [&] { return egress.viewers() == 0; }, 10s))
        << egress.viewers() << " viewers left in round " << round;
    clients.clear();
    EXPECT_EQ(feed.viewerCount(), 0u);
    runUntil(
        loop, [] { return false; }, 500ms);
    int threads = threadCount();
    long rss = rssKb();
    std::printf("round %d: %d threads, %ld kB RSS, released deleted=%llu rtcp=%llu\n", round,
                threads, rss, static_cast<unsigned long long>(egress.released("deleted")),
                static_cast<unsigned long long>(egress.released("rtcp_timeout")));
    if (round == 0) {
      threads_after_first = threads;
      rss_after_first = rss;
      continue;
    }
    // Thread pools may keep a few idle threads for a while, never one per viewer.
    EXPECT_TRUE(runUntil(
        loop, [&] { return threadCount() <= threads_after_first + 4; }, 20s))
        << "threads " << threadCount() << " after round " << round << ", first "
        << threads_after_first;
  }
  // 20 viewers are ~45 MB of webrtcbin; a leak of even one per round shows.
  EXPECT_LT(rssKb() - rss_after_first, 12 * 1024) << "RSS grew";
  EXPECT_EQ(egress.released("deleted"), static_cast<uint64_t>(kRounds * kViewers / 2));
  EXPECT_EQ(egress.released("rtcp_timeout") + egress.released("ice_failed") +
                egress.released("closed") + egress.released("dtls_failed"),
            static_cast<uint64_t>(kRounds * kViewers / 2));
}

}  // namespace
}  // namespace jobcast::media
