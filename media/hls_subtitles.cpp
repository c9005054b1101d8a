#include "media/hls_subtitles.h"

#include <algorithm>
#include <cstdio>

namespace jobcast::media {

void CaptionTrack::set(const std::string& id, int64_t at_ms, const std::string& text) {
  auto it = by_id_.find(id);
  if (it != by_id_.end()) {
    it->second.text = text;
    return;
  }
  by_id_.emplace(id, Entry{at_ms, text});
}

std::vector<CaptionCue> CaptionTrack::cues() const {
  std::vector<CaptionCue> out;
  out.reserve(by_id_.size());
  for (const auto& [id, e] : by_id_)
    out.push_back(CaptionCue{id, e.at_ms, e.at_ms + kCaptionShowMs, e.text});
  std::stable_sort(out.begin(), out.end(), [](const CaptionCue& a, const CaptionCue& b) {
    return a.start_ms < b.start_ms;
  });
  for (size_t i = 0; i + 1 < out.size(); ++i)
    out[i].end_ms = std::min(out[i].end_ms, std::max(out[i].start_ms + 1, out[i + 1].start_ms));
  return out;
}

std::vector<CaptionCue> CaptionTrack::overlapping(int64_t from_ms, int64_t to_ms) const {
  std::vector<CaptionCue> out;
  for (auto& c : cues()) {
    if (c.start_ms < to_ms && c.end_ms > from_ms)
      out.push_back(std::move(c));
  }
  return out;
}

void CaptionTrack::dropBefore(int64_t ms) {
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    if (it->second.at_ms + kCaptionShowMs < ms)
      it = by_id_.erase(it);
    else
      ++it;
  }
}

std::string vttTime(int64_t ms) {
  ms = std::max<int64_t>(ms, 0);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld.%03lld",
                static_cast<long long>(ms / 3600000), static_cast<long long>(ms / 60000 % 60),
                static_cast<long long>(ms / 1000 % 60), static_cast<long long>(ms % 1000));
  return buf;
}

std::string vttText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool line_empty = true;
  for (char c : text) {
    if (c == '\r')
      continue;
    if (c == '\n') {
      if (line_empty)
        continue;  // a blank line would end the cue
      out += '\n';
      line_empty = true;
      continue;
    }
    line_empty = false;
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";  // also breaks "-->"
    else
      out += c;
  }
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out.empty() ? std::string(" ") : out;
}

namespace {
void appendCue(std::string& out, const CaptionCue& c, int64_t start_ms, int64_t end_ms) {
  out += "\n" + c.id + "\n" + vttTime(start_ms) + " --> " + vttTime(end_ms) + "\n" +
         vttText(c.text) + "\n";
}
}  // namespace

std::string vttSegment(const std::vector<CaptionCue>& cues, int64_t start_ms, double duration_s,
                       int64_t pts, int64_t origin_ms) {
  std::string out = "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:" + std::to_string(std::max<int64_t>(pts, 0)) +
                    ",LOCAL:" + vttTime(start_ms - origin_ms) + "\n";
  int64_t end_ms = start_ms + static_cast<int64_t>(duration_s * 1000.0 + 0.5);
  for (const auto& c : cues) {
    if (c.start_ms >= end_ms || c.end_ms <= start_ms)
      continue;
    appendCue(out, c, c.start_ms - origin_ms, c.end_ms - origin_ms);
  }
  return out;
}

std::string vttFile(const std::vector<CaptionCue>& cues, int64_t started_ms, int64_t ended_ms) {
  std::string out = "WEBVTT\n";
  for (const auto& c : cues) {
    if (c.start_ms >= ended_ms || c.end_ms <= started_ms)
      continue;
    appendCue(out, c, c.start_ms - started_ms, std::min(c.end_ms, ended_ms) - started_ms);
  }
  return out;
}

int64_t tsFirstPts(std::string_view ts) {
  constexpr size_t kPacket = 188;
  int64_t lowest = -1;
  for (size_t at = 0; at + kPacket <= ts.size(); at += kPacket) {
    const auto* p = reinterpret_cast<const unsigned char*>(ts.data() + at);
    if (p[0] != 0x47 || !(p[1] & 0x40))
      continue;  // not in sync, or no payload unit starts here
    size_t offset = 4;
    int adaptation = (p[3] >> 4) & 0x3;
    if (!(adaptation & 0x1))
      continue;  // no payload
    if (adaptation & 0x2)
      offset += 1 + p[4];
    if (offset + 14 > kPacket)
      continue;
    const unsigned char* pes = p + offset;
    if (pes[0] != 0 || pes[1] != 0 || pes[2] != 1)
      continue;  // PSI (PAT/PMT), not a PES
    if (!(pes[7] & 0x80))
      continue;  // no PTS
    const unsigned char* t = pes + 9;
    int64_t pts = (static_cast<int64_t>(t[0] & 0x0e) << 29) | (static_cast<int64_t>(t[1]) << 22) |
                  (static_cast<int64_t>(t[2] & 0xfe) << 14) | (static_cast<int64_t>(t[3]) << 7) |
                  (static_cast<int64_t>(t[4]) >> 1);
    if (lowest < 0 || pts < lowest)
      lowest = pts;
  }
  return lowest;
}

}  // namespace jobcast::media
