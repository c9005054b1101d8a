#include "media/gst_refs.h"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

namespace jobcast::media {

void ensureGstreamer() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

void unlinkWhenIdle(GstPad* src) {
  if (!src)
    return;
  GstPtr<GstPad> peer(gst_pad_get_peer(src));
  if (!peer)
    return;
  struct Wait {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
  };
  auto wait = std::make_shared<Wait>();
  gst_pad_add_probe(
      src, GST_PAD_PROBE_TYPE_IDLE,
      [](GstPad* pad, GstPadProbeInfo*, gpointer data) -> GstPadProbeReturn {
        auto& w = **static_cast<std::shared_ptr<Wait>*>(data);
        GstPtr<GstPad> peer(gst_pad_get_peer(pad));
        if (peer)
          gst_pad_unlink(pad, peer.get());
        std::lock_guard lock(w.mutex);
        w.done = true;
        w.cv.notify_all();
        return GST_PAD_PROBE_REMOVE;
      },
      new std::shared_ptr<Wait>(wait),
      [](gpointer data) { delete static_cast<std::shared_ptr<Wait>*>(data); });
  std::unique_lock lock(wait->mutex);
  if (!wait->cv.wait_for(lock, std::chrono::seconds(2), [&] { return wait->done; })) {
    lock.unlock();
    gst_pad_unlink(src, peer.get());
  }
}

}  // namespace jobcast::media
