#include "media/egress/answer.h"

#include <openssl/rand.h>

#include <sstream>

namespace jobcast::media::egress {
namespace {

std::string trimmed(std::string line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.pop_back();
  return line;
}

}  // namespace

Result<OfferTransport> readOfferTransport(const std::string& sdp) {
  OfferTransport out;
  std::istringstream in(sdp);
  std::string line;
  while (std::getline(in, line)) {
    line = trimmed(line);
    if (line.rfind("m=", 0) == 0) {
      out.mids.emplace_back();
    } else if (line.rfind("a=mid:", 0) == 0 && !out.mids.empty()) {
      out.mids.back() = line.substr(6);
    } else if (line.rfind("a=fingerprint:", 0) == 0) {
      std::string value = line.substr(14);
      auto space = value.find(' ');
      std::string hash = value.substr(0, space);
      for (auto& c : hash)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (hash == "sha-256" && space != std::string::npos && out.fingerprint.empty())
        out.fingerprint = value.substr(space + 1);
    }
  }
  if (out.mids.empty())
    return Error{"bad_sdp", "the offer has no media"};
  if (out.fingerprint.empty())
    return Error{"unsupported_dtls", "the offer has no sha-256 DTLS fingerprint"};
  return out;
}

std::string buildAnswer(const std::vector<AnswerMedia>& media, const AnswerTransport& t) {
  std::ostringstream sdp;
  sdp << "v=0\r\n"
      << "o=- " << (media.empty() ? 0 : media.front().ssrc) << " 2 IN IP4 127.0.0.1\r\n"
      << "s=-\r\n"
      << "t=0 0\r\n"
      << "a=ice-lite\r\n"
      << "a=group:BUNDLE";
  for (const auto& m : media)
    sdp << " " << m.mid;
  sdp << "\r\n"
      << "a=msid-semantic: WMS jobcast\r\n";
  // c= names the first candidate's address (RFC 8839 5.1).
  std::string first = t.addresses.empty() ? "0.0.0.0" : t.addresses.front();
  std::string connection =
      (first.find(':') != std::string::npos ? "c=IN IP6 " : "c=IN IP4 ") + first;
  for (const auto& m : media) {
    sdp << "m=" << m.kind << " " << t.port << " UDP/TLS/RTP/SAVPF " << m.payload;
    if (m.rtx_payload >= 0)
      sdp << " " << m.rtx_payload;
    sdp << "\r\n"
        << connection << "\r\n"
        << "a=mid:" << m.mid << "\r\n"
        << "a=sendonly\r\n"
        << "a=rtcp-mux\r\n"
        << "a=ice-ufrag:" << t.ufrag << "\r\n"
        << "a=ice-pwd:" << t.pwd << "\r\n"
        << "a=fingerprint:sha-256 " << t.fingerprint << "\r\n"
        << "a=setup:passive\r\n"
        << "a=rtpmap:" << m.payload << " " << m.rtpmap << "\r\n";
    if (!m.fmtp.empty())
      sdp << "a=fmtp:" << m.payload << " " << m.fmtp << "\r\n";
    if (m.kind == "video") {
      sdp << "a=rtcp-fb:" << m.payload << " nack\r\n"
          << "a=rtcp-fb:" << m.payload << " nack pli\r\n"
          << "a=rtcp-fb:" << m.payload << " ccm fir\r\n";
      if (m.rtx_payload >= 0) {
        sdp << "a=rtpmap:" << m.rtx_payload << " rtx/90000\r\n"
            << "a=fmtp:" << m.rtx_payload << " apt=" << m.payload << "\r\n";
      }
    }
    sdp << "a=msid:jobcast " << m.kind << "\r\n";
    if (m.rtx_payload >= 0)
      sdp << "a=ssrc-group:FID " << m.ssrc << " " << m.rtx_ssrc << "\r\n";
    sdp << "a=ssrc:" << m.ssrc << " cname:" << t.cname << "\r\n"
        << "a=ssrc:" << m.ssrc << " msid:jobcast " << m.kind << "\r\n";
    if (m.rtx_payload >= 0) {
      sdp << "a=ssrc:" << m.rtx_ssrc << " cname:" << t.cname << "\r\n"
          << "a=ssrc:" << m.rtx_ssrc << " msid:jobcast " << m.kind << "\r\n";
    }
    for (size_t i = 0; i < t.addresses.size(); ++i) {
      // RFC 8445 5.1.2.1: type preference 126 (host), local preference
      // falling by one per address, component 1.
      uint32_t priority = (126u << 24) | ((65535u - static_cast<uint32_t>(i)) << 8) | 255u;
      sdp << "a=candidate:" << (i + 1) << " 1 udp " << priority << " " << t.addresses[i] << " "
          << t.port << " typ host\r\n";
    }
    sdp << "a=end-of-candidates\r\n";
  }
  return sdp.str();
}

std::string randomToken(size_t length) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out(length, 'A');
  std::vector<unsigned char> bytes(length);
  RAND_bytes(bytes.data(), static_cast<int>(length));
  for (size_t i = 0; i < length; ++i)
    out[i] = kAlphabet[bytes[i] % 64];
  return out;
}

}  // namespace jobcast::media::egress
