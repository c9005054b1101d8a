#include "signaling/hls_responses.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>

namespace jobcast::http {
namespace {

std::string etagOf(std::string_view bytes) {
  // FNV-1a 64: a version tag, not a security token.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

// A sealed memory file holding `bytes`, or -1 (the front then writes from
// memory).
int bodyFile(const std::string& bytes) {
  int fd = memfd_create("jobcast-hls", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return -1;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  return fd;
}

std::shared_ptr<const PreparedResponse> prepare(std::string content_type, std::string cache_control,
                                                std::string etag,
                                                std::shared_ptr<const std::string> body) {
  auto r = std::make_shared<PreparedResponse>();
  r->content_type = std::move(content_type);
  r->cache_control = std::move(cache_control);
  r->etag = std::move(etag);
  r->body = std::move(body);
  r->head = preparedHead(200, r->content_type, r->body->size(), r->cache_control, r->etag);
  r->head_not_modified = preparedHead(304, "", 0, r->cache_control, r->etag);
  if (r->body->size() >= kFileBodyBytes)
    r->body_fd = bodyFile(*r->body);
  return r;
}

std::shared_ptr<const PreparedResponse> preparePlaylist(std::string text, int target_seconds) {
  std::string etag = etagOf(text);
  return prepare(kPlaylistType, playlistCacheControl(target_seconds), std::move(etag),
                 std::make_shared<const std::string>(std::move(text)));
}

}  // namespace

PreparedResponse::~PreparedResponse() {
  if (body_fd >= 0)
    ::close(body_fd);
}

bool PreparedResponse::notModified(std::string_view if_none_match) const {
  if (if_none_match.empty())
    return false;
  if (if_none_match.find('*') != std::string_view::npos)
    return true;
  // A list of entity tags, maybe weak ("W/"): a weak match is enough for GET.
  return if_none_match.find(etag) != std::string_view::npos;
}

std::string preparedHead(int status, const std::string& content_type, size_t length,
                         const std::string& cache_control, const std::string& etag) {
  std::string h = status == 304 ? "HTTP/1.1 304 Not Modified\r\n" : "HTTP/1.1 200 OK\r\n";
  if (status != 304) {
    h += "Content-Type: " + content_type + "\r\n";
    h += "Content-Length: " + std::to_string(length) + "\r\n";
  }
  h += "Cache-Control: " + cache_control + "\r\n";
  h += "ETag: " + etag + "\r\n";
  h += "Access-Control-Allow-Origin: *\r\n";
  h += "Access-Control-Expose-Headers: Location, Link, ETag, Retry-After\r\n";
  h += "X-Content-Type-Options: nosniff\r\n";
  h += "Referrer-Policy: strict-origin-when-cross-origin\r\n";
  return h;
}

std::string playlistCacheControl(int target_seconds) {
  int half = target_seconds / 2;
  return half < 1 ? std::string("no-cache") : "public, max-age=" + std::to_string(half);
}

std::shared_ptr<const PreparedResponse> HlsResponses::find(std::string_view path) const {
  return lookup(path, false);
}

std::shared_ptr<const PreparedResponse> HlsResponses::findLive(std::string_view path) const {
  return lookup(path, true);
}

void HlsResponses::setLive(const std::string& room, bool live) {
  std::lock_guard lock(mutex_);
  if (live)
    live_.insert(room);
  else
    live_.erase(room);
}

std::shared_ptr<const PreparedResponse> HlsResponses::lookup(std::string_view path,
                                                             bool live_only) const {
  constexpr std::string_view kPrefix = "/hls/";
  if (path.substr(0, kPrefix.size()) != kPrefix)
    return nullptr;
  path.remove_prefix(kPrefix.size());
  size_t slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0)
    return nullptr;
  std::string room(path.substr(0, slash));
  std::string rest(path.substr(slash + 1));
  std::shared_ptr<const RoomTable> table;
  {
    std::lock_guard lock(mutex_);
    if (live_only && !live_.count(room))
      return nullptr;
    auto it = rooms_.find(room);
    if (it == rooms_.end())
      return nullptr;
    table = it->second;
  }
  auto hit = table->find(rest);
  return hit == table->end() ? nullptr : hit->second;
}

void HlsResponses::publish(const std::string& room, const media::HlsStore* store) {
  if (!store) {
    std::lock_guard lock(mutex_);
    rooms_.erase(room);
    for (auto it = ll_.begin(); it != ll_.end();)
      it = it->first.rfind(room + "/", 0) == 0 ? ll_.erase(it) : std::next(it);
    return;
  }
  std::shared_ptr<const RoomTable> old;
  {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(room);
    if (it != rooms_.end())
      old = it->second;
  }
  auto table = std::make_shared<RoomTable>();
  int target = store->targetSeconds();
  if (store->ready())
    (*table)["master.m3u8"] = preparePlaylist(store->masterPlaylist(), target);
  if (auto ll = store->llMasterPlaylist())
    (*table)["ll.m3u8"] = preparePlaylist(std::move(*ll), target);
  std::vector<std::pair<std::string, LlState>> ll_states;
  auto keep = [&](const std::string& key, const std::shared_ptr<const std::string>& bytes) {
    if (!old)
      return false;
    auto was = old->find(key);
    if (was == old->end() || was->second->body != bytes)
      return false;
    (*table)[key] = was->second;
    return true;
  };
  for (const auto& rendition : store->renditions()) {
    const std::string& name = rendition->info().name;
    if (auto playlist = store->mediaPlaylist(name))
      (*table)[name + "/index.m3u8"] = preparePlaylist(std::move(*playlist), target);
    if (rendition->info().lowLatency()) {
      // The delta update, the parts the playlist lists and the
      // initialization segments (all immutable, named once).
      if (auto delta = store->llPlaylist(name, true))
        (*table)[name + "/index.m3u8?skip"] = preparePlaylist(std::move(*delta), target);
      auto addPart = [&](const media::HlsPart& part) {
        if (!part.bytes)
          return;
        std::string file = store->epoch() + "-p" + std::to_string(part.number) + ".m4s";
        std::string key = name + "/" + file;
        if (!keep(key, part.bytes))
          (*table)[key] = prepare("video/mp4", kSegmentCacheControl,
                                  "\"" + name + "-" + file + "\"", part.bytes);
      };
      for (const auto& segment : rendition->segments()) {
        for (const auto& part : segment.parts)
          addPart(part);
      }
      if (const auto& open = rendition->openSegment()) {
        for (const auto& part : open->parts)
          addPart(part);
      }
      for (const auto& [version, bytes] : rendition->maps()) {
        std::string file = store->epoch() + "-init-" + std::to_string(version) + ".mp4";
        std::string key = name + "/" + file;
        if (!keep(key, bytes))
          (*table)[key] =
              prepare("video/mp4", kSegmentCacheControl, "\"" + name + "-" + file + "\"", bytes);
      }
      ll_states.push_back({room + "/" + name, {store->epoch(), rendition->position(), target}});
    }
    for (const auto& segment : rendition->segments()) {
      if (!segment.bytes)
        continue;
      std::string key = name + "/" + store->epoch() + "-" + std::to_string(segment.sequence) +
                        rendition->info().extension();
      if (old) {
        auto was = old->find(key);
        if (was != old->end() && was->second->body == segment.bytes) {
          (*table)[key] = was->second;
          continue;
        }
      }
      // The name is unique to these bytes (epoch, rendition, sequence).
      std::string etag =
          "\"" + store->epoch() + "-" + name + "-" + std::to_string(segment.sequence) + "\"";
      (*table)[key] = prepare(rendition->info().contentType(), kSegmentCacheControl,
                              std::move(etag), segment.bytes);
    }
  }
  // The subtitle rendition: a WebVTT segment is made once, when its media
  // segment appears, from the captions the node had by then, and is immutable
  // like the segment (a later correction shows in later segments only).
  if (store->ready()) {
    if (auto playlist = store->subtitlePlaylist())
      (*table)["subs.m3u8"] = preparePlaylist(std::move(*playlist), target);
  }
  if (const media::HlsRendition* timing = store->subtitleTiming()) {
    for (const auto& segment : timing->segments()) {
      std::string key = "subs/" + store->epoch() + "-" + std::to_string(segment.sequence) + ".vtt";
      if (old) {
        auto was = old->find(key);
        if (was != old->end()) {
          (*table)[key] = was->second;
          continue;
        }
      }
      std::string etag = "\"" + store->epoch() + "-subs-" + std::to_string(segment.sequence) + "\"";
      (*table)[key] = prepare("text/vtt; charset=utf-8", kSegmentCacheControl, std::move(etag),
                              std::make_shared<const std::string>(store->subtitleSegment(segment)));
    }
  }
  {
    std::lock_guard lock(mutex_);
    rooms_[room] = std::move(table);
    for (auto& [key, state] : ll_states)
      ll_[key] = std::move(state);
  }
  std::lock_guard lock(listeners_mutex_);
  for (auto& [id, fn] : listeners_)
    fn();
}

bool HlsResponses::llReached(const media::LlPosition& at, uint64_t msn, int64_t part) {
  if (!at.any)
    return false;
  if (msn < at.sequence)
    return true;  // segment msn is whole, and the next one has begun
  return msn == at.sequence && part >= 0 && static_cast<int64_t>(at.parts) > part;
}

int HlsResponses::addListener(std::function<void()> fn) const {
  std::lock_guard lock(listeners_mutex_);
  int id = next_listener_++;
  listeners_[id] = std::move(fn);
  return id;
}

void HlsResponses::removeListener(int id) const {
  std::lock_guard lock(listeners_mutex_);
  listeners_.erase(id);
}

std::optional<HlsResponses::LlState> HlsResponses::llState(const std::string& room,
                                                           const std::string& rendition) const {
  std::lock_guard lock(mutex_);
  auto it = ll_.find(room + "/" + rendition);
  if (it == ll_.end() || !rooms_.count(room))
    return std::nullopt;
  return it->second;
}

size_t HlsResponses::rooms() const {
  std::lock_guard lock(mutex_);
  return rooms_.size();
}

}  // namespace jobcast::http
