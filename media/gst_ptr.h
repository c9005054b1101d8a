#pragma once
// RAII owners for GStreamer and GLib objects: the one place in media/ that
// releases references. Everything else holds these instead of raw pointers.

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <memory>
#include <string>

namespace jobcast::media {

struct GstObjectUnref {
  void operator()(gpointer object) const {
    if (object)
      gst_object_unref(object);
  }
};
struct GObjectUnref {
  void operator()(gpointer object) const {
    if (object)
      g_object_unref(object);
  }
};
struct GstCapsUnref {
  void operator()(GstCaps* caps) const {
    if (caps)
      gst_caps_unref(caps);
  }
};
struct GstMessageUnref {
  void operator()(GstMessage* message) const {
    if (message)
      gst_message_unref(message);
  }
};
struct GstPromiseUnref {
  void operator()(GstPromise* promise) const {
    if (promise)
      gst_promise_unref(promise);
  }
};
struct GstSdpMessageFree {
  void operator()(GstSDPMessage* sdp) const {
    if (sdp)
      gst_sdp_message_free(sdp);
  }
};
struct WebRtcDescriptionFree {
  void operator()(GstWebRTCSessionDescription* desc) const {
    if (desc)
      gst_webrtc_session_description_free(desc);
  }
};
struct GFree {
  void operator()(gpointer p) const { g_free(p); }
};
struct GSourceDestroy {
  void operator()(GSource* source) const {
    if (source) {
      g_source_destroy(source);
      g_source_unref(source);
    }
  }
};

template <typename T>
using GstPtr = std::unique_ptr<T, GstObjectUnref>;
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;
using CapsPtr = std::unique_ptr<GstCaps, GstCapsUnref>;
using MessagePtr = std::unique_ptr<GstMessage, GstMessageUnref>;
using PromisePtr = std::unique_ptr<GstPromise, GstPromiseUnref>;
using SdpPtr = std::unique_ptr<GstSDPMessage, GstSdpMessageFree>;
using DescriptionPtr = std::unique_ptr<GstWebRTCSessionDescription, WebRtcDescriptionFree>;
using GCharPtr = std::unique_ptr<gchar, GFree>;
using SourcePtr = std::unique_ptr<GSource, GSourceDestroy>;

// A reference that may be copied (into a posted std::function, say).
template <typename T>
std::shared_ptr<T> sharedRef(T* object) {
  gst_object_ref(object);
  return std::shared_ptr<T>(object, GstObjectUnref{});
}

// Takes ownership of a pipeline: on destruction sets it to NULL (which joins its
// streaming threads) before dropping the last reference.
struct PipelineDelete {
  void operator()(GstElement* pipeline) const {
    if (pipeline) {
      gst_element_set_state(pipeline, GST_STATE_NULL);
      gst_object_unref(pipeline);
    }
  }
};
using PipelinePtr = std::unique_ptr<GstElement, PipelineDelete>;

// Parses SDP text; null when it is not SDP.
SdpPtr parseSdp(const std::string& text);
std::string sdpText(const GstSDPMessage* sdp);

// Makes an element or returns null (the caller reports which factory is missing).
GstElement* makeElement(const char* factory, const char* name = nullptr);

// Makes an element into `bin`; null (and the missing factory logged) when
// GStreamer has no such factory.
GstElement* addElement(GstBin* bin, const char* factory, const char* name = nullptr);

// The error message a webrtcbin promise replied with, or empty when it
// succeeded. Frees the GError it reads.
inline std::string promiseReplyError(const GstStructure* reply) {
  if (!reply || !gst_structure_has_field(reply, "error"))
    return {};
  GError* error = nullptr;
  gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
  std::string text = error ? error->message : "failed";
  if (error)
    g_error_free(error);
  return text;
}

}  // namespace jobcast::media
