// The engine's OpenSSL SRTP sender against libsrtp: for both profiles the
// same master key gives byte-for-byte the packets libsrtp writes (plain
// headers, CSRCs, header extensions, several SSRCs, a sequence number that
// wraps, a retransmission from before the wrap), and libsrtp's receiver
// opens every one of them. The same for our RTCP (SrtcpSender): sender
// reports and SDES as the engine sends them, index after index.

#include "media/egress/srtp_sender.h"

#include <gtest/gtest.h>
#include <openssl/rand.h>

#include <cstring>

#include "media/egress/rtcp.h"
#include "media/egress/srtp.h"

namespace jobcast::media::egress {
namespace {

std::vector<uint8_t> rtp(uint32_t ssrc, uint16_t seq, size_t payload, int csrcs, int ext_words) {
  std::vector<uint8_t> p(12);
  p[0] = static_cast<uint8_t>(0x80 | (ext_words >= 0 ? 0x10 : 0) | csrcs);
  p[1] = 96;
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  uint32_t ts = seq * 3000u;
  for (int i = 0; i < 4; ++i) {
    p[4 + i] = static_cast<uint8_t>(ts >> (24 - 8 * i));
    p[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  }
  for (int i = 0; i < 4 * csrcs; ++i)
    p.push_back(static_cast<uint8_t>(0x40 + i));
  if (ext_words >= 0) {
    p.insert(p.end(), {0xbe, 0xde, 0, static_cast<uint8_t>(ext_words)});
    for (int i = 0; i < 4 * ext_words; ++i)
      p.push_back(static_cast<uint8_t>(0x10 + i));
  }
  for (size_t i = 0; i < payload; ++i)
    p.push_back(static_cast<uint8_t>(seq + i * 7));
  return p;
}

void samePacketsAsLibsrtp(SrtpProfile profile) {
  std::vector<uint8_t> key_salt(keySaltLength(profile));
  ASSERT_EQ(RAND_bytes(key_salt.data(), static_cast<int>(key_salt.size())), 1);
  auto ours = SrtpSender::create(profile, key_salt);
  ASSERT_TRUE(ours) << ours.error().message;
  auto reference = SrtpSession::create(profile, SrtpSession::Direction::Outbound, key_salt);
  auto receiver = SrtpSession::create(profile, SrtpSession::Direction::Inbound, key_salt);
  ASSERT_TRUE(reference && receiver);

  struct Case {
    uint32_t ssrc;
    uint16_t seq;
    size_t payload;
    int csrcs;
    int ext_words;        // -1: no extension
    bool resent = false;  // a replay to the receiver
  };
  std::vector<Case> cases;
  // A video SSRC whose sequence numbers wrap, with an audio SSRC beside it.
  for (uint32_t seq = 65500; seq < 65536 + 40; ++seq) {
    cases.push_back({0x11223344, static_cast<uint16_t>(seq), 1188, 0, -1});
    if (seq % 3 == 0)
      cases.push_back({0x55667788, static_cast<uint16_t>(seq * 2), 97, 0, 1});
  }
  cases.push_back({0x11223344, 65530, 1188, 0, -1, true});  // resent after the wrap
  cases.push_back({0x11223344, 41, 3, 2, 2});               // CSRCs and an extension
  cases.push_back({0x99aabbcc, 7, 0, 0, -1});               // an empty payload

  for (const Case& c : cases) {
    auto plain = rtp(c.ssrc, c.seq, c.payload, c.csrcs, c.ext_words);
    std::vector<uint8_t> a(plain.size() + kSrtpMaxTrailer), b(a.size());
    std::memcpy(a.data(), plain.data(), plain.size());
    std::memcpy(b.data(), plain.data(), plain.size());
    size_t a_size = plain.size(), b_size = plain.size();
    ASSERT_TRUE(ours.value()->protect(a.data(), &a_size, a.size()));
    ASSERT_TRUE(reference.value()->protectRtp(b.data(), &b_size, b.size()));
    a.resize(a_size);
    b.resize(b_size);
    ASSERT_EQ(a, b) << profileName(profile) << " ssrc " << c.ssrc << " seq " << c.seq;
    // From a shared packet: only the header in the datagram, the payload
    // read from the source as it is encrypted. Same bytes.
    std::vector<uint8_t> d(plain.size() + kSrtpMaxTrailer, 0xee);
    size_t header = SrtpSender::headerLength(plain.data(), plain.size());
    ASSERT_GT(header, 0u);
    std::memcpy(d.data(), plain.data(), header);
    size_t d_size = plain.size();
    ASSERT_TRUE(ours.value()->protect(d.data(), &d_size, d.size(), plain.data()));
    d.resize(d_size);
    EXPECT_EQ(d, a);
    if (c.payload > 0) {  // the payload is encrypted, not left as it was
      EXPECT_NE(std::vector<uint8_t>(a.begin(), a.begin() + plain.size()), plain);
    }
    if (c.resent)
      continue;
    size_t opened = a.size();
    ASSERT_TRUE(receiver.value()->unprotectRtp(a.data(), &opened)) << c.seq;
    a.resize(opened);
    EXPECT_EQ(a, plain);
  }
}

TEST(EgressSrtpSender, GcmPacketsAreTheBytesLibsrtpWrites) {
  samePacketsAsLibsrtp(SrtpProfile::AeadAes128Gcm);
}

TEST(EgressSrtpSender, AesCmPacketsAreTheBytesLibsrtpWrites) {
  samePacketsAsLibsrtp(SrtpProfile::AesCm128HmacSha1_80);
}

TEST(EgressSrtpSender, RefusesWhatIsNotRtpAndTooManySsrcs) {
  std::vector<uint8_t> key_salt(keySaltLength(SrtpProfile::AeadAes128Gcm), 7);
  auto sender = SrtpSender::create(SrtpProfile::AeadAes128Gcm, key_salt);
  ASSERT_TRUE(sender);
  EXPECT_FALSE(SrtpSender::create(SrtpProfile::AesCm128HmacSha1_80, key_salt));  // 28 bytes, not 30

  std::vector<uint8_t> buffer(64 + kSrtpMaxTrailer);
  size_t size = 11;  // shorter than a header
  EXPECT_FALSE(sender.value()->protect(buffer.data(), &size, buffer.size()));
  auto packet = rtp(1, 1, 20, 0, 4);
  packet.resize(20);  // the extension runs past the end
  std::memcpy(buffer.data(), packet.data(), packet.size());
  size = packet.size();
  EXPECT_FALSE(sender.value()->protect(buffer.data(), &size, buffer.size()));
  packet = rtp(1, 1, 20, 0, -1);
  std::memcpy(buffer.data(), packet.data(), packet.size());
  size = packet.size();
  EXPECT_FALSE(sender.value()->protect(buffer.data(), &size, packet.size() + 4));  // no room

  for (uint32_t ssrc = 1; ssrc <= SrtpSender::kMaxStreams + 1; ++ssrc) {
    packet = rtp(ssrc, 1, 20, 0, -1);
    std::memcpy(buffer.data(), packet.data(), packet.size());
    size = packet.size();
    EXPECT_EQ(sender.value()->protect(buffer.data(), &size, buffer.size()),
              ssrc <= SrtpSender::kMaxStreams)
        << ssrc;
  }
}

void sameRtcpAsLibsrtp(SrtpProfile profile) {
  std::vector<uint8_t> key_salt(keySaltLength(profile));
  ASSERT_EQ(RAND_bytes(key_salt.data(), static_cast<int>(key_salt.size())), 1);
  auto ours = SrtcpSender::create(profile, key_salt);
  ASSERT_TRUE(ours) << ours.error().message;
  auto reference = SrtpSession::create(profile, SrtpSession::Direction::Outbound, key_salt);
  auto receiver = SrtpSession::create(profile, SrtpSession::Direction::Inbound, key_salt);
  ASSERT_TRUE(reference && receiver);
  for (uint32_t i = 0; i < 300; ++i) {
    // Two SRs and the SDES, as a viewer gets them; now and then one SR and
    // a long CNAME (other lengths, another sender SSRC).
    std::vector<rtcp::SenderInfo> streams = {
        {0x11223344, 0xe1000000'00000000ull + i, i * 3000, i, i * 1100}};
    if (i % 7 != 0)
      streams.push_back({0x55667788, 0xe1000000'00000000ull + i, i * 960, i, i * 90});
    auto plain = rtcp::senderReports(streams, i % 7 ? "jobcast-r1" : std::string(40 + i % 50, 'c'));
    std::vector<uint8_t> a(plain.size() + kSrtpMaxTrailer), b(a.size());
    std::memcpy(a.data(), plain.data(), plain.size());
    std::memcpy(b.data(), plain.data(), plain.size());
    size_t a_size = plain.size(), b_size = plain.size();
    ASSERT_TRUE(ours.value()->protect(a.data(), &a_size, a.size()));
    ASSERT_TRUE(reference.value()->protectRtcp(b.data(), &b_size, b.size()));
    a.resize(a_size);
    b.resize(b_size);
    ASSERT_EQ(a, b) << profileName(profile) << " packet " << i;
    EXPECT_NE(std::vector<uint8_t>(a.begin() + 8, a.begin() + static_cast<long>(plain.size())),
              std::vector<uint8_t>(plain.begin() + 8, plain.end()))
        << "encrypted after the first eight bytes";
    size_t opened = a.size();
    ASSERT_TRUE(receiver.value()->unprotectRtcp(a.data(), &opened)) << i;
    a.resize(opened);
    EXPECT_EQ(a, plain);
  }
  // Not RTCP (an RTP packet), and no room for the trailer: refused.
  std::vector<uint8_t> buffer(64 + kSrtpMaxTrailer);
  auto packet = rtp(1, 1, 20, 0, -1);
  std::memcpy(buffer.data(), packet.data(), packet.size());
  size_t size = packet.size();
  EXPECT_FALSE(ours.value()->protect(buffer.data(), &size, buffer.size()));
  auto report = rtcp::senderReports({{1, 2, 3, 4, 5}}, "x");
  std::memcpy(buffer.data(), report.data(), report.size());
  size = report.size();
  EXPECT_FALSE(ours.value()->protect(buffer.data(), &size, report.size() + 8));
}

TEST(EgressSrtcpSender, GcmRtcpIsTheBytesLibsrtpWrites) {
  sameRtcpAsLibsrtp(SrtpProfile::AeadAes128Gcm);
}

TEST(EgressSrtcpSender, AesCmRtcpIsTheBytesLibsrtpWrites) {
  sameRtcpAsLibsrtp(SrtpProfile::AesCm128HmacSha1_80);
}

}  // namespace
}  // namespace jobcast::media::egress
