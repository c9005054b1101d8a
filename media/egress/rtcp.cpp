#include "media/egress/rtcp.h"

#include <algorithm>

#include "media/egress/bytes.h"

namespace jobcast::media::egress::rtcp {
namespace {

constexpr uint8_t kSr = 200;
constexpr uint8_t kRr = 201;
constexpr uint8_t kSdes = 202;
constexpr uint8_t kBye = 203;
constexpr uint8_t kRtpfb = 205;
constexpr uint8_t kPsfb = 206;

void readBlocks(const uint8_t* p, size_t size, int count, Feedback& out) {
  for (int i = 0; i < count && size >= 24; ++i, p += 24, size -= 24) {
    ReportBlock block;
    block.ssrc = read32(p);
    block.fraction_lost = p[4];
    int32_t lost = static_cast<int32_t>((uint32_t{p[5]} << 16) | (uint32_t{p[6]} << 8) | p[7]);
    if (lost & 0x800000)
      lost -= 0x1000000;  // 24-bit signed
    block.cumulative_lost = lost;
    block.highest_seq = read32(p + 8);
    out.reports.push_back(block);
  }
}

}  // namespace

bool isRtcp(const uint8_t* data, size_t size) {
  return size >= 8 && (data[0] & 0xc0) == 0x80 && data[1] >= 192 && data[1] <= 223;
}

std::optional<Feedback> parse(const uint8_t* data, size_t size) {
  Feedback out;
  bool first = true;
  while (size >= 4) {
    if ((data[0] & 0xc0) != 0x80)
      break;
    size_t length = (size_t{read16(data + 2)} + 1) * 4;
    if (length > size)
      break;
    int count = data[0] & 0x1f;  // report count, or FMT for feedback
    const uint8_t* body = data + 4;
    size_t body_size = length - 4;
    switch (data[1]) {
      case kSr:
        if (body_size >= 24) {
          out.senders.push_back({read32(body),
                                 (uint64_t{read32(body + 4)} << 32) | read32(body + 8),
                                 read32(body + 12), read32(body + 16), read32(body + 20)});
          readBlocks(body + 24, body_size - 24, count, out);
        }
        break;
      case kRr:
        if (body_size >= 4)
          readBlocks(body + 4, body_size - 4, count, out);
        break;
      case kBye:
        out.bye = true;
        break;
      case kRtpfb:
        if (count == 1 && body_size >= 8) {  // generic NACK
          Nack nack;
          nack.media_ssrc = read32(body + 4);
          for (size_t at = 8; at + 4 <= body_size; at += 4) {
            uint16_t pid = read16(body + at);
            uint16_t blp = read16(body + at + 2);
            nack.seqs.push_back(pid);
            for (int bit = 0; bit < 16; ++bit) {
              if (blp & (1u << bit))
                nack.seqs.push_back(static_cast<uint16_t>(pid + bit + 1));
            }
          }
          out.nacks.push_back(std::move(nack));
        }
        break;
      case kPsfb:
        if (count == 1 && body_size >= 8) {  // PLI
          out.keyframe_ssrcs.push_back(read32(body + 4));
        } else if (count == 4 && body_size >= 16) {  // FIR: the SSRCs are in its entries
          for (size_t at = 8; at + 8 <= body_size; at += 8)
            out.keyframe_ssrcs.push_back(read32(body + at));
        }
        break;  // FMT 15 (REMB) and others: not acted on
      default:
        break;  // SDES, APP, XR, transport-wide feedback
    }
    first = false;
    data += length;
    size -= length;
  }
  if (first)
    return std::nullopt;
  return out;
}

std::vector<uint8_t> senderReports(const std::vector<SenderInfo>& streams,
                                   const std::string& cname) {
  std::vector<uint8_t> out;
  if (streams.empty())
    return out;
  uint8_t header[4];
  for (const SenderInfo& s : streams) {
    uint8_t sr[28];
    sr[0] = 0x80;  // V=2, no padding, no report blocks
    sr[1] = kSr;
    write16(sr + 2, 6);  // 28 bytes: 7 words, minus one
    write32(sr + 4, s.ssrc);
    write32(sr + 8, static_cast<uint32_t>(s.ntp >> 32));
    write32(sr + 12, static_cast<uint32_t>(s.ntp));
    write32(sr + 16, s.rtp_timestamp);
    write32(sr + 20, s.packets);
    write32(sr + 24, s.octets);
    out.insert(out.end(), sr, sr + sizeof sr);
  }
  // SDES: a chunk per stream (SSRC, CNAME item, a null item, padding to a word).
  size_t name = std::min<size_t>(cname.size(), 255);
  size_t chunk = (4 + 2 + name + 1 + 3) / 4 * 4;
  size_t count = std::min<size_t>(streams.size(), 31);
  header[0] = static_cast<uint8_t>(0x80 | count);
  header[1] = kSdes;
  write16(header + 2, static_cast<uint16_t>((4 + count * chunk) / 4 - 1));
  out.insert(out.end(), header, header + 4);
  for (size_t i = 0; i < count; ++i) {
    size_t at = out.size();
    out.resize(at + chunk, 0);  // the null item and the padding are zeros
    write32(out.data() + at, streams[i].ssrc);
    out[at + 4] = 1;  // CNAME
    out[at + 5] = static_cast<uint8_t>(name);
    std::copy_n(cname.data(), name, out.begin() + static_cast<std::ptrdiff_t>(at + 6));
  }
  return out;
}

uint64_t ntpFromUnixNanos(int64_t unix_ns) {
  constexpr uint64_t kNtpToUnix = 2208988800ull;  // 1900 to 1970, in seconds
  uint64_t seconds = static_cast<uint64_t>(unix_ns / 1000000000) + kNtpToUnix;
  uint64_t nanos = static_cast<uint64_t>(unix_ns % 1000000000);
  return (seconds << 32) | ((nanos << 32) / 1000000000);
}

}  // namespace jobcast::media::egress::rtcp
