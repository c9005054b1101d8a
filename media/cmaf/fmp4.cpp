// Box layouts follow ISO/IEC 14496-12 (ISO BMFF), 14496-15 (avcC) and
// 14496-1/-3 (esds, AudioSpecificConfig); all fields are big-endian.

#include "media/cmaf/fmp4.h"

#include <array>

namespace jobcast::media::cmaf {
namespace {

void put8(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v & 0xFF));
}

void put16(std::string& out, uint32_t v) {
  put8(out, v >> 8);
  put8(out, v);
}

void put32(std::string& out, uint32_t v) {
  put16(out, v >> 16);
  put16(out, v);
}

void put64(std::string& out, uint64_t v) {
  put32(out, static_cast<uint32_t>(v >> 32));
  put32(out, static_cast<uint32_t>(v));
}

void zeros(std::string& out, size_t n) {
  out.append(n, '\0');
}

void set32(std::string& out, size_t pos, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out[pos + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
}

std::string box(std::string_view type, std::string_view payload) {
  std::string out;
  out.reserve(8 + payload.size());
  put32(out, static_cast<uint32_t>(8 + payload.size()));
  out.append(type);
  out.append(payload);
  return out;
}

std::string fullBox(std::string_view type, uint8_t version, uint32_t flags,
                    std::string_view payload) {
  std::string body;
  put32(body, (uint32_t{version} << 24) | (flags & 0xFFFFFF));
  body.append(payload);
  return box(type, body);
}

void matrix(std::string& out) {
  static constexpr std::array<uint32_t, 9> kIdentity = {0x00010000, 0, 0, 0,         0x00010000,
                                                        0,          0, 0, 0x40000000};
  for (uint32_t v : kIdentity)
    put32(out, v);
}

// The NAL unit's RBSP: emulation prevention bytes (the 03 of 00 00 03) removed.
std::string rbsp(std::string_view nal) {
  std::string out;
  out.reserve(nal.size());
  int zero_run = 0;
  for (char c : nal) {
    auto byte = static_cast<uint8_t>(c);
    if (zero_run >= 2 && byte == 3) {
      zero_run = 0;
      continue;
    }
    zero_run = byte == 0 ? zero_run + 1 : 0;
    out.push_back(c);
  }
  return out;
}

class BitReader {
 public:
  explicit BitReader(std::string_view data) : data_(data) {}

  bool ok() const { return ok_; }

  uint32_t bits(int n) {
    uint32_t value = 0;
    for (int i = 0; i < n; ++i)
      value = (value << 1) | bit();
    return value;
  }

  uint32_t ue() {
    int zeros = 0;
    while (ok_ && bit() == 0) {
      if (++zeros > 31) {
        ok_ = false;
        return 0;
      }
    }
    return ((uint32_t{1} << zeros) - 1) + bits(zeros);
  }

  int32_t se() {
    uint32_t k = ue();
    auto magnitude = static_cast<int32_t>((k + 1) / 2);
    return (k & 1) ? magnitude : -magnitude;
  }

 private:
  uint32_t bit() {
    if (pos_ >= data_.size() * 8) {
      ok_ = false;
      return 0;
    }
    auto byte = static_cast<uint8_t>(data_[pos_ / 8]);
    uint32_t value = (byte >> (7 - pos_ % 8)) & 1;
    ++pos_;
    return value;
  }

  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

struct SpsInfo {
  int profile_idc = 0;
  uint32_t chroma_format_idc = 1;  // 4:2:0 when the SPS does not say
  uint32_t bit_depth_luma_minus8 = 0;
  uint32_t bit_depth_chroma_minus8 = 0;
  int width = 0;
  int height = 0;
};

void skipScalingList(BitReader& r, int size) {
  int32_t last = 8;
  int32_t next = 8;
  for (int j = 0; j < size && r.ok(); ++j) {
    if (next != 0)
      next = (last + r.se() + 256) % 256;
    last = next == 0 ? last : next;
  }
}

// H.264 7.3.2.1.1, up to the frame cropping.
std::optional<SpsInfo> parseSps(std::string_view nal) {
  if (nal.empty() || (static_cast<uint8_t>(nal[0]) & 0x1F) != 7)
    return std::nullopt;
  std::string payload = rbsp(nal.substr(1));
  BitReader r(payload);
  SpsInfo info;
  info.profile_idc = static_cast<int>(r.bits(8));
  r.bits(16);  // constraint flags, level_idc
  r.ue();      // seq_parameter_set_id
  bool separate_colour_plane = false;
  switch (info.profile_idc) {
    case 100:
    case 110:
    case 122:
    case 244:
    case 44:
    case 83:
    case 86:
    case 118:
    case 128:
    case 138:
    case 139:
    case 134:
    case 135: {
      info.chroma_format_idc = r.ue();
      if (info.chroma_format_idc > 3)
        return std::nullopt;
      if (info.chroma_format_idc == 3)
        separate_colour_plane = r.bits(1);
      info.bit_depth_luma_minus8 = r.ue();
      info.bit_depth_chroma_minus8 = r.ue();
      r.bits(1);  // qpprime_y_zero_transform_bypass_flag
      if (r.bits(1)) {
        int lists = info.chroma_format_idc != 3 ? 8 : 12;
        for (int i = 0; i < lists && r.ok(); ++i) {
          if (r.bits(1))
            skipScalingList(r, i < 6 ? 16 : 64);
        }
      }
      break;
    }
    default:
      break;
  }
  r.ue();  // log2_max_frame_num_minus4
  uint32_t poc_type = r.ue();
  if (poc_type == 0) {
    r.ue();  // log2_max_pic_order_cnt_lsb_minus4
  } else if (poc_type == 1) {
    r.bits(1);  // delta_pic_order_always_zero_flag
    r.se();     // offset_for_non_ref_pic
    r.se();     // offset_for_top_to_bottom_field
    uint32_t cycle = r.ue();
    if (cycle > 255)
      return std::nullopt;
    for (uint32_t i = 0; i < cycle && r.ok(); ++i)
      r.se();
  }
  r.ue();     // max_num_ref_frames
  r.bits(1);  // gaps_in_frame_num_value_allowed_flag
  uint32_t width_mbs = r.ue() + 1;
  uint32_t height_map_units = r.ue() + 1;
  uint32_t frame_mbs_only = r.bits(1);
  if (!frame_mbs_only)
    r.bits(1);  // mb_adaptive_frame_field_flag
  r.bits(1);    // direct_8x8_inference_flag
  uint32_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
  if (r.bits(1)) {
    crop_left = r.ue();
    crop_right = r.ue();
    crop_top = r.ue();
    crop_bottom = r.ue();
  }
  if (!r.ok() || width_mbs > 1024 || height_map_units > 1024)
    return std::nullopt;
  // Table 6-1 and equations 7-19..7-22: crop units are chroma samples, and
  // doubled vertically for field coding.
  uint32_t chroma_array_type = separate_colour_plane ? 0 : info.chroma_format_idc;
  uint32_t crop_x = 1;
  uint32_t crop_y = 2 - frame_mbs_only;
  if (chroma_array_type == 1 || chroma_array_type == 2)
    crop_x = 2;
  if (chroma_array_type == 1)
    crop_y *= 2;
  int64_t width = int64_t{width_mbs} * 16 - int64_t{crop_left + crop_right} * crop_x;
  int64_t height = int64_t{height_map_units} * 16 * (2 - frame_mbs_only) -
                   int64_t{crop_top + crop_bottom} * crop_y;
  if (width <= 0 || height <= 0)
    return std::nullopt;
  info.width = static_cast<int>(width);
  info.height = static_cast<int>(height);
  return info;
}

bool isHighProfile(int profile_idc) {
  return profile_idc == 100 || profile_idc == 110 || profile_idc == 122 || profile_idc == 144;
}

std::string avcC(const VideoConfig& video) {
  std::string out;
  put8(out, 1);
  for (size_t i = 1; i <= 3; ++i)
    put8(out, video.sps.size() > i ? static_cast<uint8_t>(video.sps[i]) : 0);
  put8(out, 0xFF);  // lengthSizeMinusOne 3
  put8(out, 0xE1);  // one SPS
  put16(out, static_cast<uint32_t>(video.sps.size()));
  out.append(video.sps);
  put8(out, 1);
  put16(out, static_cast<uint32_t>(video.pps.size()));
  out.append(video.pps);
  // 14496-15 5.3.3.1.2: the high profiles carry chroma format and bit depths;
  // left out when the SPS cannot be read rather than written wrong.
  auto sps = parseSps(video.sps);
  if (sps && isHighProfile(sps->profile_idc)) {
    put8(out, 0xFC | sps->chroma_format_idc);
    put8(out, 0xF8 | (sps->bit_depth_luma_minus8 & 7));
    put8(out, 0xF8 | (sps->bit_depth_chroma_minus8 & 7));
    put8(out, 0);  // numOfSequenceParameterSetExt
  }
  return box("avcC", out);
}

std::string avc1(const VideoConfig& video) {
  std::string out;
  zeros(out, 6);
  put16(out, 1);  // data_reference_index
  zeros(out, 16);
  put16(out, static_cast<uint32_t>(video.width));
  put16(out, static_cast<uint32_t>(video.height));
  put32(out, 0x00480000);  // 72 dpi
  put32(out, 0x00480000);
  zeros(out, 4);
  put16(out, 1);   // frame_count
  zeros(out, 32);  // compressorname
  put16(out, 0x0018);
  put16(out, 0xFFFF);  // pre_defined -1
  out.append(avcC(video));
  return box("avc1", out);
}

// 14496-1 descriptor: tag and a length in 7-bit groups, high bit = more follow.
std::string descriptor(uint8_t tag, std::string_view payload) {
  std::string out;
  put8(out, tag);
  size_t size = payload.size();
  int groups = 1;
  while (groups < 4 && (size >> (7 * groups)) != 0)
    ++groups;
  for (int i = groups - 1; i >= 0; --i)
    put8(out, ((size >> (7 * i)) & 0x7F) | (i > 0 ? 0x80 : 0));
  out.append(payload);
  return out;
}

std::string esds(const AudioConfig& audio) {
  std::string decoder_config;
  put8(decoder_config, 0x40);        // Audio ISO/IEC 14496-3
  put8(decoder_config, 0x15);        // AudioStream << 2 | reserved 1
  zeros(decoder_config, 3 + 4 + 4);  // bufferSizeDB, maxBitrate, avgBitrate
  decoder_config.append(descriptor(5, audio.asc));
  std::string es;
  put16(es, kAudioTrack);  // ES_ID
  put8(es, 0);             // no dependency, URL or OCR stream
  es.append(descriptor(4, decoder_config));
  es.append(descriptor(6, std::string_view("\x02", 1)));  // predefined: MP4
  return fullBox("esds", 0, 0, descriptor(3, es));
}

std::string mp4a(const AudioConfig& audio) {
  std::string out;
  zeros(out, 6);
  put16(out, 1);  // data_reference_index
  zeros(out, 8);
  put16(out, static_cast<uint32_t>(audio.channels));
  put16(out, 16);  // samplesize
  zeros(out, 4);
  // 16.16: rates above 65535 do not fit; the mdhd timescale carries the rate.
  put32(out, audio.sample_rate <= 0xFFFF ? audio.sample_rate << 16 : 0);
  out.append(esds(audio));
  return box("mp4a", out);
}

std::string sampleTable(const std::string& sample_entry) {
  std::string stsd;
  put32(stsd, 1);
  stsd.append(sample_entry);
  std::string empty_count;
  put32(empty_count, 0);
  std::string stsz;
  put32(stsz, 0);  // sample_size
  put32(stsz, 0);  // sample_count
  return box("stbl", fullBox("stsd", 0, 0, stsd) + fullBox("stts", 0, 0, empty_count) +
                         fullBox("stsc", 0, 0, empty_count) + fullBox("stsz", 0, 0, stsz) +
                         fullBox("stco", 0, 0, empty_count));
}

std::string trak(uint32_t track_id, uint32_t timescale, bool video, int width, int height,
                 const std::string& sample_entry) {
  std::string tkhd;
  zeros(tkhd, 8);  // creation, modification time
  put32(tkhd, track_id);
  zeros(tkhd, 4);
  put32(tkhd, 0);  // duration: unknown, the fragments carry it
  zeros(tkhd, 8);
  put16(tkhd, 0);  // layer
  put16(tkhd, 0);  // alternate_group
  put16(tkhd, video ? 0 : 0x0100);
  zeros(tkhd, 2);
  matrix(tkhd);
  put32(tkhd, video ? static_cast<uint32_t>(width) << 16 : 0);
  put32(tkhd, video ? static_cast<uint32_t>(height) << 16 : 0);

  std::string mdhd;
  zeros(mdhd, 8);
  put32(mdhd, timescale);
  put32(mdhd, 0);
  put16(mdhd, (('u' - 0x60) << 10) | (('n' - 0x60) << 5) | ('d' - 0x60));
  put16(mdhd, 0);

  std::string hdlr;
  put32(hdlr, 0);
  hdlr.append(video ? "vide" : "soun");
  zeros(hdlr, 12);
  hdlr.append(video ? "VideoHandler" : "SoundHandler");
  hdlr.push_back('\0');

  std::string media_header;
  if (video) {
    zeros(media_header, 8);  // graphicsmode, opcolor
    media_header = fullBox("vmhd", 0, 1, media_header);
  } else {
    zeros(media_header, 4);  // balance, reserved
    media_header = fullBox("smhd", 0, 0, media_header);
  }
  std::string dref;
  put32(dref, 1);
  dref.append(fullBox("url ", 0, 1, ""));  // the data is in this file
  std::string minf = box(
      "minf", media_header + box("dinf", fullBox("dref", 0, 0, dref)) + sampleTable(sample_entry));

  std::string mdia = box("mdia", fullBox("mdhd", 0, 0, mdhd) + fullBox("hdlr", 0, 0, hdlr) + minf);
  return box("trak", fullBox("tkhd", 0, 0x000003, tkhd) + mdia);
}

std::string trex(uint32_t track_id) {
  std::string out;
  put32(out, track_id);
  put32(out, 1);   // default_sample_description_index
  zeros(out, 12);  // default duration, size, flags: every trun gives its own
  return fullBox("trex", 0, 0, out);
}

constexpr uint32_t kSyncSampleFlags = 0x02000000;     // sample_depends_on 2
constexpr uint32_t kNonSyncSampleFlags = 0x01010000;  // depends_on 1, is_non_sync

}  // namespace

std::string initSegment(const std::optional<VideoConfig>& video,
                        const std::optional<AudioConfig>& audio) {
  std::string ftyp;
  ftyp.append("iso6");
  put32(ftyp, 0);
  ftyp.append("iso6cmfcmp41iso5dashavc1");

  std::string mvhd;
  zeros(mvhd, 8);
  put32(mvhd, 1000);
  put32(mvhd, 0);
  put32(mvhd, 0x00010000);  // rate 1.0
  put16(mvhd, 0x0100);      // volume 1.0
  zeros(mvhd, 10);
  matrix(mvhd);
  zeros(mvhd, 24);
  put32(mvhd, 3);  // next_track_ID

  std::string moov = fullBox("mvhd", 0, 0, mvhd);
  std::string mvex;
  if (video) {
    moov.append(
        trak(kVideoTrack, kVideoTimescale, true, video->width, video->height, avc1(*video)));
    mvex.append(trex(kVideoTrack));
  }
  if (audio) {
    moov.append(trak(kAudioTrack, audio->sample_rate, false, 0, 0, mp4a(*audio)));
    mvex.append(trex(kAudioTrack));
  }
  moov.append(box("mvex", mvex));
  return box("ftyp", ftyp) + box("moov", moov);
}

std::string fragment(uint32_t sequence, const std::vector<Run>& runs) {
  std::string mfhd;
  put32(mfhd, sequence);
  std::string moof_payload = fullBox("mfhd", 0, 0, mfhd);
  // Where each trun's data_offset sits inside moof, patched once the moof's
  // size is known.
  std::vector<std::pair<size_t, const Run*>> offsets;
  for (const Run& run : runs) {
    if (run.samples.empty())
      continue;
    std::string tfhd;
    put32(tfhd, run.track_id);
    std::string tfdt;
    put64(tfdt, run.base_decode_time);
    std::string trun;
    put32(trun, static_cast<uint32_t>(run.samples.size()));
    size_t offset_in_trun = trun.size();
    put32(trun, 0);
    for (const Sample& sample : run.samples) {
      put32(trun, sample.duration);
      put32(trun, sample.size);
      put32(trun, sample.sync ? kSyncSampleFlags : kNonSyncSampleFlags);
      put32(trun, static_cast<uint32_t>(sample.composition_offset));
    }
    std::string traf_payload = fullBox("tfhd", 0, 0x020000, tfhd) + fullBox("tfdt", 1, 0, tfdt);
    // 8 (moof header) + traf header 8 + trun box header 8 + version/flags 4.
    offsets.emplace_back(8 + moof_payload.size() + 8 + traf_payload.size() + 12 + offset_in_trun,
                         &run);
    traf_payload.append(fullBox("trun", 1, 0x000F01, trun));
    moof_payload.append(box("traf", traf_payload));
  }
  std::string out = box("moof", moof_payload);
  const size_t moof_size = out.size();
  size_t mdat_payload = 0;
  for (const auto& [pos, run] : offsets) {
    set32(out, pos, static_cast<uint32_t>(moof_size + 8 + mdat_payload));
    mdat_payload += run->data.size();
  }
  out.reserve(moof_size + 8 + mdat_payload);
  put32(out, static_cast<uint32_t>(8 + mdat_payload));
  out.append("mdat");
  for (const auto& [pos, run] : offsets)
    out.append(run->data);
  return out;
}

std::vector<std::string_view> nalUnits(std::string_view annexb) {
  std::vector<std::string_view> nals;
  size_t start = std::string_view::npos;
  auto close = [&](size_t end) {
    // Zeros before a start code are the 4-byte start code's first byte or
    // trailing_zero_8bits, not part of the NAL unit.
    while (end > start && annexb[end - 1] == '\0')
      --end;
    if (end > start)
      nals.push_back(annexb.substr(start, end - start));
  };
  for (size_t i = 0; i + 2 < annexb.size(); ++i) {
    if (annexb[i] != '\0' || annexb[i + 1] != '\0' || annexb[i + 2] != '\x01')
      continue;
    if (start != std::string_view::npos)
      close(i);
    start = i + 3;
    i += 2;
  }
  if (start != std::string_view::npos)
    close(annexb.size());
  return nals;
}

std::string annexBToLengthPrefixed(std::string_view annexb, bool drop_parameter_sets) {
  std::string out;
  out.reserve(annexb.size());
  for (std::string_view nal : nalUnits(annexb)) {
    int type = static_cast<uint8_t>(nal[0]) & 0x1F;
    if (drop_parameter_sets && (type == 7 || type == 8 || type == 9))
      continue;
    put32(out, static_cast<uint32_t>(nal.size()));
    out.append(nal);
  }
  return out;
}

std::optional<std::pair<int, int>> spsSize(std::string_view sps) {
  auto info = parseSps(sps);
  if (!info)
    return std::nullopt;
  return std::make_pair(info->width, info->height);
}

std::optional<AudioConfig> audioConfigFromAdts(std::string_view adts) {
  if (adts.size() < 7)
    return std::nullopt;
  auto b = [&](size_t i) { return static_cast<uint8_t>(adts[i]); };
  // The layer bits tell ADTS (00) from MPEG audio, which shares the sync word.
  if (b(0) != 0xFF || (b(1) & 0xF0) != 0xF0 || (b(1) & 0x06) != 0)
    return std::nullopt;
  static constexpr std::array<uint32_t, 13> kRates = {
      96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350};
  uint32_t object_type = (b(2) >> 6) + 1;
  uint32_t frequency_index = (b(2) >> 2) & 0x0F;
  uint32_t channel_config = ((b(2) & 1) << 2) | (b(3) >> 6);
  // Channel configuration 0 puts the layout in a PCE inside the raw data,
  // which a 2-byte AudioSpecificConfig cannot carry.
  if (frequency_index >= kRates.size() || channel_config == 0)
    return std::nullopt;
  AudioConfig config;
  put16(config.asc, (object_type << 11) | (frequency_index << 7) | (channel_config << 3));
  config.sample_rate = kRates[frequency_index];
  config.channels = channel_config == 7 ? 8 : static_cast<int>(channel_config);
  return config;
}

}  // namespace jobcast::media::cmaf
