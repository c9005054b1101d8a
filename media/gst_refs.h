#pragma once
// RAII owners for the GStreamer and GLib objects media/ holds. Nobody in media/
// calls gst_object_unref or gst_caps_unref by hand: wrap the reference here.

#include <gst/gst.h>

#include <memory>
#include <string>

namespace jobcast::media {

struct GObjectUnref {
  void operator()(gpointer object) const {
    if (object)
      g_object_unref(object);
  }
};
struct CapsUnref {
  void operator()(GstCaps* caps) const {
    if (caps)
      gst_caps_unref(caps);
  }
};
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
struct GFree {
  void operator()(gpointer p) const { g_free(p); }
};

template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;
using ElementPtr = GObjectPtr<GstElement>;
using PadPtr = GObjectPtr<GstPad>;
using BusPtr = GObjectPtr<GstBus>;
using ClockPtr = GObjectPtr<GstClock>;
using CapsPtr = std::unique_ptr<GstCaps, CapsUnref>;
using BufferPtr = std::unique_ptr<GstBuffer, BufferUnref>;
using SamplePtr = std::unique_ptr<GstSample, SampleUnref>;
using GCharPtr = std::unique_ptr<gchar, GFree>;

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

// Makes an element or returns null (and logs) when its plugin is missing.
GstElement* makeElement(const char* factory, const std::string& name = {});

}  // namespace jobcast::media
