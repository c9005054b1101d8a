// The RTCP a viewer sends, read into what the engine acts on: report
// blocks, NACKed sequence numbers (PID and bitmask), PLI and FIR, BYE;
// what it does not act on (SDES, REMB, transport-wide feedback) is skipped.
// And the sender reports we send: laid out as RFC 3550 has them, read back.

#include <gtest/gtest.h>

#include "media/egress/rtcp.h"

namespace jobcast::media::egress::rtcp {
namespace {

std::vector<uint8_t> header(int count, uint8_t type, uint16_t words) {
  return {static_cast<uint8_t>(0x80 | count), type, static_cast<uint8_t>(words >> 8),
          static_cast<uint8_t>(words)};
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift : {24, 16, 8, 0})
    out.push_back(static_cast<uint8_t>(v >> shift));
}

TEST(Rtcp, ReadsACompoundPacketOfReportNackPliAndFir) {
  std::vector<uint8_t> p = header(1, 201, 7);  // RR, one block
  put32(p, 0x11111111);                        // reporter
  put32(p, 0xaabbccdd);                        // about
  p.push_back(26);                             // fraction lost ~10%
  p.insert(p.end(), {0xff, 0xff, 0xfe});       // cumulative -2
  put32(p, 0x00010005);                        // highest sequence
  put32(p, 0);                                 // jitter
  put32(p, 0);                                 // LSR
  put32(p, 0);                                 // DLSR
  auto sdes = header(1, 202, 2);               // SDES: skipped
  sdes.insert(sdes.end(), {0, 0, 0, 1, 1, 1, 'x', 0});
  p.insert(p.end(), sdes.begin(), sdes.end());
  auto nack = header(1, 205, 3);
  put32(nack, 0x11111111);
  put32(nack, 0xaabbccdd);
  nack.insert(nack.end(), {0x00, 0x64, 0x80, 0x01});  // 100, and 101 + 116
  p.insert(p.end(), nack.begin(), nack.end());
  auto pli = header(1, 206, 2);
  put32(pli, 0x11111111);
  put32(pli, 0xaabbccdd);
  p.insert(p.end(), pli.begin(), pli.end());
  auto fir = header(4, 206, 4);
  put32(fir, 0x11111111);
  put32(fir, 0);
  put32(fir, 0x01020304);
  put32(fir, 0x07000000);
  p.insert(p.end(), fir.begin(), fir.end());
  auto remb = header(15, 206, 2);  // REMB-like: skipped
  put32(remb, 0x11111111);
  put32(remb, 0);
  p.insert(p.end(), remb.begin(), remb.end());

  ASSERT_TRUE(isRtcp(p.data(), p.size()));
  auto feedback = parse(p.data(), p.size());
  ASSERT_TRUE(feedback);
  ASSERT_EQ(feedback->reports.size(), 1u);
  EXPECT_EQ(feedback->reports[0].ssrc, 0xaabbccddu);
  EXPECT_EQ(feedback->reports[0].fraction_lost, 26);
  EXPECT_EQ(feedback->reports[0].cumulative_lost, -2);
  EXPECT_EQ(feedback->reports[0].highest_seq, 0x00010005u);
  ASSERT_EQ(feedback->nacks.size(), 1u);
  EXPECT_EQ(feedback->nacks[0].media_ssrc, 0xaabbccddu);
  EXPECT_EQ(feedback->nacks[0].seqs, (std::vector<uint16_t>{100, 101, 116}));
  EXPECT_EQ(feedback->keyframe_ssrcs, (std::vector<uint32_t>{0xaabbccdd, 0x01020304}));
  EXPECT_FALSE(feedback->bye);
}

TEST(Rtcp, ReadsByeAndSenderReportBlocks) {
  std::vector<uint8_t> p = header(1, 200, 12);  // SR with one block
  put32(p, 0x22222222);
  for (int i = 0; i < 5; ++i)
    put32(p, 0);  // NTP, RTP time, counts
  put32(p, 0x33333333);
  put32(p, 0x05000000);  // fraction 5, none cumulative
  for (int i = 0; i < 4; ++i)
    put32(p, 0);
  auto bye = header(1, 203, 1);
  put32(bye, 0x22222222);
  p.insert(p.end(), bye.begin(), bye.end());
  auto feedback = parse(p.data(), p.size());
  ASSERT_TRUE(feedback);
  ASSERT_EQ(feedback->reports.size(), 1u);
  EXPECT_EQ(feedback->reports[0].ssrc, 0x33333333u);
  EXPECT_EQ(feedback->reports[0].fraction_lost, 5);
  EXPECT_TRUE(feedback->bye);
}

TEST(Rtcp, RefusesBrokenPacketsAndTellsRtpFromRtcp) {
  std::vector<uint8_t> p = header(0, 201, 9);  // says 40 bytes, has 8
  put32(p, 1);
  EXPECT_FALSE(parse(p.data(), p.size()));
  EXPECT_FALSE(parse(p.data(), 3));
  std::vector<uint8_t> rtp = {0x80, 102, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_FALSE(isRtcp(rtp.data(), rtp.size()));
  std::vector<uint8_t> marked = {0x80, 0x80 | 102, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_FALSE(isRtcp(marked.data(), marked.size()));  // RTP with the marker: 230
  EXPECT_TRUE(isRtcp(p.data(), p.size()));
}

// Two SRs and an SDES with a CNAME chunk for each, word-aligned, every
// length field matching what follows it; read back as they were written.
TEST(Rtcp, SenderReportsAreACompoundOfSrsAndACnamePerStream) {
  std::vector<SenderInfo> streams = {{0x01020304, 0xe1234567'89abcdefull, 90000, 300, 250000},
                                     {0x0a0b0c0d, 0xe1234567'89abcdefull, 48000, 50, 4000}};
  auto p = senderReports(streams, "jobcast-room");
  ASSERT_EQ(p.size() % 4, 0u);
  // SR, SR, SDES, and nothing after.
  size_t at = 0;
  std::vector<int> types;
  while (at + 4 <= p.size()) {
    EXPECT_EQ(p[at] & 0xc0, 0x80);
    types.push_back(p[at + 1]);
    at += (size_t{p[at + 2]} << 8 | p[at + 3]) * 4 + 4;
  }
  EXPECT_EQ(at, p.size());
  EXPECT_EQ(types, (std::vector<int>{200, 200, 202}));
  EXPECT_EQ(p[56] & 0x1f, 2);  // two SDES chunks
  // The first chunk: SSRC, CNAME (1), its length, the name, a null item.
  EXPECT_EQ(std::vector<uint8_t>(p.begin() + 60, p.begin() + 66),
            (std::vector<uint8_t>{1, 2, 3, 4, 1, 12}));
  EXPECT_EQ(std::string(p.begin() + 66, p.begin() + 78), "jobcast-room");
  EXPECT_EQ(p[78], 0);

  auto read = parse(p.data(), p.size());
  ASSERT_TRUE(read);
  ASSERT_EQ(read->senders.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(read->senders[i].ssrc, streams[i].ssrc);
    EXPECT_EQ(read->senders[i].ntp, streams[i].ntp);
    EXPECT_EQ(read->senders[i].rtp_timestamp, streams[i].rtp_timestamp);
    EXPECT_EQ(read->senders[i].packets, streams[i].packets);
    EXPECT_EQ(read->senders[i].octets, streams[i].octets);
  }
  EXPECT_TRUE(read->reports.empty());
  EXPECT_TRUE(senderReports({}, "x").empty());
}

TEST(Rtcp, NtpTimeCountsFrom1900InSecondsAndBinaryFractions) {
  EXPECT_EQ(ntpFromUnixNanos(0), 2208988800ull << 32);
  EXPECT_EQ(ntpFromUnixNanos(1500000000), ((2208988800ull + 1) << 32) | 0x80000000u);
  // 2026-12-04 12:00:00.25 UTC.
  EXPECT_EQ(ntpFromUnixNanos(1796385600250000000),
            ((1796385600ull + 2208988800) << 32) | 0x40000000u);
}

}  // namespace
}  // namespace jobcast::media::egress::rtcp
