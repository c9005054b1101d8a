#include "media/sdp.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

namespace jobcast::media {
namespace {

// Lower is better; -1: not acceptable.
int h264Rank(const std::string& fmtp) {
  auto has = [&](const char* text) { return fmtp.find(text) != std::string::npos; };
  if (!has("packetization-mode=1"))
    return -1;
  auto pos = fmtp.find("profile-level-id=");
  if (pos == std::string::npos)
    return 1;  // baseline by default (RFC 6184)
  std::string id = fmtp.substr(pos + 17, 4);
  for (auto& c : id)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (id.size() < 4)
    return -1;
  std::string profile = id.substr(0, 2);
  unsigned iop = std::strtoul(id.substr(2, 2).c_str(), nullptr, 16);
  if (profile == "42")
    return (iop & 0x40) ? 0 : 1;  // constraint_set1: constrained baseline
  if (profile == "4d")
    return 2;
  if (profile == "64")
    return 3;
  return -1;
}

std::string fmtpFor(const GstSDPMedia* media, int pt) {
  std::string prefix = std::to_string(pt) + " ";
  for (guint i = 0; i < gst_sdp_media_attributes_len(media); ++i) {
    const GstSDPAttribute* a = gst_sdp_media_get_attribute(media, i);
    if (a->key && std::strcmp(a->key, "fmtp") == 0 && a->value &&
        std::string(a->value).rfind(prefix, 0) == 0) {
      return std::string(a->value).substr(prefix.size());
    }
  }
  return {};
}

}  // namespace

Result<std::vector<OfferedMedia>> chooseOfferedMedia(const GstSDPMessage& offer) {
  std::vector<OfferedMedia> out;
  bool video = false;
  bool audio = false;
  for (guint m = 0; m < gst_sdp_message_medias_len(&offer); ++m) {
    const GstSDPMedia* media = gst_sdp_message_get_media(&offer, m);
    std::string kind = gst_sdp_media_get_media(media) ? gst_sdp_media_get_media(media) : "";
    if (gst_sdp_media_get_port(media) == 0 &&
        !gst_sdp_media_get_attribute_val(media, "bundle-only"))
      continue;  // rejected or disabled m-line
    const char* dir_send = gst_sdp_media_get_attribute_val(media, "sendonly");
    const char* dir_recv = gst_sdp_media_get_attribute_val(media, "recvonly");
    const char* dir_inactive = gst_sdp_media_get_attribute_val(media, "inactive");
    if (dir_recv || dir_inactive)
      continue;  // a publisher sends; recvonly lines get no media from us
    (void)dir_send;
    OfferedMedia best;
    int best_rank = 100;
    for (guint i = 0; i < gst_sdp_media_attributes_len(media); ++i) {
      const GstSDPAttribute* a = gst_sdp_media_get_attribute(media, i);
      if (!a->key || std::strcmp(a->key, "rtpmap") != 0 || !a->value)
        continue;
      std::string value = a->value;
      int pt = std::atoi(value.c_str());
      auto space = value.find(' ');
      if (space == std::string::npos)
        continue;
      std::string codec = value.substr(space + 1);
      for (auto& c : codec)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (kind == "video" && !video && codec.rfind("H264/90000", 0) == 0) {
        std::string fmtp = fmtpFor(media, pt);
        int rank = h264Rank(fmtp);
        if (rank >= 0 && rank < best_rank) {
          best_rank = rank;
          best = OfferedMedia{m, kind, pt, fmtp};
        }
      } else if (kind == "audio" && !audio && codec.rfind("OPUS/48000", 0) == 0 &&
                 best.payload < 0) {
        best = OfferedMedia{m, kind, pt, fmtpFor(media, pt)};
        best_rank = 0;
      }
    }
    if (best.payload >= 0) {
      (kind == "video" ? video : audio) = true;
      out.push_back(best);
    }
  }
  if (!video)
    return Error{"bad_sdp", "the offer must send H.264 video (packetization-mode=1)"};
  if (!audio)
    return Error{"bad_sdp", "the offer must send Opus audio"};
  return out;
}

std::string addPublicAddress(const std::string& sdp, const std::string& public_ip) {
  if (public_ip.empty())
    return sdp;
  std::istringstream in(sdp);
  std::string out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    out += line + "\r\n";
    // a=candidate:FOUNDATION COMPONENT udp PRIORITY ADDRESS PORT typ host ...
    if (line.rfind("a=candidate:", 0) != 0 || line.find(" typ host") == std::string::npos)
      continue;
    std::istringstream fields(line.substr(12));
    std::string foundation, component, transport, priority, address, port;
    fields >> foundation >> component >> transport >> priority >> address >> port;
    if (address == public_ip || address.find(':') != std::string::npos)
      continue;
    std::string rest;
    std::getline(fields, rest);
    long long prio = std::atoll(priority.c_str());
    out += "a=candidate:" + foundation + "9 " + component + " " + transport + " " +
           std::to_string(prio > 1 ? prio - 1 : prio) + " " + public_ip + " " + port + rest +
           "\r\n";
  }
  return out;
}

}  // namespace jobcast::media
