#pragma once
// More RAII owners beside media/gst_ptr.h (element, pad, bus, clock, buffer
// and sample references) used by WHEP and the stage mixer.

#include <gst/gst.h>

#include "media/gst_ptr.h"  // GObjectPtr, CapsPtr, GCharPtr

#include <functional>
#include <memory>
#include <string>

namespace jobcast::media {

struct BufferUnref {
  void operator()(GstBuffer* buffer) const {
    if (buffer)
      gst_buffer_unref(buffer);
  }
};
struct SampleUnref {
  void operator()(GstSample* sample) const {
    if (sample)
      gst_sample_unref(sample);
  }
};
using ElementPtr = GObjectPtr<GstElement>;
using PadPtr = GObjectPtr<GstPad>;
using BusPtr = GObjectPtr<GstBus>;
using ClockPtr = GObjectPtr<GstClock>;
using BufferPtr = std::unique_ptr<GstBuffer, BufferUnref>;
using SamplePtr = std::unique_ptr<GstSample, SampleUnref>;

// Adopts a floating or full reference: the result owns exactly one reference.
template <typename T>
GObjectPtr<T> adopt(T* object) {
  if (object && g_object_is_floating(object))
    g_object_ref_sink(object);
  return GObjectPtr<T>(object);
}

// Takes an extra reference the caller does not own yet.
template <typename T>
GObjectPtr<T> retain(T* object) {
  if (object)
    g_object_ref(object);
  return GObjectPtr<T>(object);
}

// Calls gst_init once; safe from any thread.
void ensureGstreamer();

// Unlinks `src` from its peer at an idle moment of the pad (an IDLE probe)
// and then calls `then` once, on the thread that found the pad idle: the
// caller's when the pad is idle already, else the pad's streaming thread as
// soon as its push returns. Never waits. `then` only hands work on
// (TeardownWorker::run, Loop::post): it may run on a streaming thread. For
// removing a branch from a running pipeline.
void unlinkWhenIdle(GstPad* src, std::function<void()> then);

}  // namespace jobcast::media
