// MediaService in process (no HTTP): a WhipClient publishes into a room and the
// HLS ladder fills; publish rules; the stage state follows the publisher.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "core/log.h"
#include "core/loop.h"
#include "media/media_service.h"
#include "media/whip_client.h"
#include "tests/support/temp_dir.h"

namespace jobcast::media {
namespace {

using namespace std::chrono_literals;

// Runs the loop until fn() is true or the timeout passes (the watchdog).
bool pumpUntil(Loop& loop, const std::function<bool()>& fn, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!fn()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    g_main_context_iteration(loop.context(), FALSE);
    g_usleep(2000);
  }
  return true;
}

struct Fixture {
  test::TempDir dir{"jobcast-media"};
  Loop loop;
  std::unique_ptr<MediaService> media;

  explicit Fixture(MediaOptions options = {}) {
    if (g_getenv("JOBCAST_TEST_DEBUG"))
      log::configure(log::Level::Debug, log::Format::Text);
    options.data_dir = dir.path();
    media = std::make_unique<MediaService>(loop, options);
  }
  ~Fixture() { media.reset(); }

  Result<MediaService::Published> publish(const std::string& room, WhipClient& client) {
    auto offer = client.createOffer();
    if (!offer)
      return offer.error();
    std::optional<Result<MediaService::Published>> result;
    media->publish(room, offer.value(), [&](Result<MediaService::Published> r) { result = r; });
    if (!pumpUntil(
            loop, [&] { return result.has_value(); }, 10s))
      return Error{"timeout", "no answer"};
    if (!*result)
      return *result;
    auto set = client.setAnswer(result->value().answer_sdp);
    if (!set)
      return set.error();
    return *result;
  }
};

TEST(MediaService, PublishFillsEveryRendition) {
  Fixture f;
  WhipClient client;
  auto published = f.publish("room1", client);
  ASSERT_TRUE(published) << published.error().message;
  EXPECT_NE(published->answer_sdp.find("a=candidate"), std::string::npos) << published->answer_sdp;
  if (g_getenv("JOBCAST_TEST_DEBUG"))
    std::fprintf(stderr, "%s\n", published->answer_sdp.c_str());
  ASSERT_TRUE(pumpUntil(
      f.loop,
      [&] {
        auto* hls = f.media->hls("room1");
        return hls && hls->ready() && hls->find("360p")->segments().size() >= 4;
      },
      20s));
  EXPECT_EQ(f.media->state("room1"), StageState::Live);
  auto* hls = f.media->hls("room1");
  std::string master = hls->masterPlaylist();
  EXPECT_NE(master.find("RESOLUTION=640x360"), std::string::npos) << master;
  EXPECT_NE(master.find("avc1.42e0"), std::string::npos) << master;
  for (const auto& r : hls->renditions()) {
    // The first two segments of a stream may be short (they start on the
    // first keyframes while the encoders settle); later ones hold about the
    // target duration.
    for (size_t i = 2; i < r->segments().size(); ++i) {
      const auto& s = r->segments()[i];
      EXPECT_GT(s.bytes->size(), 1000u) << r->info().name;
      EXPECT_GT(s.duration, 0.5) << r->info().name;
      EXPECT_LT(s.duration, 2.5) << r->info().name;
    }
  }
  client.stop();
}

TEST(MediaService, RefusesOffersWithoutH264) {
  Fixture f;
  std::optional<Result<MediaService::Published>> result;
  f.media->publish("room1", "v=0\r\n", [&](auto r) { result = r; });
  ASSERT_TRUE(result && !*result);
  EXPECT_EQ(result->error().code, "bad_sdp");
}

}  // namespace
}  // namespace jobcast::media
