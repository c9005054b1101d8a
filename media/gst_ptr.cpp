#include "media/gst_ptr.h"

#include <string>

#include "core/log.h"

namespace jobcast::media {

SdpPtr parseSdp(const std::string& text) {
  GstSDPMessage* sdp = nullptr;
  if (gst_sdp_message_new_from_text(text.c_str(), &sdp) != GST_SDP_OK)
    return nullptr;
  SdpPtr owned(sdp);
  if (gst_sdp_message_medias_len(sdp) == 0)
    return nullptr;
  return owned;
}

std::string sdpText(const GstSDPMessage* sdp) {
  GCharPtr text(gst_sdp_message_as_text(sdp));
  return text ? std::string(text.get()) : std::string();
}

GstElement* makeElement(const char* factory, const char* name) {
  return gst_element_factory_make(factory, name);
}

GstElement* addElement(GstBin* bin, const char* factory, const char* name) {
  GstElement* e = makeElement(factory, name);
  if (!e) {
    log::error("missing GStreamer element", {{"factory", factory}});
    return nullptr;
  }
  gst_bin_add(bin, e);
  return e;
}

}  // namespace jobcast::media
