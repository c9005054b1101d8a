#pragma once
// A job-fair day, scripted: three jobcastd nodes on a six-process Redis
// Cluster, one room with an employer publishing over WHIP, a counsellor and
// an interpreter on the stage, a captioner, live-channel viewers spread over
// the nodes, HLS and WHEP players, jobseekers applying, an interview queue;
// and, during it, the master of the room's Redis slot killed, a node killed
// and the publisher's network gone for 5 s. The short run is a ctest
// (tests/server/fair_day_test.cpp), the long one bench/fairday; both call
// runFairDay() and check the same invariants (FairDayReport).

#include <chrono>
#include <string>
#include <vector>

namespace jobcast::test {

struct FairDayOptions {
  std::chrono::seconds duration{90};  // from everyone in the room to the end of the day
  int viewers = 300;                  // anonymous live-channel WebSockets, spread over the nodes
  int hls_players = 10;               // polling 360p/index.m3u8 and fetching every new segment
  int whep_players = 5;               // light WHEP viewers on the media node
  int applications = 500;             // jobseekers, each a profile and an apply (REST)
  int queue_joiners = 6;              // jobseekers joining the interview queue
  int interviews = 3;                 // queue.next calls by the employer (each declined)
  int caption_every_ms = 2000;        // the captioner's pace
  bool verbose = false;               // progress lines on stdout
};

// What happened, and each invariant's verdict. `violations` is empty when
// every invariant held.
struct FairDayReport {
  std::vector<std::string> violations;
  std::vector<std::string> notes;  // set-up steps that did not go as planned

  // Faults and recovery, seconds from the fault (-1: never).
  double redis_promoted_s = -1;         // the killed master's slot served by its replica
  double redis_first_apply_s = -1;      // an apply sent after the kill answered 201
  double node_viewers_back_s = -1;      // every viewer of the killed node welcomed elsewhere
  double publisher_republished_s = -1;  // network back -> WHIP 201 on the media node
  double publisher_hls_back_s = -1;     // network back -> a new segment after the discontinuity
  int viewers_moved = 0;                // viewers that were on the killed node

  // Live channel.
  int viewers_checked = 0;
  int viewers_exact = 0;            // every event of theirs once, in order, none missing
  int resumes = 0, resumes_ok = 0;  // reconnects and their welcome resume "ok"
  long long events_in_stream = 0;   // events for everyone (aud all) during the day
  long long events_delivered = 0;   // summed over viewers
  double events_per_s = 0;          // delivered / day length

  // Applications.
  int apps_acked = 0, apps_lost = 0, apps_listed = 0, apps_refused_answers = 0;
  int interviews_offered = 0, captions_sent = 0, queue_joined = 0;

  // HLS and WHEP players.
  long long hls_segments = 0, hls_segment_errors = 0, hls_unmarked_gaps = 0;
  long long hls_playlist_errors = 0, hls_sequence_resets = 0;
  int hls_players_with_discontinuity = 0;
  int whep_connected = 0, whep_with_media = 0;
  int whep_media_second_half = 0;  // packets still arriving after the republish

  // The recording.
  int recording_pieces = 0, recording_pieces_decoded = 0;
  long long recording_video_frames = 0;

  // VmRSS of each node, kB, at start, half-time and end (0: not running).
  std::vector<std::vector<long>> rss_kb;
  double wall_s = 0;
};

FairDayReport runFairDay(const FairDayOptions& options);

// The report as the bench prints it (one figure a line).
std::string describe(const FairDayReport& report);

}  // namespace jobcast::test
