// MediaService in process (no HTTP): a WhipClient publishes into a room and the
// HLS ladder fills; publish rules; the stage state follows the publisher.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>

#include "core/log.h"
#include "core/loop.h"
#include "media/media_service.h"
#include "media/teardown_worker.h"
#include "media/whip_client.h"
#include "tests/media/decode.h"
#include "tests/support/run_loop.h"
#include "tests/support/temp_dir.h"

namespace jobcast::media {
namespace {

using namespace std::chrono_literals;

using test::runUntil;

struct Fixture {
  test::TempDir dir{"jobcast-media"};
  Loop loop;
  std::unique_ptr<MediaService> media;

  explicit Fixture(MediaOptions options = {}) {
    if (g_getenv("JOBCAST_TEST_DEBUG"))
      log::configure(log::Level::Debug, log::Format::Text);
    if (options.data_dir == MediaOptions{}.data_dir)
      options.data_dir = dir.path();
    media = std::make_unique<MediaService>(loop, options);
  }
  ~Fixture() { media.reset(); }

  Result<MediaService::Published> publish(const std::string& room, WhipClient& client,
                                          const MediaService::Participant& who = {}) {
    auto offer = client.createOffer();
    if (!offer)
      return offer.error();
    std::optional<Result<MediaService::Published>> result;
    media->publish(room, offer.value(), who,
                   [&](Result<MediaService::Published> r) { result = r; });
    if (!runUntil(
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
  ASSERT_TRUE(runUntil(
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

// HLS segments go from the muxer straight into memory: with a data directory
// where nothing can be created (below a regular file) every rendition still
// fills with segments that decode.
TEST(MediaService, SegmentsNeverTouchTheDisk) {
  test::TempDir scratch{"jobcast-nodisk"};
  std::string file = scratch.path() + "/not-a-directory";
  std::ofstream(file) << "x";
  MediaOptions options;
  options.data_dir = file + "/data";
  options.recording = false;  // the recording's job is the disk
  Fixture f(options);
  WhipClient client;
  auto published = f.publish("room1", client);
  ASSERT_TRUE(published) << published.error().message;
  ASSERT_TRUE(runUntil(
      f.loop,
      [&] {
        auto* hls = f.media->hls("room1");
        if (!hls || !hls->ready())
          return false;
        for (const auto& r : hls->renditions()) {
          if (r->segments().size() < 3)
            return false;
        }
        return true;
      },
      20s));
  EXPECT_EQ(f.media->state("room1"), StageState::Live);
  for (const auto& r : f.media->hls("room1")->renditions()) {
    const auto& segment = r->segments()[2];
    bool audio_only = r->info().name == "audio";
    // The low-latency rendition's segments are fMP4: its initialization
    // segment first.
    std::string bytes = *segment.bytes;
    std::string kind = audio_only ? "aac" : "ts";
    if (r->info().lowLatency()) {
      ASSERT_TRUE(r->maps().count(segment.map));
      bytes = *r->maps().at(segment.map) + bytes;
      kind = "mp4";
    }
    auto decoded = test::decodeBytes(bytes, kind);
    EXPECT_TRUE(decoded.finished) << r->info().name << ": " << decoded.error;
    EXPECT_GT(decoded.audio_buffers, 0) << r->info().name;
    if (!audio_only) {
      EXPECT_GT(decoded.video_frames, 0) << r->info().name;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(file + "/data"));
  client.stop();
}

// Taking the stage mixer down and stopping pipelines never waits on the
// control thread: with the teardown worker held busy, a guest leaves and the
// room's publisher stops, and the loop still runs a task posted meanwhile
// within a few of its own iterations; the teardowns finish once the worker is
// free. Three rounds.
TEST(MediaService, TeardownNeverWaitsOnTheControlThread) {
  Fixture f;
  // Runs the loop for at most `iterations` passes until `done`.
  auto ranWithin = [&](int iterations, const bool& done) {
    for (int i = 0; i < iterations && !done; ++i)
      g_main_context_iteration(f.loop.context(), FALSE);
    return done;
  };
  for (int round = 1; round <= 3; ++round) {
    WhipClient employer;
    auto main = f.publish("stage", employer);
    ASSERT_TRUE(main) << "round " << round << ": " << main.error().message;
    ASSERT_TRUE(runUntil(
        f.loop,
        [&] { return f.media->onStage("stage") && f.media->onStage("stage")->mediaFlowing(); },
        15s));
    WhipClient guest(WhipClient::Options{.width = 320, .height = 180, .pattern = "red"});
    MediaService::Participant who{MediaService::Participant::Slot::Guest, "c1", "Counsellor"};
    auto joined = f.publish("stage", guest, who);
    ASSERT_TRUE(joined) << "round " << round << ": " << joined.error().message;
    ASSERT_TRUE(runUntil(
        f.loop, [&] { return f.media->onStage("stage")->composite(); }, 15s))
        << "round " << round;

    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    f.media->teardown().run([released] { released.wait(); });

    // The guest leaves: the mixer is dropped and the guest's pipeline stops.
    guest.stop();
    ASSERT_TRUE(f.media->endGuest("stage", "c1"));
    EXPECT_FALSE(f.media->onStage("stage")->composite());
    bool ran = false;
    f.loop.post([&] { ran = true; });
    EXPECT_TRUE(ranWithin(5, ran)) << "round " << round;

    // The publisher leaves: the room pipeline stops (its recording closes).
    employer.stop();
    ASSERT_TRUE(f.media->endSession("stage", main->session));
    ran = false;
    f.loop.post([&] { ran = true; });
    EXPECT_TRUE(ranWithin(5, ran)) << "round " << round;
    // The mixer's teardown is queued behind the held job, not done on this
    // thread; the pipelines go to NULL on GStreamer's pool meanwhile, which
    // is what frees a mixer push stuck in a queue nobody reads any more.
    EXPECT_GT(f.media->teardown().pending(), 1u) << "round " << round;

    release.set_value();
    ASSERT_TRUE(runUntil(
        f.loop, [&] { return f.media->pipelines() == 0; }, 15s))
        << "round " << round;
  }
}

// A publisher that cuts keyframes only when asked (as browsers do: Chromium
// sends one on PLI/FIR and otherwise every few minutes): the node's requests
// must reach it, or the source rendition's segments grow to the GOP length
// and WHEP viewers wait as long for their first picture.
TEST(MediaService, PublisherKeyframesOnRequestStillGiveOneSecondSegments) {
  Fixture f;
  WhipClient::Options long_gop;
  long_gop.key_int_max = 600;  // 20 s at 30 fps: longer than the test
  WhipClient client(long_gop);
  auto published = f.publish("room1", client);
  ASSERT_TRUE(published) << published.error().message;
  ASSERT_TRUE(runUntil(
      f.loop,
      [&] {
        auto* hls = f.media->hls("room1");
        return hls && hls->find("source") && hls->find("source")->segments().size() >= 6;
      },
      20s))
      << "the source rendition did not get 6 segments in 20 s: keyframe requests are lost";
  const auto& segments = f.media->hls("room1")->find("source")->segments();
  for (size_t i = 2; i < segments.size(); ++i)
    EXPECT_LT(segments[i].duration, 2.5) << "segment " << i;
  client.stop();
}

size_t countEntries(const char* dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir))
    ++n;
  return n;
}

// Live GstObjects and mini-objects, from GStreamer's leaks tracer.
long liveGstObjects() {
  GList* tracers = gst_tracing_get_active_tracers();
  long count = -1;
  for (GList* t = tracers; t; t = t->next) {
    if (std::string(G_OBJECT_TYPE_NAME(t->data)) == "GstLeaksTracer") {
      GstStructure* info = nullptr;
      g_signal_emit_by_name(t->data, "get-live-objects", &info);
      if (info) {
        count =
            static_cast<long>(gst_value_list_get_size(gst_structure_get_value(info, "objects")));
        gst_structure_free(info);
      }
    }
  }
  g_list_free_full(tracers, gst_object_unref);
  return count;
}

// Twenty publish/teardown rounds (publisher and room pipeline both built and
// destroyed) must leave no GStreamer objects, threads or file descriptors
// behind. Heap leaks outside GStreamer: run this binary built with
// -DJOBCAST_SANITIZE=address (see docs/media.md).
TEST(MediaLeak, TwentyPublishTeardownRoundsLeaveNothingBehind) {
  // With GST_TRACERS=leaks in the environment GStreamer's object count is
  // checked too (docs/media.md); file descriptors and threads always are.
  Fixture f;
  const bool traced = liveGstObjects() >= 0;
  long objects_after_warmup = 0;
  size_t fds_after_warmup = 0, threads_after_warmup = 0;
  for (int round = 1; round <= 20; ++round) {
    {
      WhipClient client;
      auto published = f.publish("leak", client);
      ASSERT_TRUE(published) << "round " << round << ": " << published.error().message;
      // Media flows through the whole ladder before teardown.
      bool connected = false;
      ASSERT_TRUE(runUntil(
          f.loop,
          [&] {
            connected = connected || client.waitConnected(1ms);
            return connected;
          },
          10s))
          << "round " << round;
      runUntil(
          f.loop, [] { return false; }, 700ms);
      client.stop();
      ASSERT_TRUE(f.media->endSession("leak", published->session));
    }
    ASSERT_TRUE(runUntil(
        f.loop, [&] { return f.media->pipelines() == 0; }, 10s))
        << "round " << round;
    if (round == 3) {
      runUntil(
          f.loop, [] { return false; }, 300ms);
      objects_after_warmup = liveGstObjects();
      fds_after_warmup = countEntries("/proc/self/fd");
      threads_after_warmup = countEntries("/proc/self/task");
    }
  }
  runUntil(
      f.loop, [] { return false; }, 300ms);
  long objects = liveGstObjects();
  // A leaked pipeline is hundreds of objects; allow a little for caches.
  if (traced) {
    EXPECT_LE(objects, objects_after_warmup + 30)
        << "GStreamer objects grew from " << objects_after_warmup << " to " << objects;
  }
  // Streaming threads of a torn-down pipeline exit a little later on a loaded
  // machine: give them time, but a leaked pipeline keeps them for good.
  runUntil(
      f.loop,
      [&] {
        return countEntries("/proc/self/task") <= threads_after_warmup + 4 &&
               countEntries("/proc/self/fd") <= fds_after_warmup + 4;
      },
      10s);
  EXPECT_LE(countEntries("/proc/self/fd"), fds_after_warmup + 4);
  EXPECT_LE(countEntries("/proc/self/task"), threads_after_warmup + 4);
}

// A counsellor joins and leaves the stage ten times while the employer stays
// on air: each time the programme becomes the composite and back, and the
// mixer, decoders and the guest's pipeline leave no threads or descriptors.
TEST(MediaLeak, GuestsJoiningAndLeavingTheStageLeaveNothingBehind) {
  Fixture f;
  WhipClient employer;
  auto main = f.publish("stage", employer);
  ASSERT_TRUE(main) << main.error().message;
  ASSERT_TRUE(runUntil(
      f.loop,
      [&] { return f.media->onStage("stage") && f.media->onStage("stage")->mediaFlowing(); }, 15s));
  size_t fds_after_warmup = 0, threads_after_warmup = 0;
  for (int round = 1; round <= 10; ++round) {
    {
      WhipClient guest(WhipClient::Options{.width = 320, .height = 180, .pattern = "red"});
      MediaService::Participant who{MediaService::Participant::Slot::Guest, "c1", "Counsellor"};
      auto published = f.publish("stage", guest, who);
      ASSERT_TRUE(published) << "round " << round << ": " << published.error().message;
      ASSERT_TRUE(runUntil(
          f.loop, [&] { return f.media->onStage("stage")->composite(); }, 15s))
          << "round " << round;
      runUntil(
          f.loop, [] { return false; }, 500ms);
      guest.stop();
      ASSERT_TRUE(f.media->endGuest("stage", "c1"));
      EXPECT_FALSE(f.media->onStage("stage")->composite());
    }
    ASSERT_TRUE(runUntil(
        f.loop, [&] { return f.media->pipelines() == 1; }, 10s))
        << "round " << round;
    if (round == 3) {
      runUntil(
          f.loop, [] { return false; }, 300ms);
      fds_after_warmup = countEntries("/proc/self/fd");
      threads_after_warmup = countEntries("/proc/self/task");
    }
  }
  runUntil(
      f.loop,
      [&] {
        return countEntries("/proc/self/task") <= threads_after_warmup + 4 &&
               countEntries("/proc/self/fd") <= fds_after_warmup + 4;
      },
      10s);
  EXPECT_LE(countEntries("/proc/self/fd"), fds_after_warmup + 4);
  EXPECT_LE(countEntries("/proc/self/task"), threads_after_warmup + 4);
  // The employer's programme still flows after all that.
  EXPECT_TRUE(f.media->onStage("stage")->mediaFlowing());
  EXPECT_EQ(f.media->state("stage"), StageState::Live);
}

// A real publisher's offer with its video renamed to VP8 (everything else as
// the browser sent it) is refused for the codec, before any pipeline exists;
// the same offer with H.264 is accepted, so the codec is the only reason.
TEST(MediaService, RefusesOffersWithoutH264) {
  Fixture f;
  WhipClient client;
  auto offer = client.createOffer();
  ASSERT_TRUE(offer) << offer.error().message;
  std::string vp8 = offer.value();
  size_t renamed = 0;
  for (size_t at = vp8.find("H264/90000"); at != std::string::npos;
       at = vp8.find("H264/90000", at)) {
    vp8.replace(at, 10, "VP8/90000");
    ++renamed;
  }
  ASSERT_GT(renamed, 0u) << offer.value();

  std::optional<Result<MediaService::Published>> refused;
  f.media->publish("room1", vp8, {}, [&](auto r) { refused = r; });
  ASSERT_TRUE(runUntil(
      f.loop, [&] { return refused.has_value(); }, 10s));
  ASSERT_FALSE(*refused) << "a VP8-only offer was accepted";
  EXPECT_EQ(refused->error().code, "bad_sdp");
  EXPECT_NE(refused->error().message.find("H.264"), std::string::npos) << refused->error().message;
  EXPECT_EQ(f.media->state("room1"), StageState::Idle);

  std::optional<Result<MediaService::Published>> accepted;
  f.media->publish("room1", offer.value(), {}, [&](auto r) { accepted = r; });
  ASSERT_TRUE(runUntil(
      f.loop, [&] { return accepted.has_value(); }, 10s));
  EXPECT_TRUE(*accepted) << accepted->error().message;
  client.stop();
}

}  // namespace
}  // namespace jobcast::media
