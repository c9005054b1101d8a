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

HlsRendition::Listed HlsRendition::listed(int window) const {
  Listed l;
  l.count = std::min(segments_.size(), static_cast<size_t>(window));
  l.first = segments_.size() - l.count;
  l.discontinuities = discontinuity_sequence_;
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (i < l.first && segments_[i].discontinuity)
      ++l.discontinuities;
    if (i >= l.first)
      l.longest = std::max(l.longest, segments_[i].duration);
  }
  return l;
}

std::string HlsRendition::playlist(int window, int target_seconds, const std::string& epoch,
                                   const std::string& extension, const std::string& prefix) const {
  auto [first, count, longest, discontinuities] = listed(window);
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

void HlsRendition::closeOpen(size_t keep) {
  HlsSegment s = std::move(*open_);
  open_.reset();
  std::string bytes;
  size_t size = 0;
  for (const auto& p : s.parts)
    size += p.bytes ? p.bytes->size() : 0;
  bytes.reserve(size);
  s.duration = 0;
  for (const auto& p : s.parts) {
    if (p.bytes)
      bytes += *p.bytes;
    s.duration += p.duration;
  }
  s.bytes = std::make_shared<const std::string>(std::move(bytes));
  longest_ever_ = std::max(longest_ever_, static_cast<int>(std::lround(s.duration)));
  segments_.push_back(std::move(s));
  while (segments_.size() > keep) {
    if (segments_.front().discontinuity)
      ++discontinuity_sequence_;
    segments_.pop_front();
  }
  // Parts are listed for the last few segments only; older ones give their
  // bytes back (the segment holds the same bytes).
  constexpr size_t kSegmentsWithParts = 4;
  if (segments_.size() > kSegmentsWithParts) {
    for (auto& p : segments_[segments_.size() - 1 - kSegmentsWithParts].parts)
      p.bytes.reset();
  }
  uint32_t oldest = segments_.front().map;
  for (auto it = maps_.begin(); it != maps_.end();)
    it = it->first < oldest ? maps_.erase(it) : std::next(it);
}

void HlsRendition::addPart(double duration, bool independent, bool segment_start,
                           std::shared_ptr<const std::string> bytes,
                           std::shared_ptr<const std::string> init, size_t keep) {
  if (init) {
    ++map_version_;
    maps_[map_version_] = std::move(init);
  }
  if (map_version_ == 0)
    return;  // a part with no initialization segment before it cannot be played
  if (segment_start || !open_) {
    if (open_ && !open_->parts.empty())
      closeOpen(keep);
    HlsSegment s;
    s.sequence = next_sequence_++;
    s.map = map_version_;
    // A discontinuity marked now (a new publisher, a switch of source) shows
    // on the next segment: the one in progress holds what came before.
    s.discontinuity = pending_discontinuity_;
    pending_discontinuity_ = false;
    skip_ = 0;
    open_ = std::move(s);
  }
  HlsPart p;
  p.number = next_part_++;
  p.duration = duration;
  p.independent = independent;
  p.bytes = std::move(bytes);
  open_->parts.push_back(std::move(p));
}

LlPosition HlsRendition::position() const {
  LlPosition p;
  p.next_part = next_part_;
  if (open_) {
    p.any = true;
    p.sequence = open_->sequence;
    p.parts = open_->parts.size();
  }
  return p;
}

std::optional<std::string> HlsRendition::llPlaylist(int window, int target_seconds,
                                                    const LlSettings& settings,
                                                    const std::string& epoch, bool skip) const {
  if (!open_)
    return std::nullopt;
  auto [first, count, longest, discontinuities] = listed(window);
  int target = std::max({target_seconds, static_cast<int>(std::lround(longest)), longest_ever_});
  const double skip_until = 6.0 * target;
  // Delta update: the oldest segments more than CAN-SKIP-UNTIL from the end
  // are left out, up to the first discontinuity (whose tag must be seen).
  size_t skipped = 0;
  if (skip) {
    double after = 0;
    for (const auto& p : open_->parts)
      after += p.duration;
    std::vector<double> remaining(count);
    for (size_t i = segments_.size(); i-- > first;) {
      remaining[i - first] = after;
      after += segments_[i].duration;
    }
    while (skipped < count && remaining[skipped] >= skip_until &&
           !segments_[first + skipped].discontinuity &&
           !(skipped + 1 < count && segments_[first + skipped + 1].discontinuity))
      ++skipped;
  }
  char line[160];
  std::string out = "#EXTM3U\n#EXT-X-VERSION:9\n";
  out += "#EXT-X-TARGETDURATION:" + std::to_string(target) + "\n";
  std::snprintf(line, sizeof line,
                "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=%.3f,"
                "CAN-SKIP-UNTIL=%.1f\n",
                3 * settings.part_target, skip_until);
  out += line;
  std::snprintf(line, sizeof line, "#EXT-X-PART-INF:PART-TARGET=%.3f\n", settings.part_target);
  out += line;
  out += "#EXT-X-MEDIA-SEQUENCE:" +
         std::to_string(count ? segments_[first].sequence : open_->sequence) + "\n";
  out += "#EXT-X-DISCONTINUITY-SEQUENCE:" + std::to_string(discontinuities) + "\n";
  if (skipped > 0)
    out += "#EXT-X-SKIP:SKIPPED-SEGMENTS=" + std::to_string(skipped) + "\n";
  uint32_t map = 0;
  auto segment = [&](const HlsSegment& s, bool closed, bool with_parts) {
    if (s.discontinuity)
      out += "#EXT-X-DISCONTINUITY\n";
    if (s.map != map) {
      map = s.map;
      out += "#EXT-X-MAP:URI=\"" + epoch + "-init-" + std::to_string(map) + ".mp4\"\n";
    }
    if (with_parts) {
      for (const auto& p : s.parts) {
        std::snprintf(line, sizeof line, "#EXT-X-PART:DURATION=%.5f,URI=\"%s-p%llu.m4s\"%s\n",
                      p.duration, epoch.c_str(), static_cast<unsigned long long>(p.number),
                      p.independent ? ",INDEPENDENT=YES" : "");
        out += line;
      }
    }
    if (closed) {
      std::snprintf(line, sizeof line, "#EXTINF:%.5f,\n", s.duration);
      out += line;
      out += epoch + "-" + std::to_string(s.sequence) + ".m4s\n";
    }
  };
  for (size_t i = first + skipped; i < segments_.size(); ++i) {
    // Parts are listed for the segments within three target durations of
    // the end (and the bytes of older ones are gone).
    bool with_parts = segments_.size() - i <= 3 && !segments_[i].parts.empty() &&
                      segments_[i].parts.front().bytes;
    segment(segments_[i], true, with_parts);
  }
  segment(*open_, false, true);
  out += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"" + epoch + "-p" + std::to_string(next_part_) +
         ".m4s\"\n";
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
    if (r->segments().empty() && !r->info().alternate && !r->info().lowLatency())
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
    if (info.alternate || info.lowLatency())
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
  if (r->info().lowLatency())
    return r->llPlaylist(llWindow(), target_seconds_, ll_, epoch_, false);
  return r->playlist(window_, target_seconds_, epoch_, r->info().extension());
}

std::optional<std::string> HlsStore::llPlaylist(const std::string& rendition, bool skip) const {
  const HlsRendition* r = find(rendition);
  if (!r || !r->info().lowLatency())
    return std::nullopt;
  return r->llPlaylist(llWindow(), target_seconds_, ll_, epoch_, skip);
}

std::optional<std::string> HlsStore::llMasterPlaylist() const {
  for (const auto& r : renditions_) {
    const RenditionInfo& info = r->info();
    if (!info.lowLatency() || r->segments().empty())
      continue;
    int64_t bandwidth = std::max<int64_t>(r->peakBitrate(), 64000);
    std::string out = "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n";
    out += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(bandwidth);
    if (int64_t average = std::min(r->averageBitrate(), bandwidth); average > 0)
      out += ",AVERAGE-BANDWIDTH=" + std::to_string(average);
    if (info.width > 0)
      out += ",RESOLUTION=" + std::to_string(info.width) + "x" + std::to_string(info.height);
    std::string codecs = info.video_codec.empty() ? "mp4a.40.2" : info.video_codec + ",mp4a.40.2";
    out += ",CODECS=\"" + codecs + "\"\n";
    out += info.name + "/index.m3u8\n";
    return out;
  }
  return std::nullopt;
}

const HlsRendition* HlsStore::subtitleTiming() const {
  for (const auto& r : renditions_) {
    if (r->info().has_video && !r->info().alternate && !r->info().lowLatency())
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
