// The shared stage, end to end through WHEP: a red main publisher in
// passthrough, a green counsellor joining as a PiP guest, a blue interpreter
// in the interpreter variant only; viewers keep their sessions throughout.

#include <gtest/gtest.h>

#include <optional>

#include "media/programme_feed.h"
#include "media/stage_mixer.h"
#include "media/teardown_worker.h"
#include "media/whep_egress.h"
#include "tests/media/media_test_util.h"
#include "tests/support/whep_client.h"

namespace jobcast::media {
namespace {

using namespace std::chrono_literals;
using test::near;
using test::runUntil;

constexpr int kW = 640;
constexpr int kH = 360;

// A room pipeline in miniature: participants as live solid-colour sources with
// raw tees (as decoded publishers would be), the main one also encoded (as the
// publisher's own H.264 for passthrough).
struct Room {
  GstElement* pipeline = nullptr;
  Room() {
    gst_init(nullptr, nullptr);
    auto source = [](const char* name, const char* colour, int freq) {
      return std::string("videotestsrc is-live=true pattern=solid-color foreground-color=") +
             colour + " ! video/x-raw,width=" + std::to_string(kW) +
             ",height=" + std::to_string(kH) + ",framerate=30/1 ! tee name=" + name +
             "_v allow-not-linked=true audiotestsrc is-live=true wave=sine freq=" +
             std::to_string(freq) + " ! audio/x-raw,rate=48000,channels=2 ! tee name=" + name +
             "_a allow-not-linked=true ";
    };
    std::string desc = source("main", "0xffff0000", 440) + source("guest", "0xff00ff00", 660) +
                       source("interp", "0xff0000ff", 880) +
                       "main_v. ! queue ! videoconvert ! video/x-raw,format=I420 ! "
                       "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=60 ! "
                       "video/x-h264,profile=constrained-baseline ! h264parse name=main_h264 "
                       "config-interval=-1 ! fakesink sync=false async=false "
                       "main_a. ! queue ! opusenc name=main_opus ! fakesink sync=false "
                       "async=false";
    GError* error = nullptr;
    pipeline = gst_parse_launch(desc.c_str(), &error);
    EXPECT_TRUE(pipeline) << (error ? error->message : "");
    gst_object_ref_sink(pipeline);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
  }
  ~Room() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
  }
  GstElement* element(const char* name) {
    GstElement* e = gst_bin_get_by_name(GST_BIN(pipeline), name);
    gst_object_unref(e);  // the pipeline keeps it
    return e;
  }
  GstPad* src(const char* name) {
    GstPad* pad = gst_element_get_static_pad(element(name), "src");
    gst_object_unref(pad);
    return pad;
  }
  // A new tee branch for a mixer input; the caller releases it.
  GstPad* teePad(const char* tee) { return gst_element_request_pad_simple(element(tee), "src_%u"); }
  void releaseTeePad(const char* tee, GstPad* pad) {
    gst_element_release_request_pad(element(tee), pad);
    gst_object_unref(pad);
  }
};

std::string connect(Loop& loop, WhepEgress& egress, test::WhepClient& client,
                    const std::string& variant) {
  std::optional<Result<WhepEgress::Created>> result;
  egress.create("r1", variant, client.offer(), [&](Result<WhepEgress::Created> r) { result = r; });
  EXPECT_TRUE(runUntil(
      loop, [&] { return result.has_value(); }, 5s));
  if (!result || !result->ok())
    return {};
  EXPECT_TRUE(client.setAnswer(result->value().answer));
  return result->value().session_id;
}

// Waits until the viewer's latest frame has colour (r,g,b) at (x,y).
bool shows(Loop& loop, test::WhepClient& client, int x, int y, int r, int g, int b) {
  return runUntil(
      loop,
      [&] {
        auto f = client.lastFrame();
        if (f.width != kW || f.height != kH)
          return false;
        return near(test::meanColour(f.rgb, f.width, x, y), r, g, b);
      },
      8s);
}

TEST(StageMixer, PlacesGuestsAndInterpreterApart) {
  StageMixer::Options o{.width = 1280, .height = 720};
  auto main = StageMixer::place(o, StageMixer::Slot::Main);
  auto g0 = StageMixer::place(o, StageMixer::Slot::Guest, 0);
  auto g1 = StageMixer::place(o, StageMixer::Slot::Guest, 1);
  auto in = StageMixer::place(o, StageMixer::Slot::Interpreter);
  EXPECT_EQ(main.width, 1280);
  EXPECT_LE(g0.x + g0.width, 1280);
  EXPECT_LE(g0.y + g0.height, 720);
  EXPECT_LE(g1.y + g1.height, g0.y);  // stacked, not overlapping
  EXPECT_LE(in.x + in.width, g0.x);   // interpreter on the other side
}

TEST(StageMixer, GuestJoinsAndLeavesTheLiveProgramme) {
  Loop loop;
  Room room;
  ProgrammeFeed programme("r1");
  ProgrammeFeed interpreted("r1/interpreter");
  programme.attach(room.pipeline, room.src("main_h264"), room.src("main_opus"));
  WhepEgress::Options options;
  options.session.local_addresses = {"127.0.0.1"};
  WhepEgress egress(loop, options);
  egress.setFeed("r1", "", &programme);

  StageMixer::Options mix{.width = kW, .height = kH};
  auto guest = StageMixer::place(mix, StageMixer::Slot::Guest, 0);
  int gx = guest.x + guest.width / 2, gy = guest.y + guest.height / 4;
  auto interp = StageMixer::place(mix, StageMixer::Slot::Interpreter);
  int ix = interp.x + interp.width / 2, iy = interp.y + interp.height / 4;

  test::WhepClient viewer;
  std::string id = connect(loop, egress, viewer, "");
  ASSERT_FALSE(id.empty());
  // Passthrough: the publisher's red picture, full frame.
  ASSERT_TRUE(shows(loop, viewer, kW / 2, kH / 2, 255, 0, 0));
  ASSERT_TRUE(shows(loop, viewer, gx, gy, 255, 0, 0));
  // No interpreter on stage: no interpreter variant.
  EXPECT_FALSE(egress.hasFeed("r1", "interpreter"));

  // The counsellor joins: the programme becomes the composite.
  TeardownWorker worker;
  auto mixer = std::make_unique<StageMixer>(GST_BIN(room.pipeline), mix, worker);
  GstPad* main_v = room.teePad("main_v");
  GstPad* main_a = room.teePad("main_a");
  GstPad* guest_v = room.teePad("guest_v");
  GstPad* guest_a = room.teePad("guest_a");
  ASSERT_TRUE(mixer->addInput("emp", StageMixer::Slot::Main, "", main_v, main_a).ok());
  ASSERT_TRUE(
      mixer->addInput("coun", StageMixer::Slot::Guest, "Counsellor", guest_v, guest_a).ok());
  programme.attach(room.pipeline, mixer->videoOut(), mixer->audioOut());
  EXPECT_TRUE(shows(loop, viewer, gx, gy, 0, 255, 0)) << "guest tile is not green";
  EXPECT_TRUE(shows(loop, viewer, kW / 2, kH / 2, 255, 0, 0));

  // The interpreter joins: a second variant appears; the programme is unchanged.
  GstPad* interp_v = room.teePad("interp_v");
  ASSERT_TRUE(
      mixer->addInput("sign", StageMixer::Slot::Interpreter, "Interpreter", interp_v, nullptr)
          .ok());
  ASSERT_NE(mixer->interpreterVideoOut(), nullptr);
  interpreted.attach(room.pipeline, mixer->interpreterVideoOut(), mixer->audioOut());
  egress.setFeed("r1", "interpreter", &interpreted);
  test::WhepClient signer;
  ASSERT_FALSE(connect(loop, egress, signer, "interpreter").empty());
  EXPECT_TRUE(shows(loop, signer, ix, iy, 0, 0, 255)) << "interpreter PiP is not blue";
  EXPECT_TRUE(shows(loop, signer, gx, gy, 0, 255, 0));
  EXPECT_TRUE(shows(loop, viewer, ix, iy, 255, 0, 0)) << "programme must not show the interpreter";

  // The interpreter leaves: the variant is withdrawn and no longer encoded.
  egress.setFeed("r1", "interpreter", nullptr);
  interpreted.detach();
  mixer->removeInput("sign");
  room.releaseTeePad("interp_v", interp_v);
  EXPECT_FALSE(mixer->hasInterpreter());
  EXPECT_FALSE(egress.hasFeed("r1", "interpreter"));

  // The counsellor leaves: back to passthrough, same WHEP session.
  uint64_t frames = viewer.videoFrames();
  programme.attach(room.pipeline, room.src("main_h264"), room.src("main_opus"));
  // As the programme switch does: the room's tees are unlinked from the mixer
  // before it goes. The main tees also feed the passthrough encoder; a tee
  // whose push meets the mixer's flushing input returns FLUSHING to its
  // source, and that source stops for good.
  for (GstPad* pad : {main_v, main_a, guest_v, guest_a}) {
    if (GstPad* peer = gst_pad_get_peer(pad)) {
      gst_pad_unlink(pad, peer);
      gst_object_unref(peer);
    }
  }
  mixer.reset();
  for (auto [tee, pad] : {std::pair{"main_v", main_v}, std::pair{"main_a", main_a},
                          std::pair{"guest_v", guest_v}, std::pair{"guest_a", guest_a}})
    room.releaseTeePad(tee, pad);
  EXPECT_TRUE(shows(loop, viewer, gx, gy, 255, 0, 0)) << "guest tile still shown";
  EXPECT_GT(viewer.videoFrames(), frames);
  EXPECT_EQ(egress.viewers("r1"), 1u);
  EXPECT_TRUE(egress.remove("r1", id));
}

}  // namespace
}  // namespace jobcast::media
