#include "media/egress/rtcp.h"

#include "media/egress/bytes.h"

namespace jobcast::media::egress::rtcp {
namespace {

constexpr uint8_t kSr = 200;
constexpr uint8_t kRr = 201;
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
        if (body_size >= 24)
          readBlocks(body + 24, body_size - 24, count, out);
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

}  // namespace jobcast::media::egress::rtcp
