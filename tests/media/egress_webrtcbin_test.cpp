// A real webrtcbin viewer plays a programme through the egress engine: the
// programme is payloaded once, the engine answers the viewer's ICE checks
// (ICE-lite), completes DTLS with it, and sends SRTP; the viewer decodes
// the picture and the tone.

#include <gtest/gtest.h>

#include "media/egress/engine.h"
#include "media/egress/rendition.h"
#include "media/programme_feed.h"
#include "tests/media/media_test_util.h"
#include "tests/media/test_programme.h"
#include "tests/support/jobcastd.h"  // eventually()
#include "tests/support/whep_client.h"

namespace jobcast::media::egress {
namespace {

using namespace std::chrono_literals;

TEST(EgressWebrtcbin, AViewerDecodesTheProgrammeThroughTheEngine) {
  test::TestProgramme programme({.width = 640, .height = 360, .colour = 0x0000ff});
  ProgrammeFeed feed("r1");
  feed.attach(programme.pipeline(), programme.videoPad(), programme.audioPad());
  auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate);
  // A short consent timeout: webrtcbin sends no consent checks, its RTCP and
  // keepalives must keep it (the frame count below takes longer than this).
  auto engine = EgressEngine::start({"127.0.0.1", 0, 2s}, certificate.value());
  ASSERT_TRUE(engine) << engine.error().message;
  auto rendition = EgressRendition::start(feed, *engine.value());
  ASSERT_TRUE(rendition) << rendition.error().message;

  test::WhepClient viewer;
  std::string offer = viewer.offer();
  ASSERT_FALSE(offer.empty());
  auto answered = rendition.value()->addViewer(offer, {"127.0.0.1"});
  ASSERT_TRUE(answered) << answered.error().message;
  ASSERT_TRUE(viewer.setAnswer(answered->answer)) << answered->answer;

  ASSERT_TRUE(test::eventually(
      [&] {
        return engine.value()->state(answered->viewer) == EgressEngine::ViewerState::Connected;
      },
      10s))
      << stateName(engine.value()->state(answered->viewer)) << " "
      << engine.value()->failure(answered->viewer);
  ASSERT_TRUE(test::eventually([&] { return viewer.videoFrames() >= 150; }, 20s))
      << "frames " << viewer.videoFrames() << ", packets prepared "
      << rendition.value()->packetsPrepared();
  auto frame = viewer.lastFrame();
  ASSERT_EQ(frame.width, 640);
  ASSERT_EQ(frame.height, 360);
  EXPECT_TRUE(test::near(test::meanColour(frame.rgb, frame.width, 320, 180), 0, 0, 255));
  EXPECT_TRUE(test::eventually([&] { return viewer.audioRms() > 500; }, 10s)) << viewer.audioRms();
  EXPECT_GT(engine.value()->stats().send_batches, 0u);
  EXPECT_EQ(engine.value()->state(answered->viewer), EgressEngine::ViewerState::Connected)
      << engine.value()->failure(answered->viewer);

  rendition.value()->removeViewer(answered->viewer);
  EXPECT_EQ(rendition.value()->viewerCount(), 0u);
}

TEST(EgressWebrtcbin, FindsWhereAKeyframeBeginsInH264Payloads) {
  const uint8_t sps[] = {0x67, 0x42};
  const uint8_t idr[] = {0x65, 0x88};
  const uint8_t slice[] = {0x41, 0x9a};
  // STAP-A: AUD, then SPS.
  const uint8_t stap[] = {0x78, 0, 2, 0x09, 0xf0, 0, 2, 0x67, 0x42};
  const uint8_t stap_delta[] = {0x58, 0, 2, 0x09, 0xf0, 0, 2, 0x41, 0x9a};
  const uint8_t fu_start[] = {0x7c, 0x85, 0x88};
  const uint8_t fu_middle[] = {0x7c, 0x05, 0x88};
  EXPECT_TRUE(beginsKeyframe(sps, sizeof sps));
  EXPECT_TRUE(beginsKeyframe(idr, sizeof idr));
  EXPECT_FALSE(beginsKeyframe(slice, sizeof slice));
  EXPECT_TRUE(beginsKeyframe(stap, sizeof stap));
  EXPECT_FALSE(beginsKeyframe(stap_delta, sizeof stap_delta));
  EXPECT_TRUE(beginsKeyframe(fu_start, sizeof fu_start));
  EXPECT_FALSE(beginsKeyframe(fu_middle, sizeof fu_middle));
}

}  // namespace
}  // namespace jobcast::media::egress
