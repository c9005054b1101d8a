// The access-unit repair that keeps a multi-slice keyframe whole.

#include "media/h264_access_unit.h"

#include <gtest/gtest.h>

#include <vector>

#include "media/gst_refs.h"

namespace jobcast::media::h264 {
namespace {

using Bytes = std::vector<uint8_t>;

const Bytes kAud = {0x09, 0xf0};
const Bytes kSps = {0x67, 0x42, 0xc0, 0x1e, 0xda};
const Bytes kPps = {0x68, 0xce, 0x3c, 0x80};
const Bytes kSei = {0x06, 0x05, 0x01, 0xff};
const Bytes kIdrTop = {0x65, 0x88, 0x84, 0x80};     // first_mb_in_slice 0
const Bytes kIdrMiddle = {0x65, 0x16, 0x84, 0x80};  // first_mb_in_slice 10

Bytes byteStream(const std::vector<Bytes>& nals) {
  Bytes out;
  for (const auto& nal : nals) {
    out.insert(out.end(), {0, 0, 0, 1});
    out.insert(out.end(), nal.begin(), nal.end());
  }
  return out;
}

Bytes avc(const std::vector<Bytes>& nals) {
  Bytes out;
  for (const auto& nal : nals) {
    out.insert(out.end(), {0, 0, 0, static_cast<uint8_t>(nal.size())});
    out.insert(out.end(), nal.begin(), nal.end());
  }
  return out;
}

TEST(H264AccessUnit, SplitsByteStreamWithThreeAndFourByteStartCodes) {
  Bytes au = {0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 0x88};
  auto nals = split(au.data(), au.size(), Framing{});
  ASSERT_EQ(nals.size(), 3u);
  EXPECT_EQ(nals[0].type(), 7);
  EXPECT_EQ(nals[0].size, 2u);
  EXPECT_EQ(nals[1].type(), 8);
  EXPECT_EQ(nals[1].size, 2u);  // the zero before the next start code is not its
  EXPECT_EQ(nals[2].type(), 5);
}

TEST(H264AccessUnit, RejectsAvcLengthsBeyondTheBuffer) {
  Bytes au = {0, 0, 0, 9, 0x65, 0x88};
  EXPECT_TRUE(split(au.data(), au.size(), Framing{true, 4}).empty());
}

TEST(H264AccessUnit, ReadsFirstMacroblockOfASlice) {
  EXPECT_EQ(firstMbInSlice({kIdrTop.data(), kIdrTop.size()}), 0);
  EXPECT_EQ(firstMbInSlice({kIdrMiddle.data(), kIdrMiddle.size()}), 10);
  EXPECT_EQ(firstMbInSlice({kSps.data(), kSps.size()}), -1);
}

TEST(H264AccessUnit, LeavesAWellOrderedAccessUnitAlone) {
  Bytes au = byteStream({kAud, kSps, kPps, kSei, kIdrTop, kIdrMiddle});
  EXPECT_FALSE(keepPictureWhole(au.data(), au.size(), Framing{}));
}

TEST(H264AccessUnit, MovesRepeatedParameterSetsInFrontOfTheSlices) {
  // What rtph264pay config-interval=-1 makes of a two-slice keyframe.
  Bytes au = byteStream(
      {kSps, kPps, kAud, kSps, kPps, kSei, kSps, kPps, kIdrTop, kSps, kPps, kAud, kIdrMiddle});
  auto whole = keepPictureWhole(au.data(), au.size(), Framing{});
  ASSERT_TRUE(whole);
  EXPECT_EQ(*whole,
            byteStream({kSps, kPps, kAud, kSps, kPps, kSei, kSps, kPps, kIdrTop, kIdrMiddle}));
}

TEST(H264AccessUnit, HoistsANewParameterSetAndKeepsAvcFraming) {
  const Bytes other_pps = {0x68, 0xce, 0x3c, 0x81};
  Bytes au = avc({kSps, kPps, kIdrTop, other_pps, kSei, kIdrMiddle});
  auto whole = keepPictureWhole(au.data(), au.size(), Framing{true, 4});
  ASSERT_TRUE(whole);
  EXPECT_EQ(*whole, avc({kSps, kPps, other_pps, kSei, kIdrTop, kIdrMiddle}));
}

TEST(H264AccessUnit, ReadsFramingFromCaps) {
  ensureGstreamer();
  GstCaps* caps = gst_caps_from_string("video/x-h264,stream-format=byte-stream,alignment=au");
  auto framing = framingOf(caps);
  ASSERT_TRUE(framing);
  EXPECT_FALSE(framing->avc);
  gst_caps_unref(caps);
  caps = gst_caps_from_string("video/x-h264,stream-format=byte-stream,alignment=nal");
  EXPECT_FALSE(framingOf(caps));
  gst_caps_unref(caps);
  caps = gst_caps_from_string(
      "video/x-h264,stream-format=avc,alignment=au,codec_data=(buffer)0142c01effe1");
  framing = framingOf(caps);
  ASSERT_TRUE(framing);
  EXPECT_TRUE(framing->avc);
  EXPECT_EQ(framing->length_size, 4);
  gst_caps_unref(caps);
}

}  // namespace
}  // namespace jobcast::media::h264
