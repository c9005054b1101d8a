// What viewers say back to the egress engine, with real webrtcbin viewers:
// packets lost on the way to a viewer (dropped in the viewer before it
// decrypts them) are asked for by NACK and arrive again, as RTX when the
// offer had it, so nothing is lost to the decoder; a PLI brings a keyframe
// from the encoder; and a viewer that dies without a word is gone within
// the consent timeout, while one that only sends RTCP stays. Sender reports
// put a viewer's audio and video on one wall clock.

#include <gtest/gtest.h>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <iostream>
#include <optional>
#include <regex>

#include "media/egress/engine.h"
#include "media/egress/rendition.h"
#include "media/egress/udp_viewers.h"
#include "media/programme_feed.h"
#include "media/whep_egress.h"
#include "tests/media/media_test_util.h"
#include "tests/media/test_programme.h"
#include "tests/support/jobcastd.h"  // eventually()
#include "tests/support/light_viewer.h"
#include "tests/support/whep_client.h"

namespace jobcast::media::egress {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A programme, its feed, an engine and a rendition, as a node has them.
struct Bench {
  explicit Bench(test::TestProgramme::Options programme_options = {},
                 std::chrono::milliseconds consent = 30s)
      : programme(programme_options), feed("r1") {
    feed.attach(programme.pipeline(), programme.videoPad(), programme.audioPad());
    auto certificate = DtlsCertificate::generate();
    EXPECT_TRUE(certificate);
    auto started = EgressEngine::start({"127.0.0.1", 0, consent}, certificate.value());
    EXPECT_TRUE(started) << started.error().message;
    engine = std::move(started).value();
    auto made = EgressRendition::start(feed, *engine, [this] {
      ++keyframe_requests;
      feed.requestKeyframe();
    });
    EXPECT_TRUE(made) << made.error().message;
    rendition = std::move(made).value();
  }
  ~Bench() { rendition.reset(); }

  // Answers the viewer's offer (after `edit`) and waits for its first frames.
  uint64_t connect(test::WhepClient& viewer, std::string* answer = nullptr,
                   const std::function<std::string(std::string)>& edit = nullptr) {
    std::string offer = viewer.offer();
    EXPECT_FALSE(offer.empty());
    if (edit)
      offer = edit(offer);
    auto answered = rendition->addViewer(offer, {"127.0.0.1"});
    EXPECT_TRUE(answered) << answered.error().message;
    if (!answered)
      return 0;
    if (answer)
      *answer = answered->answer;
    EXPECT_TRUE(viewer.setAnswer(answered->answer)) << answered->answer;
    // As WhepEgress does for a new viewer: the rendition's tap may have
    // begun after the programme's last keyframe, with nothing cached yet.
    // Asked again every 2 s until the picture comes (the viewer receives
    // nothing before a keyframe, so it sends no PLI of its own): on a busy
    // machine one request can reach the encoder before the rendition's tap
    // sees its output, and some benches here have 30 s GOPs.
    feed.requestKeyframe();
    auto asked = std::chrono::steady_clock::now();
    EXPECT_TRUE(test::eventually(
        [&] {
          if (viewer.videoFrames() == 0 && std::chrono::steady_clock::now() - asked > 2s) {
            feed.requestKeyframe();
            asked = std::chrono::steady_clock::now();
          }
          return viewer.videoFrames() >= 30;
        },
        20s))
        << stateName(engine->state(answered->viewer)) << " " << engine->failure(answered->viewer);
    return answered->viewer;
  }

  test::TestProgramme programme;
  ProgrammeFeed feed;
  std::unique_ptr<EgressEngine> engine;
  std::unique_ptr<EgressRendition> rendition;
  std::atomic<int> keyframe_requests{0};
};

// Drops every tenth H.264 packet until `count` are dropped, then checks that
// each came back in time for the jitter buffer (which counts what comes as
// RTX; a packet sent again as itself just fills its gap).
void loseAndRecover(test::WhepClient& viewer, Bench& bench, uint64_t count, bool rtx) {
  uint64_t lost_before = viewer.packetsLost();
  uint64_t frames_before = viewer.videoFrames();
  viewer.dropVideo(10);
  ASSERT_TRUE(test::eventually([&] { return viewer.videoDropped() >= count; }, 30s))
      << "dropped " << viewer.videoDropped();
  viewer.dropVideo(0);
  uint64_t dropped = viewer.videoDropped();
  EXPECT_TRUE(
      test::eventually([&] { return bench.rendition->rtcpStats().retransmitted >= dropped; }, 5s))
      << "dropped " << dropped << ", retransmitted " << bench.rendition->rtcpStats().retransmitted;
  // Another second of pictures: the jitter buffer has settled on every gap.
  uint64_t frames = viewer.videoFrames();
  ASSERT_TRUE(test::eventually([&] { return viewer.videoFrames() >= frames + 30; }, 10s));
  auto stats = bench.rendition->rtcpStats();
  EXPECT_EQ(viewer.packetsLost(), lost_before)
      << "dropped " << dropped << ", NACKed " << stats.nacked << ", retransmitted "
      << stats.retransmitted << ", RTCP " << bench.engine->stats().rtcp_received << " (refused "
      << bench.engine->stats().rtcp_rejected << ")";
  if (rtx) {
    EXPECT_GE(viewer.retransmissionsReceived(), dropped);
  }
  EXPECT_GT(viewer.videoFrames(), frames_before + 30);
  // (Not in history: the jitter buffer also asks for the next packet when it
  // is late, before it was sent.)
  EXPECT_EQ(stats.rate_limited, 0u);
}

// webrtcbin (1.22) sends its NACKs with its regular RTCP, about every 0.4 s
// whatever its minimum interval, not at once as browsers do: its jitter
// buffer must wait long enough for a NACK, its retries and the answer.
constexpr unsigned kNackLatencyMs = 1500;

TEST(EgressRtcp, NackedPacketsComeBackAsRtxAndNothingIsLost) {
  Bench bench;
  test::WhepClient viewer({.nack = true, .latency_ms = kNackLatencyMs});
  std::string answer;
  uint64_t id = bench.connect(viewer, &answer);
  ASSERT_NE(id, 0u);
  // RTX was offered (webrtcbin offers it with NACK): the answer has it too.
  std::smatch rtx;
  ASSERT_TRUE(std::regex_search(answer, rtx, std::regex("a=rtpmap:(\\d+) rtx/90000"))) << answer;
  EXPECT_NE(answer.find("a=fmtp:" + rtx[1].str() + " apt=102"), std::string::npos) << answer;
  EXPECT_NE(answer.find("a=ssrc-group:FID "), std::string::npos) << answer;

  loseAndRecover(viewer, bench, 30, true);
  auto stats = bench.rendition->rtcpStats();
  EXPECT_EQ(stats.rtx, stats.retransmitted);
  EXPECT_GT(bench.engine->stats().rtcp_received, 0u);
  EXPECT_EQ(bench.engine->state(id), EgressEngine::ViewerState::Connected);
}

TEST(EgressRtcp, WithoutRtxThePacketItselfIsSentAgain) {
  Bench bench;
  test::WhepClient viewer({.nack = true, .latency_ms = kNackLatencyMs});
  std::string answer;
  auto no_rtx = [](std::string offer) {
    return std::regex_replace(offer, std::regex("a=rtpmap:\\d+ rtx/90000\r?\n"), "");
  };
  ASSERT_NE(bench.connect(viewer, &answer, no_rtx), 0u);
  EXPECT_EQ(answer.find("rtx"), std::string::npos) << answer;

  loseAndRecover(viewer, bench, 20, false);
  auto stats = bench.rendition->rtcpStats();
  EXPECT_EQ(stats.rtx, 0u);
  EXPECT_GT(stats.retransmitted, 0u);
}

TEST(EgressRtcp, APliBringsAKeyframeFromTheEncoder) {
  // Keyframes only every 30 s unless asked for.
  Bench bench({.width = 640, .height = 360, .colour = 0x00ff00, .keyframe_interval_s = 30});
  test::WhepClient viewer;
  ASSERT_NE(bench.connect(viewer), 0u);
  // The viewer began at the cached keyframe; none follows on its own.
  uint64_t encoded = bench.programme.keyframes();
  size_t received = viewer.keyframes().size();
  ASSERT_GE(received, 1u);

  auto asked = Clock::now();
  viewer.requestKeyframe();
  ASSERT_TRUE(test::eventually([&] { return viewer.keyframes().size() > received; }, 5s))
      << "requests seen " << bench.keyframe_requests << ", PLI/FIR "
      << bench.rendition->rtcpStats().keyframe_requests;
  auto took = Clock::now() - asked;
  EXPECT_GT(bench.programme.keyframes(), encoded);
  EXPECT_GE(bench.rendition->rtcpStats().keyframe_requests, 1u);
  // About a second at most (the viewer's RTCP timing, then one frame).
  EXPECT_LT(took, 2s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms";
}

TEST(EgressRtcp, AKilledViewerIsGoneWithinTheConsentTimeout) {
  constexpr auto kConsent = 2s;
  Bench bench({}, kConsent);
  test::WhepClient viewer;
  uint64_t id = bench.connect(viewer);
  ASSERT_NE(id, 0u);
  // Longer than the timeout: its RTCP alone keeps it (webrtcbin sends no
  // consent checks once connected).
  uint64_t frames = viewer.videoFrames();
  ASSERT_TRUE(test::eventually([&] { return viewer.videoFrames() >= frames + 90; }, 20s));
  ASSERT_EQ(bench.engine->state(id), EgressEngine::ViewerState::Connected)
      << bench.engine->failure(id);
  EXPECT_GT(bench.engine->stats().rtcp_received, 0u);

  viewer.kill();
  auto killed = Clock::now();
  ASSERT_TRUE(test::eventually(
      [&] { return bench.engine->state(id) == EgressEngine::ViewerState::Gone; }, 10s));
  auto took = Clock::now() - killed;
  EXPECT_EQ(bench.engine->failure(id), "consent_expired");
  EXPECT_LE(took, kConsent + 1s);  // the timeout, plus the engine's 100 ms tick
  bench.rendition->removeViewer(id);
}

// CLOCK_REALTIME nanoseconds of an NTP time.
int64_t unixNanos(uint64_t ntp) {
  int64_t seconds = static_cast<int64_t>(ntp >> 32) - 2208988800;
  return seconds * 1000000000 + static_cast<int64_t>(((ntp & 0xffffffff) * 1000000000) >> 32);
}

// Median over a stream's packets that arrived after `from_ns`: how long
// after its capture (the wall clock time its RTP timestamp stands for, by
// the latest sender report before it) each arrived; and their spread.
struct Delays {
  double median_ms = 0;
  double spread_ms = 0;  // max - min
  size_t packets = 0;
};
Delays delaysOf(const test::LightViewer& viewer, uint32_t ssrc, double rate, int64_t from_ns) {
  std::vector<double> delays;
  for (const auto& p : viewer.rtp()) {
    if (p.ssrc != ssrc || p.arrived_ns < from_ns)
      continue;
    const test::LightReport* report = nullptr;
    for (const auto& r : viewer.reports()) {
      if (r.sender.ssrc == ssrc && r.arrived_ns <= p.arrived_ns)
        report = &r;
    }
    if (!report)
      continue;
    auto ticks = static_cast<int32_t>(p.timestamp - report->sender.rtp_timestamp);
    double captured_ns = static_cast<double>(unixNanos(report->sender.ntp)) + ticks / rate * 1e9;
    delays.push_back((static_cast<double>(p.arrived_ns) - captured_ns) / 1e6);
  }
  if (delays.empty())
    return {};
  std::sort(delays.begin(), delays.end());
  return {delays[delays.size() / 2], delays.back() - delays.front(), delays.size()};
}

// Each stream gets a sender report about once a second, SRTCP-protected
// under the viewer's keys, and the reports of both streams place their RTP
// timestamps on one wall clock: audio and video captured together are
// stamped as captured together, so a player can keep lips and voice in
// step. A light viewer decrypts everything and measures, per packet, the
// time from the capture its report gives to its arrival: it must be small,
// steady within a stream and the same for audio and video.
TEST(EgressRtcp, SenderReportsPutAudioAndVideoOnOneClock) {
  Bench bench;
  auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate);
  test::LightViewer viewer(*certificate.value(), {.decrypt = true});
  auto answered = bench.rendition->addViewer(viewer.offer(), {"127.0.0.1"});
  ASSERT_TRUE(answered) << answered.error().message;
  ASSERT_TRUE(viewer.readServer(answered->answer));
  uint32_t video_ssrc = 0, audio_ssrc = 0;
  {
    std::smatch m;
    std::string sdp = answered->answer;
    auto video = sdp.find("m=video"), audio = sdp.find("m=audio");
    ASSERT_NE(video, std::string::npos);
    ASSERT_NE(audio, std::string::npos);
    std::string video_part = sdp.substr(video, audio > video ? audio - video : std::string::npos);
    std::string audio_part = sdp.substr(audio, video > audio ? video - audio : std::string::npos);
    ASSERT_TRUE(std::regex_search(video_part, m, std::regex("a=ssrc:(\\d+) cname")));
    video_ssrc = static_cast<uint32_t>(std::stoul(m[1].str()));
    ASSERT_TRUE(std::regex_search(audio_part, m, std::regex("a=ssrc:(\\d+) cname")));
    audio_ssrc = static_cast<uint32_t>(std::stoul(m[1].str()));
  }
  viewer.check();
  auto reportsOf = [&](uint32_t ssrc) {
    return std::count_if(viewer.reports().begin(), viewer.reports().end(),
                         [&](const test::LightReport& r) { return r.sender.ssrc == ssrc; });
  };
  auto pump = [&](int ms) {
    pollfd fd{viewer.fd(), POLLIN, 0};
    if (poll(&fd, 1, ms) > 0)
      viewer.receiveAll();
    viewer.retransmit();
  };
  // Connected, and video flowing (a keyframe asked for, as WhepEgress does).
  auto start = Clock::now();
  auto asked = start - 10s;
  while (Clock::now() - start < 20s &&
         std::none_of(viewer.rtp().begin(), viewer.rtp().end(),
                      [&](const test::LightRtp& p) { return p.ssrc == video_ssrc; })) {
    if (viewer.connected() && Clock::now() - asked > 2s) {
      bench.feed.requestKeyframe();
      asked = Clock::now();
    } else if (!viewer.connected() && Clock::now() - asked > 1s) {
      viewer.check();
      asked = Clock::now();
    }
    pump(50);
  }
  ASSERT_TRUE(viewer.connected());
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  // From here on (the cached GOP a new viewer starts with is behind us).
  int64_t steady_from = (int64_t{now.tv_sec} + 1) * 1000000000 + now.tv_nsec;
  auto window = Clock::now();
  while (Clock::now() - window < 5s)
    pump(50);
  EXPECT_EQ(viewer.undecryptable(), 0u);
  // About one report a second per stream (0.5-1.5 s apart).
  EXPECT_GE(reportsOf(video_ssrc), 3) << "video reports";
  EXPECT_LE(reportsOf(video_ssrc), 12) << "video reports";
  EXPECT_GE(reportsOf(audio_ssrc), 3) << "audio reports";
  EXPECT_GE(bench.engine->stats().reports_sent, 3u);
  for (const auto& r : viewer.reports()) {
    EXPECT_NEAR(static_cast<double>(unixNanos(r.sender.ntp)), static_cast<double>(r.arrived_ns),
                50e6)
        << "a report's wall clock is now";
    EXPECT_GT(r.sender.packets, 0u);
    EXPECT_GT(r.sender.octets, r.sender.packets);
  }
  Delays video = delaysOf(viewer, video_ssrc, 90000, steady_from);
  Delays audio = delaysOf(viewer, audio_ssrc, 48000, steady_from);
  ASSERT_GT(video.packets, 50u);
  ASSERT_GT(audio.packets, 50u);
  std::cout << "capture to arrival: video " << video.median_ms << " ms (spread " << video.spread_ms
            << "), audio " << audio.median_ms << " ms (spread " << audio.spread_ms << ")\n";
  // Capture to arrival on loopback: the encoders' latency and no more.
  EXPECT_GT(video.median_ms, -20) << "video stamped after it arrived";
  EXPECT_LT(video.median_ms, 400);
  EXPECT_GT(audio.median_ms, -20) << "audio stamped after it arrived";
  EXPECT_LT(audio.median_ms, 400);
  // A wrong rate or a report from another clock shows as drift.
  EXPECT_LT(video.spread_ms, 150) << "video delay drifts";
  EXPECT_LT(audio.spread_ms, 150) << "audio delay drifts";
  // In step: well inside what viewers notice (ITU-R BT.1359: -125..+45 ms).
  EXPECT_NEAR(video.median_ms, audio.median_ms, 40)
      << "video " << video.median_ms << " ms, audio " << audio.median_ms << " ms after capture";
  // What was sent, as the reports count it, against the sequence numbers
  // the viewer saw up to the report (a busy machine may drop some on the
  // way to the viewer's socket: they were sent all the same).
  const test::LightReport* last = nullptr;
  for (const auto& r : viewer.reports()) {
    if (r.sender.ssrc == audio_ssrc)
      last = &r;
  }
  ASSERT_NE(last, nullptr);
  std::optional<uint16_t> first_seq;
  size_t audio_sent = 0;
  for (const auto& p : viewer.rtp()) {
    if (p.ssrc != audio_ssrc || p.arrived_ns > last->arrived_ns)
      continue;
    if (!first_seq)
      first_seq = p.seq;
    audio_sent = std::max<size_t>(audio_sent, static_cast<uint16_t>(p.seq - *first_seq) + 1u);
  }
  EXPECT_NEAR(static_cast<double>(last->sender.packets), static_cast<double>(audio_sent), 5);
  bench.rendition->removeViewer(answered->viewer);
}

// Through WhepEgress, as a node runs it: PLIs from three viewers on the
// engine's thread reach the feed's KeyframeGate on the control loop, and at
// most about one a second goes on to the encoder.
TEST(EgressRtcp, ViewersPlisAreMergedPerFeed) {
  Loop loop;
  test::TestProgramme programme({.width = 640, .height = 360, .keyframe_interval_s = 30});
  ProgrammeFeed feed("r1");
  feed.attach(programme.pipeline(), programme.videoPad(), programme.audioPad());
  auto udp = UdpViewers::start({"127.0.0.1", 0, {"127.0.0.1"}});
  ASSERT_TRUE(udp) << udp.error().message;
  WhepEgress::Options options;
  options.engine = udp.value();
  WhepEgress egress(loop, options);
  egress.setFeed("r1", "", &feed);
  std::vector<std::unique_ptr<test::WhepClient>> viewers;
  for (int i = 0; i < 3; ++i) {
    viewers.push_back(std::make_unique<test::WhepClient>());
    std::string offer = viewers.back()->offer();
    std::optional<Result<WhepEgress::Created>> created;
    egress.create("r1", "", offer, [&](Result<WhepEgress::Created> r) { created = r; });
    ASSERT_TRUE(test::runUntil(
        loop, [&] { return created.has_value(); }, 5s));
    ASSERT_TRUE(created->ok()) << created->error().message;
    ASSERT_TRUE(viewers.back()->setAnswer(created->value().answer));
  }
  ASSERT_TRUE(test::runUntil(
      loop,
      [&] {
        for (auto& v : viewers) {
          if (v->videoFrames() < 15)
            return false;
        }
        return true;
      },
      20s));
  uint64_t forwarded = egress.keyframesForwarded();
  uint64_t merged = egress.keyframesMerged();
  auto start = Clock::now();
  // Each viewer asks every 100 ms for 3 s.
  for (int round = 0; round < 30; ++round) {
    for (auto& v : viewers)
      v->requestKeyframe();
    test::runUntil(
        loop, [] { return false; }, 100ms);
  }
  test::runUntil(
      loop, [] { return false; }, 300ms);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  uint64_t upstream = egress.keyframesForwarded() - forwarded;
  EXPECT_GE(upstream, 2u) << "viewers' PLIs must reach the encoder";
  EXPECT_LE(upstream, static_cast<uint64_t>(seconds) + 1);
  EXPECT_GT(egress.keyframesMerged() - merged, 3u);
  EXPECT_GE(programme.keyframes(), upstream);
}

}  // namespace
}  // namespace jobcast::media::egress
