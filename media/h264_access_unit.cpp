// keepPicturesWhole's probe runs on the pad's streaming thread; the rest is
// pure functions on bytes.

#include "media/h264_access_unit.h"

#include <cstring>
#include <string>

namespace jobcast::media::h264 {
namespace {

// NAL unit types that, after a slice, would start a new access unit, and
// that can move in front of the slices without changing the picture.
bool isHoistable(int type) {
  return type == 6 || type == 7 || type == 8 || type == 13 || type == 15;
}

constexpr int kAud = 9;

// Reads Exp-Golomb codes from a NAL unit's payload, skipping emulation
// prevention bytes (00 00 03).
class BitReader {
 public:
  BitReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  std::optional<uint32_t> ue() {
    int zeros = 0;
    while (true) {
      auto bit = next();
      if (!bit)
        return std::nullopt;
      if (*bit)
        break;
      if (++zeros > 31)
        return std::nullopt;
    }
    uint32_t value = 0;
    for (int i = 0; i < zeros; ++i) {
      auto bit = next();
      if (!bit)
        return std::nullopt;
      value = (value << 1) | *bit;
    }
    return (uint32_t{1} << zeros) - 1 + value;
  }

 private:
  std::optional<uint32_t> next() {
    if (bit_ == 0) {
      if (pos_ >= size_)
        return std::nullopt;
      if (pos_ >= 2 && data_[pos_] == 3 && data_[pos_ - 1] == 0 && data_[pos_ - 2] == 0 &&
          !skipped_) {
        skipped_ = true;
        ++pos_;
        return next();
      }
      skipped_ = false;
      byte_ = data_[pos_++];
      bit_ = 8;
    }
    --bit_;
    return (byte_ >> bit_) & 1;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  int bit_ = 0;
  uint8_t byte_ = 0;
  bool skipped_ = false;
};

void append(std::vector<uint8_t>& out, const Nal& nal, Framing framing) {
  if (framing.avc) {
    for (int i = framing.length_size - 1; i >= 0; --i)
      out.push_back(static_cast<uint8_t>(nal.size >> (8 * i)));
  } else {
    static constexpr uint8_t kStart[] = {0, 0, 0, 1};
    out.insert(out.end(), kStart, kStart + 4);
  }
  out.insert(out.end(), nal.data, nal.data + nal.size);
}

bool sameBytes(const Nal& a, const Nal& b) {
  return a.size == b.size && std::memcmp(a.data, b.data, a.size) == 0;
}

}  // namespace

std::vector<Nal> split(const uint8_t* data, size_t size, Framing framing) {
  std::vector<Nal> nals;
  if (framing.avc) {
    size_t pos = 0;
    while (pos < size) {
      if (size - pos < static_cast<size_t>(framing.length_size))
        return {};
      size_t length = 0;
      for (int i = 0; i < framing.length_size; ++i)
        length = (length << 8) | data[pos + i];
      pos += framing.length_size;
      if (length == 0 || length > size - pos)
        return {};
      nals.push_back({data + pos, length});
      pos += length;
    }
    return nals;
  }
  // Byte-stream: each NAL unit follows 00 00 01; zeros before a start code
  // belong to it (a four-byte start code or trailing zeros), not to the NAL.
  size_t start = std::string::npos;
  for (size_t i = 0; i + 2 < size; ++i) {
    if (data[i] != 0 || data[i + 1] != 0 || data[i + 2] != 1)
      continue;
    if (start != std::string::npos) {
      size_t end = i;
      while (end > start && data[end - 1] == 0)
        --end;
      if (end > start)
        nals.push_back({data + start, end - start});
    }
    start = i + 3;
    i += 2;
  }
  if (start == std::string::npos)
    return {};
  if (start < size)
    nals.push_back({data + start, size - start});
  return nals;
}

int firstMbInSlice(const Nal& nal) {
  if (!isSlice(nal.type()) || nal.size < 2)
    return -1;
  BitReader reader(nal.data + 1, nal.size - 1);
  auto value = reader.ue();
  return value ? static_cast<int>(*value) : -1;
}

std::optional<std::vector<uint8_t>> keepPictureWhole(const uint8_t* data, size_t size,
                                                     Framing framing) {
  std::vector<Nal> nals = split(data, size, framing);
  size_t first_slice = 0;
  while (first_slice < nals.size() && !isSlice(nals[first_slice].type()))
    ++first_slice;
  bool misplaced = false;
  for (size_t i = first_slice + 1; i < nals.size() && !misplaced; ++i)
    misplaced = isHoistable(nals[i].type()) || nals[i].type() == kAud;
  if (!misplaced)
    return std::nullopt;

  std::vector<Nal> head(nals.begin(), nals.begin() + static_cast<std::ptrdiff_t>(first_slice));
  std::vector<Nal> body;
  for (size_t i = first_slice; i < nals.size(); ++i) {
    const Nal& nal = nals[i];
    if (nal.type() == kAud)
      continue;
    if (!isHoistable(nal.type())) {
      body.push_back(nal);
      continue;
    }
    bool repeat = false;
    for (const Nal& seen : head)
      repeat = repeat || sameBytes(seen, nal);
    if (!repeat)
      head.push_back(nal);
  }
  std::vector<uint8_t> out;
  out.reserve(size);
  for (const Nal& nal : head)
    append(out, nal, framing);
  for (const Nal& nal : body)
    append(out, nal, framing);
  return out;
}

std::optional<Framing> framingOf(const GstCaps* caps) {
  if (!caps || gst_caps_get_size(caps) == 0)
    return std::nullopt;
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  if (!gst_structure_has_name(s, "video/x-h264"))
    return std::nullopt;
  const gchar* alignment = gst_structure_get_string(s, "alignment");
  if (!alignment || !g_str_equal(alignment, "au"))
    return std::nullopt;
  const gchar* format = gst_structure_get_string(s, "stream-format");
  if (!format || g_str_equal(format, "byte-stream"))
    return Framing{};
  if (!g_str_has_prefix(format, "avc"))
    return std::nullopt;
  Framing framing{true, 4};
  const GValue* codec_data = gst_structure_get_value(s, "codec_data");
  if (codec_data && G_VALUE_HOLDS(codec_data, GST_TYPE_BUFFER)) {
    GstBuffer* buffer = gst_value_get_buffer(codec_data);
    guint8 byte = 0;
    if (buffer && gst_buffer_extract(buffer, 4, &byte, 1) == 1)
      framing.length_size = (byte & 3) + 1;
  }
  return framing;
}

namespace {

// The parts of one picture that rtph264depay pushed as separate access units
// (it too starts a new one at each repeated SPS), held until the part with
// the RTP marker. Streaming thread only.
struct ProbeState {
  std::optional<Framing> framing;
  std::vector<GstBuffer*> parts;  // owned references
  GstClockTime pts = GST_CLOCK_TIME_NONE;

  ~ProbeState() { clear(); }
  void clear() {
    for (GstBuffer* part : parts)
      gst_buffer_unref(part);
    parts.clear();
  }

  // One access unit of the held parts, parameter sets in front of the
  // slices; releases the parts.
  GstBuffer* takePicture() {
    GstBuffer* first = parts.front();
    if (parts.size() == 1) {
      parts.clear();
      GstMapInfo map;
      if (!gst_buffer_map(first, &map, GST_MAP_READ))
        return first;
      auto whole = keepPictureWhole(map.data, map.size, *framing);
      gst_buffer_unmap(first, &map);
      if (!whole)
        return first;
      GstBuffer* out = gst_buffer_new_memdup(whole->data(), whole->size());
      gst_buffer_copy_into(out, first, GST_BUFFER_COPY_METADATA, 0, static_cast<gsize>(-1));
      gst_buffer_unref(first);
      return out;
    }
    std::vector<uint8_t> joined;
    for (GstBuffer* part : parts) {
      GstMapInfo map;
      if (gst_buffer_map(part, &map, GST_MAP_READ)) {
        joined.insert(joined.end(), map.data, map.data + map.size);
        gst_buffer_unmap(part, &map);
      }
    }
    auto whole = keepPictureWhole(joined.data(), joined.size(), *framing);
    const std::vector<uint8_t>& bytes = whole ? *whole : joined;
    GstBuffer* out = gst_buffer_new_memdup(bytes.data(), bytes.size());
    // Timestamps and the keyframe flag of the first part, the marker of the last.
    gst_buffer_copy_into(out, first, GST_BUFFER_COPY_METADATA, 0, static_cast<gsize>(-1));
    GST_BUFFER_FLAG_UNSET(out, GST_BUFFER_FLAG_MARKER);
    if (GST_BUFFER_FLAG_IS_SET(parts.back(), GST_BUFFER_FLAG_MARKER))
      GST_BUFFER_FLAG_SET(out, GST_BUFFER_FLAG_MARKER);
    clear();
    return out;
  }
};

GstPadProbeReturn onAccessUnit(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* state = static_cast<ProbeState*>(data);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
      GstCaps* caps = nullptr;
      gst_event_parse_caps(event, &caps);
      state->clear();
      state->framing = framingOf(caps);
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
      state->clear();
    }
    return GST_PAD_PROBE_OK;
  }
  if (!state->framing)
    return GST_PAD_PROBE_OK;
  GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  GstClockTime pts = GST_BUFFER_PTS(buffer);
  if (!state->parts.empty() && pts != state->pts) {
    // The held picture never got its marker: it ends here, this buffer
    // starts the next one (and waits for its marker or successor).
    GST_PAD_PROBE_INFO_DATA(info) = state->takePicture();
    state->parts.push_back(buffer);
    state->pts = pts;
    return GST_PAD_PROBE_OK;
  }
  state->parts.push_back(buffer);
  state->pts = pts;
  if (!GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_MARKER))
    return GST_PAD_PROBE_HANDLED;  // held: the probe owns the reference now
  GST_PAD_PROBE_INFO_DATA(info) = state->takePicture();
  return GST_PAD_PROBE_OK;
}

}  // namespace

void keepPicturesWhole(GstPad* pad) {
  auto* state = new ProbeState;
  if (GstCaps* caps = gst_pad_get_current_caps(pad)) {
    state->framing = framingOf(caps);
    gst_caps_unref(caps);
  }
  gst_pad_add_probe(
      pad,
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      onAccessUnit, state, [](gpointer d) { delete static_cast<ProbeState*>(d); });
}

}  // namespace jobcast::media::h264
