// The fragmented MP4 writer against real encoder output (x264enc, voaacenc
// through gst-launch-1.0) and real demuxers and decoders (ffprobe, ffmpeg,
// qtdemux). A missing tool fails the test rather than skipping it.

#include "media/cmaf/fmp4.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace jobcast::media::cmaf {
namespace {

struct Command {
  int status = -1;
  std::string output;  // stdout and stderr
};

// A demuxer fed a broken file may wait forever instead of failing.
Command shell(const std::string& command) {
  Command result;
  FILE* pipe = popen(("timeout 60 " + command + " 2>&1").c_str(), "r");
  if (!pipe)
    return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0)
    result.output.append(buffer, n);
  int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

uint32_t u32(std::string_view bytes, size_t pos) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<uint8_t>(bytes[pos + i]);
  return v;
}

uint64_t u64(std::string_view bytes, size_t pos) {
  return (uint64_t{u32(bytes, pos)} << 32) | u32(bytes, pos + 4);
}

struct Box {
  std::string type;
  std::string_view payload;  // after the 8-byte header
  size_t offset = 0;         // of the header, within the parsed range
};

// The boxes back to back in `bytes`; an empty list if a size runs past the end.
std::vector<Box> boxes(std::string_view bytes) {
  std::vector<Box> out;
  size_t pos = 0;
  while (pos + 8 <= bytes.size()) {
    uint32_t size = u32(bytes, pos);
    if (size < 8 || size > bytes.size() - pos)
      return {};
    out.push_back({std::string(bytes.substr(pos + 4, 4)), bytes.substr(pos + 8, size - 8), pos});
    pos += size;
  }
  return pos == bytes.size() ? out : std::vector<Box>{};
}

std::vector<Box> children(std::string_view bytes, const std::string& type) {
  std::vector<Box> out;
  for (const Box& b : boxes(bytes))
    if (b.type == type)
      out.push_back(b);
  return out;
}

std::string_view child(std::string_view bytes, const std::string& type) {
  auto found = children(bytes, type);
  return found.empty() ? std::string_view() : found.front().payload;
}

// Media made once for the suite by the same encoders the server runs.
class CmafFmp4 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir("cmaf-fmp4");
    auto encode = [](const std::string& pipeline) {
      Command c = shell("gst-launch-1.0 -q " + pipeline);
      EXPECT_EQ(c.status, 0) << pipeline << "\n" << c.output;
    };
    // aud=true and alignment=au: every access unit starts with an AUD.
    encode(
        "videotestsrc num-buffers=30 ! video/x-raw,width=640,height=360,framerate=30/1 ! "
        "x264enc key-int-max=10 aud=true ! "
        "video/x-h264,stream-format=byte-stream,alignment=au,profile=constrained-baseline ! "
        "filesink location=" +
        path("baseline.h264"));
    encode(
        "videotestsrc num-buffers=30 ! video/x-raw,width=1280,height=720,framerate=30/1 ! "
        "x264enc key-int-max=10 aud=true ! "
        "video/x-h264,stream-format=byte-stream,alignment=au,profile=high ! "
        "filesink location=" +
        path("high.h264"));
    encode(
        "videotestsrc num-buffers=1 ! video/x-raw,width=1920,height=1080 ! x264enc ! "
        "video/x-h264,stream-format=byte-stream,profile=high ! filesink location=" +
        path("high1080.h264"));
    encode(
        "audiotestsrc num-buffers=50 ! audio/x-raw,rate=48000,channels=2 ! voaacenc ! "
        "aacparse ! audio/mpeg,stream-format=adts ! filesink location=" +
        path("audio.aac"));
  }

  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::string path(const std::string& name) { return dir_->path() + "/" + name; }

  static test::TempDir* dir_;
};

test::TempDir* CmafFmp4::dir_ = nullptr;

std::string_view firstNal(std::string_view annexb, int type) {
  for (std::string_view nal : nalUnits(annexb))
    if ((static_cast<uint8_t>(nal[0]) & 0x1F) == type)
      return nal;
  return {};
}

// The byte stream cut before each AUD, start codes included.
std::vector<std::string_view> accessUnits(std::string_view stream) {
  std::vector<size_t> starts;
  for (std::string_view nal : nalUnits(stream))
    if ((static_cast<uint8_t>(nal[0]) & 0x1F) == 9)
      starts.push_back(static_cast<size_t>(nal.data() - stream.data()) - 3);
  std::vector<std::string_view> out;
  for (size_t i = 0; i < starts.size(); ++i) {
    size_t end = i + 1 < starts.size() ? starts[i + 1] : stream.size();
    out.push_back(stream.substr(starts[i], end - starts[i]));
  }
  return out;
}

size_t adtsFrameLength(std::string_view adts) {
  auto b = [&](size_t i) { return static_cast<uint8_t>(adts[i]); };
  return ((b(3) & 0x03) << 11) | (b(4) << 3) | (b(5) >> 5);
}

std::vector<std::string_view> adtsFrames(std::string_view stream) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos + 7 <= stream.size()) {
    size_t length = adtsFrameLength(stream.substr(pos));
    if (length < 7 || length > stream.size() - pos)
      break;
    out.push_back(stream.substr(pos, length));
    pos += length;
  }
  EXPECT_EQ(pos, stream.size()) << "the ADTS stream does not cut into whole frames";
  return out;
}

TEST(CmafFmp4Nal, SplitsOnThreeAndFourByteStartCodesWithoutTrailingZeros) {
  const std::string au(
      "\x00\x00\x00\x01\x09\xf0"
      "\x00\x00\x01\x67\x42\x00\x00\x03\x01"
      "\x00\x00\x00\x01\x68\xce\x00\x00"  // trailing_zero_8bits
      "\x00\x00\x01\x65\x88\x84",
      29);
  auto nals = nalUnits(au);
  ASSERT_EQ(nals.size(), 4u);
  EXPECT_EQ(nals[0], std::string_view("\x09\xf0", 2));
  EXPECT_EQ(nals[1], std::string_view("\x67\x42\x00\x00\x03\x01", 6));
  EXPECT_EQ(nals[2], std::string_view("\x68\xce", 2));
  EXPECT_EQ(nals[3], std::string_view("\x65\x88\x84", 3));
  EXPECT_TRUE(nalUnits("no start code").empty());

  EXPECT_EQ(annexBToLengthPrefixed(au, true), std::string("\x00\x00\x00\x03\x65\x88\x84", 7));
  EXPECT_EQ(annexBToLengthPrefixed(au, false),
            std::string("\x00\x00\x00\x02\x09\xf0"
                        "\x00\x00\x00\x06\x67\x42\x00\x00\x03\x01"
                        "\x00\x00\x00\x02\x68\xce"
                        "\x00\x00\x00\x03\x65\x88\x84",
                        29));
}

TEST_F(CmafFmp4, ReadsTheSizeOfRealSpsIncludingCroppingAndHighProfiles) {
  std::string baseline = readFile(path("baseline.h264"));
  std::string_view sps = firstNal(baseline, 7);
  ASSERT_GE(sps.size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(sps[1]), 66);
  // 360 is not a multiple of 16: the SPS codes 23 macroblock rows and crops 8.
  EXPECT_EQ(spsSize(sps), std::make_pair(640, 360));

  std::string high = readFile(path("high.h264"));
  sps = firstNal(high, 7);
  ASSERT_GE(sps.size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(sps[1]), 100);
  EXPECT_EQ(spsSize(sps), std::make_pair(1280, 720));

  std::string full_hd = readFile(path("high1080.h264"));
  sps = firstNal(full_hd, 7);
  ASSERT_GE(sps.size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(sps[1]), 100);
  EXPECT_EQ(spsSize(sps), std::make_pair(1920, 1080));

  EXPECT_FALSE(spsSize(firstNal(baseline, 8)));  // a PPS
  EXPECT_FALSE(spsSize(std::string_view(sps.data(), 5)));
  EXPECT_FALSE(spsSize(""));
}

// Writes the fields of a hand-made SPS, H.264 7.3.2.1.1.
class SpsWriter {
 public:
  SpsWriter& bits(uint32_t value, int n) {
    for (int i = n - 1; i >= 0; --i)
      bits_.push_back((value >> i) & 1);
    return *this;
  }
  SpsWriter& ue(uint32_t value) {
    int length = 0;
    while ((value + 1) >> (length + 1))
      ++length;
    bits(0, length);
    return bits(value + 1, length + 1);
  }
  SpsWriter& se(int32_t value) {
    return ue(value > 0 ? static_cast<uint32_t>(2 * value - 1) : static_cast<uint32_t>(-2 * value));
  }
  // The NAL unit: header, RBSP with its stop bit, emulation prevention.
  std::string nal() {
    std::vector<bool> rbsp = bits_;
    rbsp.push_back(true);
    while (rbsp.size() % 8)
      rbsp.push_back(false);
    std::string out("\x67");
    int zeros = 0;
    for (size_t i = 0; i < rbsp.size(); i += 8) {
      uint8_t byte = 0;
      for (size_t b = 0; b < 8; ++b)
        byte = static_cast<uint8_t>((byte << 1) | rbsp[i + b]);
      if (zeros >= 2 && byte <= 3) {
        out.push_back('\x03');
        zeros = 0;
      }
      zeros = byte == 0 ? zeros + 1 : 0;
      out.push_back(static_cast<char>(byte));
    }
    return out;
  }

 private:
  std::vector<bool> bits_;
};

// x264 sends its quant matrices in the PPS and codes frames only, so the SPS
// scaling lists, field coding and emulation prevention before the size are
// checked on hand-made ones: 1920x1080 as
// 68 macroblock rows, or as 34 rows of macroblock pairs, cropped by 8 lines.
TEST(CmafFmp4Sps, SkipsScalingListsAndCropsFieldCodedPictures) {
  for (bool frames_only : {true, false}) {
    SpsWriter w;
    w.bits(100, 8).bits(0, 8).bits(40, 8).ue(0);  // high, level 4, id 0
    w.ue(1).ue(0).ue(0).bits(0, 1);               // 4:2:0, 8 bits
    w.bits(1, 1);                                 // seq_scaling_matrix_present_flag
    w.bits(1, 1);                                 // list 0: 16 explicit deltas
    for (int j = 0; j < 16; ++j)
      w.se(j % 2 ? -3 : 5);
    w.bits(0, 5);
    w.bits(1, 1).se(-8);  // list 6: nextScale 0 at once, the default list
    w.bits(0, 1);
    // log2_max_frame_num; picture order count type 1 with offsets whose
    // long codes need emulation prevention.
    w.ue(0).ue(1).bits(0, 1).se(-(1 << 24)).se(0).ue(1).se(1 << 24);
    w.ue(1).bits(0, 1);  // max_num_ref_frames, gaps
    w.ue(119).ue(frames_only ? 67 : 33);
    w.bits(frames_only, 1);
    if (!frames_only)
      w.bits(1, 1);  // mb_adaptive_frame_field_flag
    w.bits(1, 1);    // direct_8x8_inference_flag
    w.bits(1, 1).ue(0).ue(0).ue(0).ue(frames_only ? 4 : 2);
    w.bits(0, 1);  // no VUI
    std::string sps = w.nal();
    ASSERT_NE(sps.find(std::string("\0\0\3", 3)), std::string::npos);
    EXPECT_EQ(spsSize(sps), std::make_pair(1920, 1080)) << "frame_mbs_only " << frames_only;
  }
}

TEST_F(CmafFmp4, BuildsTheAudioSpecificConfigFromARealAdtsHeader) {
  std::string aac = readFile(path("audio.aac"));
  ASSERT_GE(aac.size(), 7u);
  auto config = audioConfigFromAdts(aac);
  ASSERT_TRUE(config);
  // AAC-LC (2), 48 kHz (index 3), stereo: 00010 0011 0010 000.
  EXPECT_EQ(config->asc, std::string("\x11\x90", 2));
  EXPECT_EQ(config->sample_rate, 48000u);
  EXPECT_EQ(config->channels, 2);

  EXPECT_FALSE(audioConfigFromAdts(std::string("\xff\xfb\x90\x64\x00\x00\x00", 7)));  // MP3
  EXPECT_FALSE(audioConfigFromAdts(aac.substr(0, 6)));
  EXPECT_FALSE(audioConfigFromAdts(aac.substr(1)));
}

TEST(CmafFmp4Fragment, DataOffsetsPointFromTheMoofToEachRunInTheMdat) {
  cmaf::Run video{kVideoTrack, 0x123456789ULL, {}, "keyframe" + std::string("delta")};
  video.samples = {{3000, 8, true, 0}, {3000, 5, false, -3000}};
  cmaf::Run empty{kAudioTrack, 7, {}, ""};
  cmaf::Run audio{kAudioTrack, 96000, {{1024, 3, true, 0}, {1024, 4, true, 0}}, "aaabbbb"};
  std::string bytes = fragment(42, {video, empty, audio});

  auto top = boxes(bytes);
  ASSERT_EQ(top.size(), 2u);
  ASSERT_EQ(top[0].type, "moof");
  ASSERT_EQ(top[1].type, "mdat");
  const size_t moof_size = top[0].payload.size() + 8;
  EXPECT_EQ(top[1].payload, "keyframedeltaaaabbbb");
  EXPECT_EQ(u32(child(top[0].payload, "mfhd"), 4), 42u);

  auto trafs = children(top[0].payload, "traf");
  ASSERT_EQ(trafs.size(), 2u);  // the empty run has none
  const cmaf::Run* expected[] = {&video, &audio};
  size_t data_before = 0;
  for (size_t i = 0; i < trafs.size(); ++i) {
    const cmaf::Run& run = *expected[i];
    std::string_view tfhd = child(trafs[i].payload, "tfhd");
    ASSERT_EQ(tfhd.size(), 8u);
    EXPECT_EQ(u32(tfhd, 0), 0x00020000u);  // default-base-is-moof
    EXPECT_EQ(u32(tfhd, 4), run.track_id);
    std::string_view tfdt = child(trafs[i].payload, "tfdt");
    ASSERT_EQ(tfdt.size(), 12u);
    EXPECT_EQ(u32(tfdt, 0), 0x01000000u);
    EXPECT_EQ(u64(tfdt, 4), run.base_decode_time);

    std::string_view trun = child(trafs[i].payload, "trun");
    ASSERT_EQ(trun.size(), 12 + 16 * run.samples.size());
    EXPECT_EQ(u32(trun, 0), 0x01000F01u);
    EXPECT_EQ(u32(trun, 4), run.samples.size());
    uint32_t data_offset = u32(trun, 8);
    EXPECT_EQ(data_offset, moof_size + 8 + data_before);
    EXPECT_EQ(bytes.substr(data_offset, run.data.size()), run.data);
    for (size_t s = 0; s < run.samples.size(); ++s) {
      const Sample& sample = run.samples[s];
      EXPECT_EQ(u32(trun, 12 + 16 * s), sample.duration);
      EXPECT_EQ(u32(trun, 16 + 16 * s), sample.size);
      EXPECT_EQ(u32(trun, 20 + 16 * s), sample.sync ? 0x02000000u : 0x01010000u);
      EXPECT_EQ(static_cast<int32_t>(u32(trun, 24 + 16 * s)), sample.composition_offset);
    }
    data_before += run.data.size();
  }
}

TEST(CmafFmp4Init, WritesOneTrakAndTrexPerConfig) {
  VideoConfig video{std::string("\x67\x42\xc0\x1e\xd9", 5), std::string("\x68\xcb\x8c", 3), 640,
                    360};
  AudioConfig audio{std::string("\x11\x90", 2), 48000, 2};
  std::string init = initSegment(video, audio);
  auto top = boxes(init);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].type, "ftyp");
  EXPECT_EQ(top[0].payload.substr(0, 4), "iso6");
  ASSERT_EQ(top[1].type, "moov");
  std::string_view moov = top[1].payload;
  std::string_view mvhd = child(moov, "mvhd");
  ASSERT_EQ(mvhd.size(), 100u);
  EXPECT_EQ(u32(mvhd, 12), 1000u);
  EXPECT_EQ(u32(mvhd, 96), 3u);  // next_track_ID
  auto traks = children(moov, "trak");
  ASSERT_EQ(traks.size(), 2u);
  EXPECT_EQ(u32(child(traks[0].payload, "tkhd"), 12), kVideoTrack);
  EXPECT_EQ(u32(child(traks[1].payload, "tkhd"), 12), kAudioTrack);
  std::string_view tkhd = child(traks[0].payload, "tkhd");
  EXPECT_EQ(u32(tkhd, 0), 3u);  // enabled, in movie
  EXPECT_EQ(u32(tkhd, 76), 640u << 16);
  EXPECT_EQ(u32(tkhd, 80), 360u << 16);
  EXPECT_EQ(u32(child(child(traks[1].payload, "mdia"), "mdhd"), 12), 48000u);
  EXPECT_EQ(u32(child(child(traks[0].payload, "mdia"), "mdhd"), 12), kVideoTimescale);

  std::string_view stsd =
      child(child(child(child(traks[0].payload, "mdia"), "minf"), "stbl"), "stsd");
  ASSERT_GT(stsd.size(), 8u);
  std::string_view avc1 = child(stsd.substr(8), "avc1");
  ASSERT_GT(avc1.size(), 78u);
  std::string_view avcc = child(avc1.substr(78), "avcC");
  // Baseline: no chroma format extension.
  EXPECT_EQ(avcc, std::string("\x01\x42\xc0\x1e\xff\xe1\x00\x05\x67\x42\xc0\x1e\xd9"
                              "\x01\x00\x03\x68\xcb\x8c",
                              19));

  std::string_view audio_stsd =
      child(child(child(child(traks[1].payload, "mdia"), "minf"), "stbl"), "stsd");
  ASSERT_GT(audio_stsd.size(), 8u);
  std::string_view mp4a = child(audio_stsd.substr(8), "mp4a");
  ASSERT_GT(mp4a.size(), 28u);
  EXPECT_EQ(u32(mp4a, 16), 0x00020010u);  // 2 channels, 16 bits
  EXPECT_EQ(u32(mp4a, 24), 48000u << 16);
  // ES_Descriptor(ES_ID 2, DecoderConfigDescriptor(AAC, audio stream,
  // DecoderSpecificInfo(ASC)), SLConfigDescriptor(MP4)).
  EXPECT_EQ(child(mp4a.substr(28), "esds"),
            std::string("\0\0\0\0\x03\x19\x00\x02\x00\x04\x11\x40\x15", 13) +
                std::string(11, '\0') + "\x05\x02\x11\x90\x06\x01\x02");

  auto trex = children(child(moov, "mvex"), "trex");
  ASSERT_EQ(trex.size(), 2u);
  EXPECT_EQ(u32(trex[1].payload, 4), kAudioTrack);
  EXPECT_EQ(u32(trex[1].payload, 8), 1u);

  auto audio_only = boxes(initSegment(std::nullopt, audio));
  ASSERT_EQ(audio_only.size(), 2u);
  EXPECT_EQ(children(audio_only[1].payload, "trak").size(), 1u);
  EXPECT_EQ(children(child(audio_only[1].payload, "mvex"), "trex").size(), 1u);
}

// Muxes 30 frames of video and the audio over the same time into an init
// segment and fragments of 10 frames, as the live packager would, and
// returns the file: init + fragments back to back.
struct Muxed {
  std::string file;
  size_t audio_frames = 0;
  std::vector<bool> sync;  // per video frame
};

Muxed muxFile(const std::string& h264, const std::string& aac) {
  Muxed muxed;
  auto units = accessUnits(h264);
  EXPECT_EQ(units.size(), 30u);
  if (units.empty())
    return {};
  VideoConfig video;
  video.sps = std::string(firstNal(units[0], 7));
  video.pps = std::string(firstNal(units[0], 8));
  auto size = spsSize(video.sps);
  EXPECT_TRUE(size);
  if (!size)
    return {};
  video.width = size->first;
  video.height = size->second;

  auto frames = adtsFrames(aac);
  muxed.audio_frames = frames.size();
  auto audio = audioConfigFromAdts(aac);
  EXPECT_TRUE(audio);
  if (!audio || frames.empty())
    return {};

  muxed.file = initSegment(video, *audio);
  const uint32_t frame_duration = kVideoTimescale / 30;
  const size_t per_fragment = 10;
  const size_t fragments = units.size() / per_fragment;
  size_t next_audio = 0;
  for (size_t f = 0; f < fragments; ++f) {
    Run v{kVideoTrack, f * per_fragment * frame_duration, {}, ""};
    for (size_t i = f * per_fragment; i < (f + 1) * per_fragment; ++i) {
      std::string data = annexBToLengthPrefixed(units[i], true);
      bool sync = !firstNal(units[i], 5).empty();
      muxed.sync.push_back(sync);
      v.samples.push_back({frame_duration, static_cast<uint32_t>(data.size()), sync, 0});
      v.data += data;
    }
    // The audio frames that start before this fragment's video ends; the
    // last fragment takes what is left.
    const uint64_t end_90k = (f + 1) * per_fragment * frame_duration;
    Run a{kAudioTrack, next_audio * 1024, {}, ""};
    while (next_audio < frames.size() &&
           (f + 1 == fragments ||
            next_audio * 1024 * kVideoTimescale / audio->sample_rate < end_90k)) {
      std::string_view frame = frames[next_audio];
      // The raw AAC frame, after the 7-byte header or 9 with a CRC.
      size_t header = (static_cast<uint8_t>(frame[1]) & 1) ? 7 : 9;
      a.samples.push_back({1024, static_cast<uint32_t>(frame.size() - header), true, 0});
      a.data.append(frame.substr(header));
      ++next_audio;
    }
    EXPECT_FALSE(a.samples.empty());
    muxed.file += fragment(static_cast<uint32_t>(f + 1), {v, a});
  }
  return muxed;
}

void expectPlays(const std::string& file, int width, int height, const Muxed& muxed) {
  ASSERT_EQ(shell("which ffprobe ffmpeg gst-launch-1.0").status, 0)
      << "ffprobe, ffmpeg and gst-launch-1.0 are needed to check the output";

  Command probe = shell(
      "ffprobe -v error -count_frames -show_entries "
      "stream=codec_name,width,height,nb_read_frames -of compact=p=0 " +
      file);
  ASSERT_EQ(probe.status, 0) << probe.output;
  EXPECT_EQ(probe.output, "codec_name=h264|width=" + std::to_string(width) +
                              "|height=" + std::to_string(height) +
                              "|nb_read_frames=30\n"
                              "codec_name=aac|nb_read_frames=" +
                              std::to_string(muxed.audio_frames) + "\n");

  // qtdemux marks the trun's non-sync samples as delta units (ffmpeg finds
  // keyframes by itself): they must be the encoder's IDR pictures, where
  // players may start and seek.
  Command buffers = shell("gst-launch-1.0 -v filesrc location=" + file +
                          " ! qtdemux name=d d.video_0 ! identity silent=false ! fakesink");
  ASSERT_EQ(buffers.status, 0) << buffers.output;
  std::string expected_keyframes;
  for (bool sync : muxed.sync)
    expected_keyframes += sync ? "K" : "_";
  std::string keyframes;
  std::istringstream lines(buffers.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("last-message = chain") != std::string::npos)
      keyframes += line.find("delta-unit") == std::string::npos ? "K" : "_";
  }
  EXPECT_EQ(keyframes, expected_keyframes);
  EXPECT_EQ(expected_keyframes.substr(0, 1), "K");

  Command decode = shell("ffmpeg -nostdin -v error -i " + file + " -f null -");
  EXPECT_EQ(decode.status, 0);
  EXPECT_EQ(decode.output, "");

  Command demux = shell("gst-launch-1.0 -q filesrc location=" + file +
                        " ! qtdemux name=d d.video_0 ! queue ! h264parse ! avdec_h264 ! fakesink "
                        "d.audio_0 ! queue ! aacparse ! avdec_aac ! fakesink");
  EXPECT_EQ(demux.status, 0) << demux.output;
}

TEST_F(CmafFmp4, BaselineVideoAndAacFragmentsPlayInFfmpegAndGstreamer) {
  Muxed muxed = muxFile(readFile(path("baseline.h264")), readFile(path("audio.aac")));
  ASSERT_FALSE(muxed.file.empty());
  EXPECT_GE(muxed.audio_frames, 45u);
  writeFile(path("baseline.mp4"), muxed.file);
  expectPlays(path("baseline.mp4"), 640, 360, muxed);
}

TEST_F(CmafFmp4, HighProfileFragmentsPlayInFfmpegAndGstreamer) {
  Muxed muxed = muxFile(readFile(path("high.h264")), readFile(path("audio.aac")));
  ASSERT_FALSE(muxed.file.empty());
  // A high profile's avcC ends with its chroma format (4:2:0) and bit depths
  // (8) and no SPS extensions, ISO/IEC 14496-15 5.3.3.1.2.
  auto top = boxes(muxed.file);
  ASSERT_GE(top.size(), 2u);
  auto traks = children(top[1].payload, "trak");
  ASSERT_FALSE(traks.empty());
  std::string_view stsd =
      child(child(child(child(traks[0].payload, "mdia"), "minf"), "stbl"), "stsd");
  ASSERT_GT(stsd.size(), 8u);
  std::string_view avc1 = child(stsd.substr(8), "avc1");
  ASSERT_GT(avc1.size(), 78u);
  std::string_view avcc = child(avc1.substr(78), "avcC");
  ASSERT_GT(avcc.size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(avcc[1]), 100);
  EXPECT_EQ(avcc.substr(avcc.size() - 4), std::string("\xfd\xf8\xf8\x00", 4));

  writeFile(path("high.mp4"), muxed.file);
  expectPlays(path("high.mp4"), 1280, 720, muxed);
}

}  // namespace
}  // namespace jobcast::media::cmaf
