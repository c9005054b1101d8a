#include "media/gst_refs.h"

#include <mutex>

namespace jobcast::media {

void ensureGstreamer() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

}  // namespace jobcast::media
