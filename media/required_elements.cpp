#include "media/required_elements.h"

#include <gst/gst.h>

#include "media/gst_ptr.h"

namespace jobcast::media {

const std::vector<RequiredElement>& requiredElements() {
  // Packages from `dpkg -S` on each plugin file (Debian 12, GStreamer 1.22).
  static const std::vector<RequiredElement> kElements = {
      {"capsfilter", "libgstreamer1.0-0"},
      {"fakesink", "libgstreamer1.0-0"},
      {"identity", "libgstreamer1.0-0"},
      {"input-selector", "libgstreamer1.0-0"},
      {"queue", "libgstreamer1.0-0"},
      {"tee", "libgstreamer1.0-0"},
      {"appsink", "gstreamer1.0-plugins-base"},
      {"appsrc", "gstreamer1.0-plugins-base"},
      {"audioconvert", "gstreamer1.0-plugins-base"},
      {"audiomixer", "gstreamer1.0-plugins-base"},
      {"audioresample", "gstreamer1.0-plugins-base"},
      {"audiotestsrc", "gstreamer1.0-plugins-base"},
      {"compositor", "gstreamer1.0-plugins-base"},
      {"opusdec", "gstreamer1.0-plugins-base"},
      {"opusenc", "gstreamer1.0-plugins-base"},
      {"videoconvert", "gstreamer1.0-plugins-base"},
      {"videoscale", "gstreamer1.0-plugins-base"},
      {"videotestsrc", "gstreamer1.0-plugins-base"},
      {"aacparse", "gstreamer1.0-plugins-good"},
      {"capssetter", "gstreamer1.0-plugins-good"},
      {"mp4mux", "gstreamer1.0-plugins-good"},
      {"rtpbin", "gstreamer1.0-plugins-good"},
      {"rtpfunnel", "gstreamer1.0-plugins-good"},
      {"rtph264depay", "gstreamer1.0-plugins-good"},
      {"rtph264pay", "gstreamer1.0-plugins-good"},
      {"rtpopusdepay", "gstreamer1.0-plugins-good"},
      {"rtpopuspay", "gstreamer1.0-plugins-good"},
      {"splitmuxsink", "gstreamer1.0-plugins-good"},
      {"dtlssrtpdec", "gstreamer1.0-plugins-bad"},
      {"dtlssrtpenc", "gstreamer1.0-plugins-bad"},
      {"h264parse", "gstreamer1.0-plugins-bad"},
      {"hlssink2", "gstreamer1.0-plugins-bad"},
      {"interaudiosink", "gstreamer1.0-plugins-bad"},
      {"interaudiosrc", "gstreamer1.0-plugins-bad"},
      {"intervideosink", "gstreamer1.0-plugins-bad"},
      {"intervideosrc", "gstreamer1.0-plugins-bad"},
      {"mpegtsmux", "gstreamer1.0-plugins-bad"},
      {"srtpdec", "gstreamer1.0-plugins-bad"},
      {"srtpenc", "gstreamer1.0-plugins-bad"},
      {"voaacenc", "gstreamer1.0-plugins-bad"},
      {"webrtcbin", "gstreamer1.0-plugins-bad"},
      {"x264enc", "gstreamer1.0-plugins-ugly"},
      {"avdec_h264", "gstreamer1.0-libav"},
      {"nicesink", "gstreamer1.0-nice"},
      {"nicesrc", "gstreamer1.0-nice"},
      {"clockoverlay", "gstreamer1.0-x"},
      {"textoverlay", "gstreamer1.0-x"},
  };
  return kElements;
}

std::vector<RequiredElement> missingElements() {
  if (!gst_is_initialized())
    gst_init(nullptr, nullptr);
  std::vector<RequiredElement> missing;
  for (const auto& e : requiredElements()) {
    GstPtr<GstElementFactory> factory(gst_element_factory_find(e.factory));
    if (!factory)
      missing.push_back(e);
  }
  return missing;
}

std::string describeMissing(const std::vector<RequiredElement>& missing) {
  std::string out;
  for (const auto& e : missing) {
    if (!out.empty())
      out += ", ";
    out += std::string(e.factory) + " (" + e.package + ")";
  }
  return out;
}

}  // namespace jobcast::media
