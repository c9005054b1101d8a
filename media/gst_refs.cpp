#include "media/gst_refs.h"

#include <memory>
#include <mutex>

namespace jobcast::media {

void ensureGstreamer() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

void unlinkWhenIdle(GstPad* src, std::function<void()> then) {
  GstPtr<GstPad> peer(src ? gst_pad_get_peer(src) : nullptr);
  if (!peer) {
    if (then)
      then();
    return;
  }
  // Runs once: the probe removes itself.
  gst_pad_add_probe(
      src, GST_PAD_PROBE_TYPE_IDLE,
      [](GstPad* pad, GstPadProbeInfo*, gpointer data) -> GstPadProbeReturn {
        GstPtr<GstPad> peer(gst_pad_get_peer(pad));
        if (peer)
          gst_pad_unlink(pad, peer.get());
        auto& then = *static_cast<std::function<void()>*>(data);
        if (then)
          then();
        then = nullptr;
        return GST_PAD_PROBE_REMOVE;
      },
      new std::function<void()>(std::move(then)),
      [](gpointer data) { delete static_cast<std::function<void()>*>(data); });
}

}  // namespace jobcast::media
