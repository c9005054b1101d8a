// A job-fair day, short version (tests/support/fair_day.h): three jobcastd
// nodes on a six-process Redis Cluster; an employer publishing over WHIP, a
// counsellor and an interpreter on the stage, a captioner, 300 live-channel
// viewers spread over the nodes, 10 HLS and 5 WHEP players, 500 applications,
// the interview queue. Meanwhile the master of the room's Redis slot is
// killed, then a node, then the publisher's network is gone for 5 s. At the
// end: no acknowledged application lost, every viewer got every event for
// everyone exactly once and in order (across its resume), HLS continuous but
// for marked discontinuities, the recording decodes, and no node's memory
// grew more than 10% over the second half.

#include <gtest/gtest.h>

#include <cstdio>

#include "tests/support/fair_day.h"

namespace jobcast::test {
namespace {

TEST(FairDay, ThreeNodesThroughThreeFaults) {
  FairDayOptions short_day;
  short_day.duration = std::chrono::seconds(90);
  short_day.verbose = true;
  FairDayReport r = runFairDay(short_day);
  std::printf("%s", describe(r).c_str());

  EXPECT_TRUE(r.violations.empty());
  EXPECT_EQ(r.apps_lost, 0);
  EXPECT_EQ(r.apps_acked, short_day.applications);
  EXPECT_EQ(r.viewers_checked, short_day.viewers);
  EXPECT_EQ(r.viewers_exact, short_day.viewers);
  EXPECT_GT(r.viewers_moved, 0);
  EXPECT_EQ(r.resumes_ok, r.resumes);
  EXPECT_GE(r.resumes, r.viewers_moved);
  EXPECT_GT(r.events_in_stream, short_day.applications);  // a count per application at least
  EXPECT_GT(r.hls_segments, 0);
  EXPECT_EQ(r.hls_segment_errors, 0);
  EXPECT_EQ(r.hls_unmarked_gaps, 0);
  EXPECT_EQ(r.hls_sequence_resets, 0);
  EXPECT_EQ(r.hls_players_with_discontinuity, short_day.hls_players);
  EXPECT_EQ(r.whep_with_media, short_day.whep_players);
  EXPECT_EQ(r.whep_media_second_half, short_day.whep_players);
  EXPECT_GE(r.recording_pieces, 2);
  EXPECT_EQ(r.recording_pieces_decoded, r.recording_pieces);
  EXPECT_GE(r.redis_first_apply_s, 0);
  EXPECT_GE(r.node_viewers_back_s, 0);
  EXPECT_GE(r.publisher_hls_back_s, 0);
  EXPECT_GT(r.captions_sent, 0);
  EXPECT_EQ(r.interviews_offered, short_day.interviews);
}

}  // namespace
}  // namespace jobcast::test
