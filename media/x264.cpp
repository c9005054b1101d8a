#include "media/x264.h"

namespace jobcast::media {

void configureX264(GstElement* encoder, const X264Options& o) {
  gst_util_set_object_arg(G_OBJECT(encoder), "tune", "zerolatency");
  gst_util_set_object_arg(G_OBJECT(encoder), "speed-preset", "ultrafast");
  g_object_set(encoder, "bitrate", static_cast<guint>(o.kbps), "key-int-max",
               static_cast<guint>(o.key_int_max), nullptr);
  if (o.vbv_ms > 0)
    g_object_set(encoder, "vbv-buf-capacity", static_cast<guint>(o.vbv_ms), nullptr);
  if (o.no_scenecut)
    g_object_set(encoder, "option-string", "scenecut=0", nullptr);
}

}  // namespace jobcast::media
