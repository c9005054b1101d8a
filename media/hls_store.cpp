#include "media/hls_store.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace jobcast::media {

void HlsRendition::add(double duration, std::shared_ptr<const std::string> bytes, size_t keep,
                       int64_t start_ms, int64_t pts) {
  HlsSegment s;
  s.start_ms = start_ms;
  s.pts = pts;
  if (first_start_ms_ == 0)
    first_start_ms_ = start_ms;
  s.sequence = next_sequence_++;
  s.duration = duration;
  s.discontinuity = pending_discontinuity_ && skip_ == 0;
  s.bytes = std::move(bytes);
  if (s.discontinuity)
    pending_discontinuity_ = false;
  else if (pending_discontinuity_)
    --skip_;
  segments_.push_back(std::move(s));
  while (segments_.size() > keep) {
    if (segments_.front().discontinuity)
      ++discontinuity_sequence_;
    segments_.pop_front();
  }
  // Once dropped from the front, a discontinuity still counts for the first
  // listed segment's timeline: EXT-X-DISCONTINUITY-SEQUENCE keeps track.
}

const HlsSegment* HlsRendition::segment(uint64_t sequence) const {
  for (const auto& s : segments_) {
    if (s.sequence == sequence)
      return &s;
  }
  return nullptr;
}

std::string HlsRendition::playlist(int window, int target_seconds, const std::string& epoch,
                                   const std::string& extension, const std::string& prefix) const {
  size_t count = std::min(segments_.size(), static_cast<size_t>(window));
  size_t first = segments_.size() - count;
  double longest = 0;
  uint64_t discontinuities = discontinuity_sequence_;
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (i < first && segments_[i].discontinuity)
      ++discontinuities;
    if (i >= first)
      longest = std::max(longest, segments_[i].duration);
  }
  // RFC 8216: each EXTINF rounded to the nearest integer is at most the target.
  int target = std::max(target_seconds, static_cast<int>(std::lround(longest)));
  std::string out = "#EXTM3U\n#EXT-X-VERSION:3\n";
  out += "#EXT-X-TARGETDURATION:" + std::to_string(target) + "\n";
  out += "#EXT-X-MEDIA-SEQUENCE:" +
         std::to_string(count ? segments_[first].sequence : next_sequence_) + "\n";
  out += "#EXT-X-DISCONTINUITY-SEQUENCE:" + std::to_string(discontinuities) + "\n";
  char line[64];
  for (size_t i = first; i < segments_.size(); ++i) {
    const auto& s = segments_[i];
    if (s.discontinuity)
      out += "#EXT-X-DISCONTINUITY\n";
    std::snprintf(line, sizeof line, "#EXTINF:%.3f,\n", s.duration);
    out += line;
    out += prefix + epoch + "-" + std::to_string(s.sequence) + extension + "\n";
  }
  return out;
}

int64_t HlsRendition::peakBitrate() const {
  double peak = 0;
  for (const auto& s : segments_) {
    if (s.duration > 0.5 && s.bytes)
      peak = std::max(peak, static_cast<double>(s.bytes->size()) * 8.0 / s.duration);
  }
  return static_cast<int64_t>(peak);
}

int64_t HlsRendition::averageBitrate() const {
  double bytes = 0;
  double seconds = 0;
  for (const auto& s : segments_) {
    if (s.duration > 0 && s.bytes) {
      bytes += static_cast<double>(s.bytes->size());
      seconds += s.duration;
    }
  }
  return seconds > 0.5 ? static_cast<int64_t>(bytes * 8.0 / seconds) : 0;
}

HlsRendition& HlsStore::add(RenditionInfo info) {
  renditions_.push_back(std::make_unique<HlsRendition>(std::move(info)));
  return *renditions_.back();
}

void HlsStore::remove(const std::string& name) {
  for (auto it = renditions_.begin(); it != renditions_.end(); ++it) {
    if ((*it)->info().name == name) {
      renditions_.erase(it);
      return;
    }
  }
}

HlsRendition* HlsStore::find(const std::string& name) {
  for (auto& r : renditions_) {
    if (r->info().name == name)
      return r.get();
  }
  return nullptr;
}

const HlsRendition* HlsStore::find(const std::string& name) const {
  return const_cast<HlsStore*>(this)->find(name);
}

void HlsStore::markDiscontinuity(int skip) {
  for (auto& r : renditions_)
    r->markDiscontinuity(skip);
}

bool HlsStore::ready() const {
  if (renditions_.empty())
    return false;
  for (const auto& r : renditions_) {
    if (r->segments().empty() && !r->info().alternate)
      return false;
  }
  return true;
}

std::string HlsStore::masterPlaylist() const {
  std::string out = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  const std::string audio_codec = "mp4a.40.2";
  std::string alternates;
  for (const auto& r : renditions_) {
    const RenditionInfo& info = r->info();
    if (!info.alternate || r->segments().empty())
      continue;
    if (alternates.empty()) {
      alternates =
          "#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID=\"programme\",NAME=\"Programme\",DEFAULT=YES,"
          "AUTOSELECT=YES\n";
    }
    alternates += "#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID=\"programme\",NAME=\"" +
                  (info.name == "interpreter" ? std::string("Sign language") : info.name) +
                  "\",DEFAULT=NO,AUTOSELECT=NO,URI=\"" + info.name + "/index.m3u8\"\n";
  }
  out += alternates;
  // Captions: one WebVTT rendition, off by default (the pages draw the live
  // channel's captions themselves), chosen by players whose users ask for them.
  const bool subtitles = subtitleTiming() != nullptr;
  if (subtitles) {
    out +=
        "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",LANGUAGE=\"zh\",NAME=\"字幕 Captions\","
        "DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI=\"subs.m3u8\"\n";
  }
  for (const auto& r : renditions_) {
    const RenditionInfo& info = r->info();
    if (info.alternate)
      continue;
    // BANDWIDTH is the peak: measured over recent segments, never below the
    // encoder's nominal rate, plus 10% for the container's overhead.
    // AVERAGE-BANDWIDTH is the measured mean, once there is one.
    int64_t measured = r->peakBitrate();
    int64_t nominal = static_cast<int64_t>(info.nominal_kbps) * 1000;
    int64_t bandwidth = std::max(measured, nominal * 11 / 10);
    if (bandwidth <= 0)
      bandwidth = 64000;
    out += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(bandwidth);
    if (int64_t average = std::min(r->averageBitrate(), bandwidth); average > 0)
      out += ",AVERAGE-BANDWIDTH=" + std::to_string(average);
    if (info.has_video && info.width > 0)
      out += ",RESOLUTION=" + std::to_string(info.width) + "x" + std::to_string(info.height);
    std::string codecs = info.has_video && !info.video_codec.empty()
                             ? info.video_codec + "," + audio_codec
                             : audio_codec;
    out += ",CODECS=\"" + codecs + "\"";
    if (!alternates.empty() && info.name == "source")
      out += ",VIDEO=\"programme\"";
    if (subtitles)
      out += ",SUBTITLES=\"subs\"";
    out += "\n";
    out += info.name + "/index.m3u8\n";
  }
  return out;
}

std::optional<std::string> HlsStore::mediaPlaylist(const std::string& rendition) const {
  const HlsRendition* r = find(rendition);
  if (!r)
    return std::nullopt;
  return r->playlist(window_, target_seconds_, epoch_, r->info().extension());
}

const HlsRendition* HlsStore::subtitleTiming() const {
  for (const auto& r : renditions_) {
    if (r->info().has_video && !r->info().alternate)
      return r.get();
  }
  return nullptr;
}

std::optional<std::string> HlsStore::subtitlePlaylist() const {
  const HlsRendition* timing = subtitleTiming();
  if (!timing)
    return std::nullopt;
  return timing->playlist(window_, target_seconds_, epoch_, ".vtt", "subs/");
}

std::string HlsStore::subtitleSegment(const HlsSegment& segment) const {
  int64_t end_ms = segment.start_ms + static_cast<int64_t>(segment.duration * 1000.0 + 0.5);
  const HlsRendition* timing = subtitleTiming();
  int64_t origin = timing ? timing->firstStartMs() : segment.start_ms;
  return vttSegment(captions_.overlapping(segment.start_ms, end_ms), segment.start_ms,
                    segment.duration, segment.pts, origin);
}

void HlsStore::setCaption(const std::string& id, int64_t at_ms, const std::string& text) {
  captions_.set(id, at_ms, text);
  // Only cues that a kept segment may still need stay in memory.
  const HlsRendition* timing = subtitleTiming();
  if (timing && !timing->segments().empty())
    captions_.dropBefore(timing->segments().front().start_ms);
}

const HlsSegment* HlsStore::segmentByName(const std::string& rendition,
                                          const std::string& name) const {
  const HlsRendition* r = find(rendition);
  if (!r)
    return nullptr;
  std::string prefix = epoch_ + "-";
  std::string extension = r->info().extension();
  if (name.size() <= prefix.size() + extension.size() || name.rfind(prefix, 0) != 0 ||
      name.substr(name.size() - extension.size()) != extension) {
    return nullptr;
  }
  std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - extension.size());
  if (digits.empty() || digits.size() > 18 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return nullptr;
  }
  return r->segment(std::stoull(digits));
}

std::string avcCodecString(const std::string& profile, const std::string& level) {
  // profile_idc and constraint flags as RFC 6381 spells them for each profile.
  struct Known {
    const char* name;
    const char* hex;
  };
  static const Known profiles[] = {{"constrained-baseline", "42e0"},
                                   {"baseline", "4200"},
                                   {"main", "4d40"},
                                   {"extended", "5800"},
                                   {"high", "6400"},
                                   {"constrained-high", "640c"},
                                   {"progressive-high", "6408"}};
  std::string prefix = "42e0";
  for (const auto& p : profiles) {
    if (profile == p.name)
      prefix = p.hex;
  }
  int level_idc = 31;
  if (!level.empty()) {
    if (level == "1b") {
      level_idc = 9;
    } else {
      double v = std::atof(level.c_str());
      if (v > 0)
        level_idc = static_cast<int>(std::lround(v * 10));
    }
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "avc1.%s%02x", prefix.c_str(), level_idc);
  return buf;
}

}  // namespace jobcast::media
