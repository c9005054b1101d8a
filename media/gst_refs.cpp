#include "media/gst_refs.h"

#include <mutex>

#include "core/log.h"

namespace jobcast::media {

void ensureGstreamer() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

GstElement* makeElement(const char* factory, const std::string& name) {
  GstElement* element = gst_element_factory_make(factory, name.empty() ? nullptr : name.c_str());
  if (!element)
    log::error("GStreamer element missing", {{"factory", factory}});
  return element;
}

}  // namespace jobcast::media
