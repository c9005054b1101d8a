// The job-fair day, full length (tests/support/fair_day.h): the same script
// and invariants as tests/server/fair_day_test.cpp, with the counts.
//
// usage: fairday [--minutes 10] [--viewers 2000] [--hls 50] [--whep 20]
//                [--applications 5000] [--queue 20] [--interviews 10]
// Exit code 0 when every invariant held, 1 otherwise.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tests/support/fair_day.h"

int main(int argc, char** argv) {
  // RedisCluster reports set-up failures through GoogleTest.
  ::testing::InitGoogleTest(&argc, argv);
  jobcast::test::FairDayOptions o;
  o.duration = std::chrono::minutes(10);
  o.viewers = 2000;
  o.hls_players = 50;
  o.whep_players = 20;
  o.applications = 5000;
  o.queue_joiners = 20;
  o.interviews = 10;
  o.verbose = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (!std::strcmp(k, "--minutes"))
      o.duration = std::chrono::minutes(v);
    else if (!std::strcmp(k, "--seconds"))
      o.duration = std::chrono::seconds(v);
    else if (!std::strcmp(k, "--viewers"))
      o.viewers = v;
    else if (!std::strcmp(k, "--hls"))
      o.hls_players = v;
    else if (!std::strcmp(k, "--whep"))
      o.whep_players = v;
    else if (!std::strcmp(k, "--applications"))
      o.applications = v;
    else if (!std::strcmp(k, "--queue"))
      o.queue_joiners = v;
    else if (!std::strcmp(k, "--interviews"))
      o.interviews = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k);
      return 2;
    }
  }
  auto report = jobcast::test::runFairDay(o);
  std::printf("\n%s", jobcast::test::describe(report).c_str());
  return report.violations.empty() ? 0 : 1;
}
