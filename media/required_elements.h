#pragma once
// Every GStreamer element factory the node creates, directly or inside an
// element it creates (webrtcbin's ICE and DTLS parts, hlssink2's muxer), with
// the Debian package that installs it. The one list: the start-up check
// (/readyz, --demo) reads it, and a test checks that every factory name in
// the sources is on it.

#include <string>
#include <vector>

namespace jobcast::media {

struct RequiredElement {
  const char* factory;
  const char* package;  // Debian 12
};

const std::vector<RequiredElement>& requiredElements();

// The required factories this machine's GStreamer registry does not have.
std::vector<RequiredElement> missingElements();

// "x264enc (gstreamer1.0-plugins-ugly), textoverlay (gstreamer1.0-x)".
std::string describeMissing(const std::vector<RequiredElement>& missing);

}  // namespace jobcast::media
