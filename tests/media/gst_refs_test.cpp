// unlinkWhenIdle never waits: with a push held inside the peer's chain
// function, the call returns at once and the unlink (and its continuation)
// happens on the pushing thread when the push is over.

#include "media/gst_refs.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace jobcast::media {
namespace {

// Holds a buffer inside the sink pad's chain function until opened.
struct Gate {
  std::mutex mutex;
  std::condition_variable changed;
  bool entered = false;
  bool open = false;
};

GstFlowReturn heldChain(GstPad* pad, GstObject*, GstBuffer* buffer) {
  gst_buffer_unref(buffer);
  auto* gate = static_cast<Gate*>(gst_pad_get_element_private(pad));
  std::unique_lock lock(gate->mutex);
  gate->entered = true;
  gate->changed.notify_all();
  gate->changed.wait(lock, [gate] { return gate->open; });
  return GST_FLOW_OK;
}

struct LinkedPads {
  bool initialised = (ensureGstreamer(), true);  // before the pads below
  Gate gate;
  GObjectPtr<GstPad> src = adopt(gst_pad_new("src", GST_PAD_SRC));
  GObjectPtr<GstPad> sink = adopt(gst_pad_new("sink", GST_PAD_SINK));

  LinkedPads() {
    gst_pad_set_element_private(sink.get(), &gate);
    gst_pad_set_chain_function(sink.get(), heldChain);
    gst_pad_set_active(src.get(), TRUE);
    gst_pad_set_active(sink.get(), TRUE);
    EXPECT_EQ(gst_pad_link(src.get(), sink.get()), GST_PAD_LINK_OK);
    gst_pad_push_event(src.get(), gst_event_new_stream_start("held"));
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    gst_pad_push_event(src.get(), gst_event_new_segment(&segment));
  }
  ~LinkedPads() {
    gst_pad_set_active(src.get(), FALSE);
    gst_pad_set_active(sink.get(), FALSE);
  }
};

TEST(UnlinkWhenIdle, ReturnsAtOnceAndUnlinksWhenThePushInProgressIsOver) {
  LinkedPads pads;
  std::thread streaming([&] { gst_pad_push(pads.src.get(), gst_buffer_new()); });
  const std::thread::id streaming_id = streaming.get_id();
  {
    std::unique_lock lock(pads.gate.mutex);
    pads.gate.changed.wait(lock, [&] { return pads.gate.entered; });
  }
  std::atomic<bool> done{false};
  std::thread::id ran_on;
  unlinkWhenIdle(pads.src.get(), [&] {
    ran_on = std::this_thread::get_id();
    done = true;
  });
  // Back here while the push is still held: nothing waited for it.
  EXPECT_FALSE(done.load());
  EXPECT_TRUE(gst_pad_is_linked(pads.src.get()));
  {
    std::lock_guard lock(pads.gate.mutex);
    pads.gate.open = true;
  }
  pads.gate.changed.notify_all();
  streaming.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(ran_on, streaming_id);
  EXPECT_FALSE(gst_pad_is_linked(pads.src.get()));
}

TEST(UnlinkWhenIdle, AnIdlePadIsUnlinkedOnTheCallersThread) {
  LinkedPads pads;
  bool done = false;
  unlinkWhenIdle(pads.src.get(), [&] { done = true; });
  EXPECT_TRUE(done);
  EXPECT_FALSE(gst_pad_is_linked(pads.src.get()));
}

}  // namespace
}  // namespace jobcast::media
