// WHEP egress on real webrtcbin at both ends: a stand-alone encoded programme,
// the server's per-viewer webrtcbin, and a real receiving webrtcbin that
// decodes what arrives.

#include <gtest/gtest.h>

#include <optional>

#include "media/programme_feed.h"
#include "media/whep_egress.h"
#include "tests/media/media_test_util.h"
#include "tests/media/test_programme.h"
#include "tests/support/whep_client.h"

namespace jobcast::media {
namespace {

using namespace std::chrono_literals;
using test::runUntil;

WhepEgress::Options loopbackOptions() {
  WhepEgress::Options options;
  options.session.local_addresses = {"127.0.0.1"};
  options.max_viewers = 30;
  return options;
}

// Offers, answers through the egress and applies the answer; returns the session id.
std::string connectViewer(Loop& loop, WhepEgress& egress, test::WhepClient& client,
                          const std::string& room = "r1", const std::string& variant = "") {
  std::string offer = client.offer();
  EXPECT_FALSE(offer.empty());
  std::optional<Result<WhepEgress::Created>> result;
  egress.create(room, variant, offer, [&](Result<WhepEgress::Created> r) { result = r; });
  EXPECT_TRUE(runUntil(
      loop, [&] { return result.has_value(); }, 5s));
  if (!result || !result->ok()) {
    ADD_FAILURE() << "no answer: " << (result ? result->error().message : "timeout");
    return {};
  }
  EXPECT_NE(result->value().answer.find("a=candidate"), std::string::npos);
  EXPECT_NE(result->value().answer.find("a=sendonly"), std::string::npos);
  EXPECT_TRUE(client.setAnswer(result->value().answer));
  return result->value().session_id;
}

TEST(WhepSession, ViewerReceivesDecodableVideoAndAudibleAudio) {
  Loop loop;
  test::TestProgramme programme({.width = 640, .height = 360, .colour = 0xff0000});
  ProgrammeFeed feed("r1");
  feed.attach(programme.pipeline(), programme.videoPad(), programme.audioPad());
  WhepEgress egress(loop, loopbackOptions());
  egress.setFeed("r1", "", &feed);

  test::WhepClient client;
  std::string id = connectViewer(loop, egress, client);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(runUntil(
      loop, [&] { return client.videoFrames() >= 20; }, 10s))
      << "frames: " << client.videoFrames();
  ASSERT_TRUE(runUntil(
      loop, [&] { return client.audioBuffers() >= 20; }, 5s));
  auto frame = client.lastFrame();
  EXPECT_EQ(frame.width, 640);
  EXPECT_EQ(frame.height, 360);
  auto centre = test::meanColour(frame.rgb, frame.width, 320, 180);
  EXPECT_TRUE(test::near(centre, 255, 0, 0)) << centre.r << "," << centre.g << "," << centre.b;
  EXPECT_GT(client.audioRms(), 1000.0);
  EXPECT_EQ(egress.viewers(), 1u);

  EXPECT_TRUE(egress.remove("r1", id));
  EXPECT_EQ(egress.viewers(), 0u);
  EXPECT_EQ(feed.viewerCount(), 0u);
}

TEST(WhepSession, RejectsOffersItCannotAnswer) {
  Loop loop;
  test::TestProgramme programme;
  ProgrammeFeed feed("r1");
  feed.attach(programme.pipeline(), programme.videoPad(), programme.audioPad());
  WhepEgress egress(loop, loopbackOptions());
  egress.setFeed("r1", "", &feed);
  auto attempt = [&](const std::string& room, const std::string& variant, const std::string& sdp) {
    std::optional<Result<WhepEgress::Created>> result;
    egress.create(room, variant, sdp, [&](Result<WhepEgress::Created> r) { result = r; });
    EXPECT_TRUE(runUntil(
        loop, [&] { return result.has_value(); }, 5s));
    return result->ok() ? std::string("ok") : result->error().code;
  };
  EXPECT_EQ(attempt("r1", "", "not sdp"), "bad_sdp");
  EXPECT_EQ(attempt("nope", "", "v=0\r\n"), "room_not_found");
  EXPECT_EQ(attempt("r1", "interpreter", "v=0\r\n"), "variant_unavailable");
  std::string vp8_only =
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\n"
      "a=rtpmap:96 VP8/90000\r\n";
  EXPECT_EQ(attempt("r1", "", vp8_only), "unsupported_codec");
  EXPECT_EQ(egress.viewers(), 0u);
}

TEST(WhepSession, ViewerThatVanishesIsReleased) {
  Loop loop;
  test::TestProgramme programme;
  ProgrammeFeed feed("r1");
  feed.attach(programme.pipeline(), programme.videoPad(), programme.audioPad());
  auto options = loopbackOptions();
  options.session.rtcp_timeout = 3s;
  options.session.disconnect_grace = 2s;
  WhepEgress egress(loop, options);
  egress.setFeed("r1", "", &feed);
  auto client = std::make_unique<test::WhepClient>();
  ASSERT_FALSE(connectViewer(loop, egress, *client).empty());
  ASSERT_TRUE(runUntil(
      loop, [&] { return client->videoFrames() >= 5; }, 10s));
  // A live viewer sends receiver reports, so it outlives the RTCP timeout.
  runUntil(
      loop, [] { return false; }, 3s);
  EXPECT_EQ(egress.viewers(), 1u);
  uint64_t frames = client->videoFrames();
  ASSERT_TRUE(runUntil(
      loop, [&] { return client->videoFrames() > frames + 10; }, 5s));
  client.reset();  // the tab closes without a DELETE
  ASSERT_TRUE(runUntil(
      loop, [&] { return egress.viewers() == 0; }, 12s));
  EXPECT_EQ(feed.viewerCount(), 0u);
}

// A merged request waits on a loop timer for the gate's next slot. When that
// timer wakes up a little before the gate's clock says the slot has come (GLib
// counts whole milliseconds; the delay used to be truncated), the request must
// still go out, and the feed must not be stuck with a pending request that
// swallows every later one.
TEST(WhepSession, DeferredKeyframeRequestGoesOutWhenItsTimerWakesEarly) {
  Loop loop;
  ProgrammeFeed feed("r1");
  int sent = 0;
  feed.setKeyframeRequest([&] { ++sent; });
  std::chrono::milliseconds lag{0};
  auto options = loopbackOptions();
  options.clock = [&] { return KeyframeGate::Clock::now() - lag; };
  WhepEgress egress(loop, options);
  egress.setFeed("r1", "", &feed);
  egress.requestKeyframe("r1", "");  // forwarded at once
  egress.requestKeyframe("r1", "");  // deferred to the gate's next slot
  egress.requestKeyframe("r1", "");  // merged into it
  ASSERT_EQ(sent, 1);
  // From now on the gate's clock is 5 ms behind the loop's timers.
  lag = 5ms;
  ASSERT_TRUE(runUntil(
      loop, [&] { return sent == 2; }, 3s))
      << "the deferred request never went out";
  EXPECT_EQ(egress.keyframesForwarded(), 2u);
  EXPECT_EQ(egress.keyframesMerged(), 1u);
  // The gate is free again: the next request after the interval goes out.
  lag = 0ms;
  ASSERT_TRUE(runUntil(
      loop,
      [&] {
        egress.requestKeyframe("r1", "");
        return sent == 3;
      },
      3s));
}

TEST(WhepSession, KeyframeRequestsAreMergedPerRoom) {
  Loop loop;
  test::TestProgramme programme({.fps = 30});  // keyframe every 60 frames
  ProgrammeFeed feed("r1");
  feed.attach(programme.pipeline(), programme.videoPad(), programme.audioPad());
  WhepEgress egress(loop, loopbackOptions());
  egress.setFeed("r1", "", &feed);
  std::vector<std::unique_ptr<test::WhepClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<test::WhepClient>());
    ASSERT_FALSE(connectViewer(loop, egress, *clients.back()).empty());
  }
  ASSERT_TRUE(runUntil(loop, [&] {
    for (auto& c : clients) {
      if (c->videoFrames() < 5)
        return false;
    }
    return true;
  }));
  uint64_t forwarded = egress.keyframesForwarded();
  auto keyframes_before = programme.keyframes();
  auto start = std::chrono::steady_clock::now();
  // Each viewer asks for a keyframe every 50 ms for 5 s: 300 requests.
  for (int round = 0; round < 100; ++round) {
    for (auto& c : clients)
      c->requestKeyframe();
    runUntil(
        loop, [] { return false; }, 50ms);
  }
  runUntil(
      loop, [] { return false; }, 300ms);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t upstream = egress.keyframesForwarded() - forwarded;
  EXPECT_GE(upstream, 2u) << "viewers' requests must reach the encoder";
  EXPECT_LE(upstream, static_cast<uint64_t>(seconds) + 1);
  // Both ends pace RTCP feedback, so fewer than the 300 asked arrive; many still do.
  EXPECT_GT(egress.keyframesMerged(), 5u);
  // The encoder honoured them: more keyframes than its 2 s interval alone gives.
  EXPECT_GE(programme.keyframes() - keyframes_before, upstream);
}

}  // namespace
}  // namespace jobcast::media
