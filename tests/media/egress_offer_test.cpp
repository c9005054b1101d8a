// Offers as the browsers viewers use write them, answered by the egress
// engine's SDP side (ViewerOffer for the codecs, readOfferTransport and
// buildAnswer for the rest): Chromium (many codecs, RTX per codec, header
// extensions), Firefox with its OpenH264 plugin (H.264 in both packetization
// modes, audio first), Safari (Constrained High and Baseline H.264, RTX).
// Each gets H.264 in packetization mode 1 with the profile closest to the
// programme's, RTX where offered, Opus, its own mids in a bundle, and our
// ICE-lite transport. An offer with no usable codec (Firefox ESR without
// OpenH264 offers only VP8 and VP9) gets a clear reason.

#include <gst/sdp/sdp.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "media/egress/answer.h"
#include "media/whep_session.h"

namespace jobcast::media::egress {
namespace {

const char kFingerprint[] =
    "5B:1F:3A:96:0E:62:AC:7D:81:49:E0:3C:55:D2:6B:1A:F0:8E:24:C7:93:B5:0D:6F:12:A8:3E:70:C4:"
    "59:8B:E1";

std::string transportLines(const std::string& setup) {
  return std::string(
             "a=ice-ufrag:Ab3d\r\na=ice-pwd:qwertyuiopasdfghjklzxcvb\r\n"
             "a=ice-options:trickle\r\na=fingerprint:sha-256 ") +
         kFingerprint + "\r\na=setup:" + setup + "\r\n";
}

// Chromium 120 (addTransceiver('video'), then 'audio', both recvonly).
std::string chromiumOffer() {
  return "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
         "a=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n"
         "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 45 46\r\n"
         "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
         transportLines("actpass") +
         "a=mid:0\r\n"
         "a=extmap:1 urn:ietf:params:rtp-hdrext:toffset\r\n"
         "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
         "a=extmap:3 urn:3gpp:video-orientation\r\n"
         "a=extmap:4 "
         "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
         "a=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
         "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\n"
         "a=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"
         "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
         "a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n"
         "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
         "a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n"
         "a=rtpmap:104 H264/90000\r\na=rtcp-fb:104 nack\r\n"
         "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f\r\n"
         "a=rtpmap:105 rtx/90000\r\na=fmtp:105 apt=104\r\n"
         "a=rtpmap:106 H264/90000\r\na=rtcp-fb:106 nack\r\na=rtcp-fb:106 nack pli\r\n"
         "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
         "a=rtpmap:107 rtx/90000\r\na=fmtp:107 apt=106\r\n"
         "a=rtpmap:108 H264/90000\r\na=rtcp-fb:108 nack\r\n"
         "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\r\n"
         "a=rtpmap:109 rtx/90000\r\na=fmtp:109 apt=108\r\n"
         "a=rtpmap:127 H264/90000\r\na=rtcp-fb:127 nack\r\na=rtcp-fb:127 nack pli\r\n"
         "a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r\n"
         "a=rtpmap:125 rtx/90000\r\na=fmtp:125 apt=127\r\n"
         "a=rtpmap:39 H264/90000\r\na=rtcp-fb:39 nack\r\n"
         "a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f\r\n"
         "a=rtpmap:40 rtx/90000\r\na=fmtp:40 apt=39\r\n"
         "a=rtpmap:45 AV1/90000\r\na=rtcp-fb:45 nack\r\n"
         "a=rtpmap:46 rtx/90000\r\na=fmtp:46 apt=45\r\n"
         "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
         "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
         transportLines("actpass") +
         "a=mid:1\r\n"
         "a=extmap:14 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
         "a=recvonly\r\na=rtcp-mux\r\n"
         "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n"
         "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
         "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n"
         "a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
         "a=rtpmap:13 CN/8000\r\na=rtpmap:110 telephone-event/48000\r\n"
         "a=rtpmap:126 telephone-event/8000\r\n";
}

// Firefox 115 with the OpenH264 plugin: audio first, H.264 in both modes.
std::string firefoxOffer(bool openh264) {
  std::string video_pts = openh264 ? "120 124 121 125 126 127 97 98" : "120 124 121 125";
  std::string h264 =
      openh264 ? "a=rtpmap:126 H264/90000\r\n"
                 "a=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;"
                 "packetization-mode=1\r\n"
                 "a=rtcp-fb:126 nack\r\na=rtcp-fb:126 nack pli\r\na=rtcp-fb:126 ccm fir\r\n"
                 "a=rtpmap:127 rtx/90000\r\na=fmtp:127 apt=126\r\n"
                 "a=rtpmap:97 H264/90000\r\n"
                 "a=fmtp:97 profile-level-id=42e01f;level-asymmetry-allowed=1\r\n"
                 "a=rtpmap:98 rtx/90000\r\na=fmtp:98 apt=97\r\n"
               : "";
  return "v=0\r\no=mozilla...THIS_IS_SDPARTA-115.5.0 5361209474581394044 0 IN IP4 0.0.0.0\r\n"
         "s=-\r\nt=0 0\r\na=sendrecv\r\na=fingerprint:sha-256 " +
         std::string(kFingerprint) +
         "\r\na=group:BUNDLE 0 1\r\na=ice-options:trickle\r\na=msid-semantic:WMS *\r\n"
         "m=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101\r\nc=IN IP4 0.0.0.0\r\na=recvonly\r\n"
         "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
         "a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1\r\n"
         "a=fmtp:101 0-15\r\na=ice-pwd:0b3c1e2f4a5d6e7f8091a2b3c4d5e6f7\r\n"
         "a=ice-ufrag:7b2c91d4\r\na=mid:0\r\na=rtcp-mux\r\n"
         "a=rtpmap:109 opus/48000/2\r\na=rtpmap:9 G722/8000/1\r\na=rtpmap:0 PCMU/8000\r\n"
         "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=setup:actpass\r\n"
         "m=video 9 UDP/TLS/RTP/SAVPF " +
         video_pts +
         "\r\nc=IN IP4 0.0.0.0\r\na=recvonly\r\n"
         "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
         "a=fmtp:120 max-fs=12288;max-fr=60\r\na=fmtp:124 apt=120\r\n"
         "a=fmtp:121 max-fs=12288;max-fr=60\r\na=fmtp:125 apt=121\r\n" +
         h264 +
         "a=ice-pwd:0b3c1e2f4a5d6e7f8091a2b3c4d5e6f7\r\na=ice-ufrag:7b2c91d4\r\na=mid:1\r\n"
         "a=rtcp-fb:120 nack\r\na=rtcp-fb:120 nack pli\r\na=rtcp-fb:120 ccm fir\r\n"
         "a=rtcp-mux\r\na=rtcp-rsize\r\n"
         "a=rtpmap:120 VP8/90000\r\na=rtpmap:124 rtx/90000\r\n"
         "a=rtpmap:121 VP9/90000\r\na=rtpmap:125 rtx/90000\r\na=setup:actpass\r\n";
}

// Safari 17 (video, then audio, recvonly).
std::string safariOffer() {
  return "v=0\r\no=- 2747512837471952102 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
         "a=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n"
         "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 127 125\r\n"
         "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
         transportLines("actpass") +
         "a=mid:0\r\n"
         "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
         "a=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
         "a=rtpmap:96 H264/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\n"
         "a=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"
         "a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f\r\n"
         "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
         "a=rtpmap:98 H264/90000\r\na=rtcp-fb:98 goog-remb\r\na=rtcp-fb:98 transport-cc\r\n"
         "a=rtcp-fb:98 ccm fir\r\na=rtcp-fb:98 nack\r\na=rtcp-fb:98 nack pli\r\n"
         "a=fmtp:98 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
         "a=rtpmap:99 rtx/90000\r\na=fmtp:99 apt=98\r\n"
         "a=rtpmap:100 VP8/90000\r\na=rtcp-fb:100 nack\r\n"
         "a=rtpmap:101 rtx/90000\r\na=fmtp:101 apt=100\r\n"
         "a=rtpmap:127 H265/90000\r\na=rtcp-fb:127 nack\r\n"
         "a=rtpmap:125 rtx/90000\r\na=fmtp:125 apt=127\r\n"
         "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 103 9 0 8 105 13 110 113 126\r\n"
         "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
         transportLines("actpass") +
         "a=mid:1\r\na=recvonly\r\na=rtcp-mux\r\n"
         "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n"
         "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
         "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\na=rtpmap:103 ISAC/16000\r\n"
         "a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
         "a=rtpmap:105 CN/16000\r\na=rtpmap:13 CN/8000\r\na=rtpmap:110 telephone-event/48000\r\n"
         "a=rtpmap:113 telephone-event/16000\r\na=rtpmap:126 telephone-event/8000\r\n";
}

struct Expected {
  std::vector<std::string> kinds;  // in m-line order
  int video_pt;
  std::string profile;
  int rtx_pt;
  int audio_pt;
};

// Answers `offer` as EgressRendition::addViewer does and checks the answer.
void answers(const std::string& offer, const Expected& want) {
  auto parsed = ViewerOffer::parse(offer, "42e01f");  // the programme: Constrained Baseline
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto transport = readOfferTransport(offer);
  ASSERT_TRUE(transport) << transport.error().message;
  EXPECT_EQ(transport->fingerprint, kFingerprint);
  ASSERT_EQ(parsed->media.size(), want.kinds.size());
  std::vector<AnswerMedia> media;
  for (size_t i = 0; i < parsed->media.size(); ++i) {
    const auto& chosen = parsed->media[i];
    EXPECT_EQ(chosen.kind, want.kinds[i]);
    AnswerMedia m{chosen.kind, transport->mids.at(i), chosen.payload};
    m.ssrc = 1000 + static_cast<uint32_t>(i);
    if (chosen.kind == "video") {
      EXPECT_EQ(chosen.payload, want.video_pt);
      EXPECT_EQ(chosen.profile_level_id, want.profile);
      EXPECT_EQ(chosen.rtx_payload, want.rtx_pt);
      m.rtpmap = "H264/90000";
      m.fmtp = "packetization-mode=1;profile-level-id=" + chosen.profile_level_id;
      m.rtx_payload = chosen.rtx_payload;
      m.rtx_ssrc = 2000;
    } else {
      EXPECT_EQ(chosen.payload, want.audio_pt);
      m.rtpmap = "opus/48000/2";
    }
    media.push_back(m);
  }
  std::string answer = buildAnswer(
      media,
      {"ufrag123", "pwd0123456789abcdefghijk", kFingerprint, {"192.0.2.7"}, 40000, "jobcast-r1"});
  // The answer's m-lines are the offer's, in its order, with its mids.
  std::smatch m;
  std::string rest = answer;
  for (size_t i = 0; i < want.kinds.size(); ++i) {
    ASSERT_TRUE(
        std::regex_search(rest, m, std::regex("m=(\\w+) 40000 UDP/TLS/RTP/SAVPF ([0-9 ]+)")))
        << answer;
    EXPECT_EQ(m[1].str(), want.kinds[i]);
    rest = m.suffix();
  }
  EXPECT_NE(answer.find("a=group:BUNDLE " + transport->mids[0] + " " + transport->mids[1]),
            std::string::npos)
      << answer;
  EXPECT_NE(answer.find("a=ice-lite"), std::string::npos);
  EXPECT_NE(answer.find("a=setup:passive"), std::string::npos);
  EXPECT_NE(answer.find("a=candidate:"), std::string::npos);
  EXPECT_NE(answer.find("192.0.2.7 40000 typ host"), std::string::npos) << answer;
  EXPECT_NE(answer.find("a=rtpmap:" + std::to_string(want.video_pt) + " H264/90000"),
            std::string::npos)
      << answer;
  if (want.rtx_pt >= 0) {
    EXPECT_NE(answer.find("a=fmtp:" + std::to_string(want.rtx_pt) +
                          " apt=" + std::to_string(want.video_pt)),
              std::string::npos)
        << answer;
  }
  EXPECT_NE(answer.find("a=rtpmap:" + std::to_string(want.audio_pt) + " opus/48000/2"),
            std::string::npos)
      << answer;
  // What we answer parses as SDP (the browser's parser is stricter still).
  GstSDPMessage* sdp = nullptr;
  ASSERT_EQ(gst_sdp_message_new_from_text(answer.c_str(), &sdp), GST_SDP_OK);
  EXPECT_EQ(gst_sdp_message_medias_len(sdp), want.kinds.size());
  gst_sdp_message_free(sdp);
}

TEST(EgressOffers, ChromiumGetsConstrainedBaselineInModeOneWithItsRtx) {
  // 42e01f in mode 1 (106, RTX 107): not 42001f (Baseline), not mode 0, not Main.
  answers(chromiumOffer(), {{"video", "audio"}, 106, "42e01f", 107, 111});
}

TEST(EgressOffers, FirefoxWithOpenH264GetsModeOneAndAudioStaysFirst) {
  answers(firefoxOffer(true), {{"audio", "video"}, 126, "42e01f", 127, 109});
}

TEST(EgressOffers, SafariGetsConstrainedBaselineBesideItsConstrainedHigh) {
  answers(safariOffer(), {{"video", "audio"}, 98, "42e01f", 99, 111});
}

TEST(EgressOffers, AnOfferWithoutUsableH264IsRefusedWithTheReason) {
  auto parsed = ViewerOffer::parse(firefoxOffer(false), "42e01f");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, "unsupported_codec");
  EXPECT_NE(parsed.error().message.find("packetization-mode=1"), std::string::npos);
  // Mode 0 only is no better.
  std::string mode0 = std::regex_replace(chromiumOffer(), std::regex("packetization-mode=1"),
                                         "packetization-mode=0");
  parsed = ViewerOffer::parse(mode0, "42e01f");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, "unsupported_codec");
}

}  // namespace
}  // namespace jobcast::media::egress
