#include "signaling/hls.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "core/log.h"
#include "core/secrets.h"
#include "media/hls_subtitles.h"
#include "rooms/access.h"
#include "rooms/keys.h"
#include "signaling/auth.h"
#include "signaling/errors.h"

namespace jobcast {
namespace {

http::Response noStream() {
  auto r = http::Response::error(404, "no_stream", "this room is not streaming");
  r.header("cache-control", "no-cache");
  return r;
}

bool safeFileName(const std::string& name) {
  return !name.empty() && name.size() < 128 && name[0] != '.' &&
         name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
             std::string::npos;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

namespace {

// The prepared answer for `req`, as the front would give it (304 when the
// client's ETag matches).
void sendPrepared(const http::PreparedResponse& p, const http::Request& req,
                  const http::Responder& res) {
  http::Response r;
  r.header("cache-control", p.cache_control);
  r.header("etag", p.etag);
  if (p.notModified(req.header("if-none-match"))) {
    r.status = 304;
    r.content_type.clear();
    res.send(std::move(r));
    return;
  }
  r.content_type = p.content_type;
  r.shared_body = p.body;  // no copy per viewer
  res.send(std::move(r));
}

}  // namespace

namespace {

// Low-latency HLS's blocking requests (a playlist reload with _HLS_msn and
// _HLS_part, a part named by the preload hint before it exists): answered
// when the room's rendition gets that far, or 503 after three target
// durations, as the LL-HLS spec asks. Control thread.
class LlBlocking {
 public:
  LlBlocking(Loop& loop, std::shared_ptr<const http::HlsResponses> responses)
      : loop_(loop), responses_(std::move(responses)) {}

  struct Waiter {
    std::string room;
    std::string rendition;
    // A playlist: wait for this segment and part (part -1: the segment whole).
    uint64_t msn = 0;
    int64_t part = -1;
    bool skip = false;
    // A part: wait for this path to be prepared.
    std::string path;
    std::string if_none_match;
    http::Responder responder{nullptr};
    Clock::TimePoint deadline;
  };

  // The playlist, delta update or part for `w` if it is there now.
  std::shared_ptr<const http::PreparedResponse> ready(const Waiter& w) const {
    if (!w.path.empty())
      return responses_->find(w.path);
    auto state = responses_->llState(w.room, w.rendition);
    if (!state || !http::HlsResponses::llReached(state->position, w.msn, w.part))
      return nullptr;
    return responses_->find("/hls/" + w.room + "/" + w.rendition + "/index.m3u8" +
                            (w.skip ? "?skip" : ""));
  }

  void park(Waiter w, int target_seconds) {
    w.deadline = loop_.now() + std::chrono::seconds(3 * std::max(1, target_seconds));
    waiters_.push_back(std::move(w));
    if (!timer_.active()) {
      timer_.start(loop_, std::chrono::milliseconds(100), [this] {
        expire();
        return !waiters_.empty();
      });
    }
  }

  // The room's HLS changed: answer whoever it satisfies.
  void changed(const std::string& room) {
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->room != room) {
        ++it;
        continue;
      }
      if (auto p = ready(*it)) {
        send(*p, *it);
        it = waiters_.erase(it);
      } else if (!responses_->llState(room, it->rendition)) {
        it->responder.send(noStream());
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }

  size_t waiting() const { return waiters_.size(); }

 private:
  static void send(const http::PreparedResponse& p, const Waiter& w) {
    http::Response r;
    r.header("cache-control", p.cache_control);
    r.header("etag", p.etag);
    if (p.notModified(w.if_none_match)) {
      r.status = 304;
      r.content_type.clear();
      w.responder.send(std::move(r));
      return;
    }
    r.content_type = p.content_type;
    r.shared_body = p.body;
    w.responder.send(std::move(r));
  }

  void expire() {
    auto now = loop_.now();
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->deadline > now) {
        ++it;
        continue;
      }
      auto r = http::Response::error(503, "not_yet_available",
                                     "the stream did not reach the requested part in time");
      r.header("cache-control", "no-cache");
      r.header("retry-after", "1");
      it->responder.send(std::move(r));
      it = waiters_.erase(it);
    }
  }

  Loop& loop_;
  std::shared_ptr<const http::HlsResponses> responses_;
  std::vector<Waiter> waiters_;
  Timer timer_;
};

// "123" as a number; nullopt for anything else.
std::optional<uint64_t> number(const std::string& text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoull(text);
}

// A low-latency playlist request with _HLS_ directives; false when it is not
// one (the caller serves the playlist as it is).
bool llPlaylist(LlBlocking& blocking, const http::HlsResponses& responses, const http::Request& req,
                const http::Responder& res) {
  auto msn_text = req.queryParam("_HLS_msn");
  auto part_text = req.queryParam("_HLS_part");
  auto skip_text = req.queryParam("_HLS_skip");
  if (!msn_text && !part_text && !skip_text)
    return false;
  std::string room = req.param("room");
  std::string rendition = req.param("rendition");
  auto state = responses.llState(room, rendition);
  if (!state)
    return false;  // not a low-latency playlist: the directives are ignored, as RFC 8216bis allows
  LlBlocking::Waiter w;
  w.room = room;
  w.rendition = rendition;
  w.skip = skip_text && (*skip_text == "YES" || *skip_text == "v2");
  w.if_none_match = req.header("if-none-match");
  w.responder = res;
  if (part_text && !msn_text) {
    res.error(400, "invalid_query", "_HLS_part needs _HLS_msn");
    return true;
  }
  if (msn_text) {
    auto msn = number(*msn_text);
    auto part = part_text ? number(*part_text) : std::optional<uint64_t>(0);
    if (!msn || !part) {
      res.error(400, "invalid_query", "_HLS_msn and _HLS_part must be numbers");
      return true;
    }
    // The spec's limit: a request more than two segments ahead is an error.
    if (*msn > state->position.sequence + 2) {
      res.error(400, "invalid_query", "_HLS_msn is more than two segments ahead of the live edge");
      return true;
    }
    w.msn = *msn;
    w.part = part_text ? static_cast<int64_t>(*part) : -1;
  } else {
    w.msn = 0;
    w.part = -1;
  }
  if (auto p = blocking.ready(w)) {
    sendPrepared(*p, req, res);
    return true;
  }
  blocking.park(std::move(w), state->target_seconds);
  return true;
}

// A part the preload hint names, asked for before it exists: waits for it.
// False when the request is not for such a part.
bool llHintedPart(LlBlocking& blocking, const http::HlsResponses& responses,
                  const http::Request& req, const http::Responder& res) {
  std::string room = req.param("room");
  std::string rendition = req.param("rendition");
  auto state = responses.llState(room, rendition);
  if (!state)
    return false;
  std::string prefix = state->epoch + "-p";
  const std::string& name = req.param("segment");
  if (name.rfind(prefix, 0) != 0 || name.size() <= prefix.size() + 4 ||
      name.substr(name.size() - 4) != ".m4s")
    return false;
  auto n = number(name.substr(prefix.size(), name.size() - prefix.size() - 4));
  // The hinted part, or the one after it (a player a little ahead).
  if (!n || *n < state->position.next_part || *n > state->position.next_part + 1)
    return false;
  LlBlocking::Waiter w;
  w.room = room;
  w.rendition = rendition;
  w.path = req.path;
  w.if_none_match = req.header("if-none-match");
  w.responder = res;
  blocking.park(std::move(w), state->target_seconds);
  return true;
}

}  // namespace

std::shared_ptr<const http::HlsResponses> registerHls(http::Router& router, Loop& loop,
                                                      media::MediaService& media) {
  auto responses = std::make_shared<http::HlsResponses>();
  auto blocking = std::make_shared<LlBlocking>(loop, responses);
  media.onHlsChange([responses, blocking, &media](const std::string& room) {
    responses->publish(room, media.hls(room));
    blocking->changed(room);
  });
  // Only while the room's media is on stage here does the front answer its
  // HLS by itself; otherwise the router decides (it may redirect).
  media.onStateChange(
      [responses, &media](const std::string& room, media::StageState, const std::string&) {
        responses->setLive(room, media.onStage(room) != nullptr);
      });
  router.add(http::Method::Get, "/hls/{room}/master.m3u8",
             [responses](const http::Request& req, const http::Responder& res) {
               if (auto p = responses->find(req.path))
                 return sendPrepared(*p, req, res);
               res.send(noStream());
             });
  router.add(http::Method::Get, "/hls/{room}/ll.m3u8",
             [responses](const http::Request& req, const http::Responder& res) {
               if (auto p = responses->find(req.path))
                 return sendPrepared(*p, req, res);
               res.send(noStream());
             });
  router.add(http::Method::Get, "/hls/{room}/subs.m3u8",
             [responses](const http::Request& req, const http::Responder& res) {
               if (auto p = responses->find(req.path))
                 return sendPrepared(*p, req, res);
               res.send(noStream());
             });
  router.add(http::Method::Get, "/hls/{room}/{rendition}/index.m3u8",
             [responses, blocking](const http::Request& req, const http::Responder& res) {
               if (llPlaylist(*blocking, *responses, req, res))
                 return;
               if (auto p = responses->find(req.path))
                 return sendPrepared(*p, req, res);
               res.send(noStream());
             });
  router.add(http::Method::Get, "/hls/{room}/{rendition}/{segment}",
             [responses, blocking](const http::Request& req, const http::Responder& res) {
               if (auto p = responses->find(req.path))
                 return sendPrepared(*p, req, res);
               if (llHintedPart(*blocking, *responses, req, res))
                 return;
               res.error(404, "segment_not_found", "no such segment (expired or unknown)");
             });
  return responses;
}

bool parseByteRange(const std::string& header, uint64_t size, uint64_t& first, uint64_t& last) {
  if (header.rfind("bytes=", 0) != 0 || size == 0)
    return false;
  std::string spec = header.substr(6);
  if (spec.find(',') != std::string::npos)
    return false;  // one range only
  auto dash = spec.find('-');
  if (dash == std::string::npos)
    return false;
  std::string a = spec.substr(0, dash);
  std::string b = spec.substr(dash + 1);
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() < 19 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (a.empty()) {
    if (!digits(b))
      return false;
    uint64_t n = std::stoull(b);
    if (n == 0)
      return false;
    first = n >= size ? 0 : size - n;
    last = size - 1;
    return true;
  }
  if (!digits(a) || (!b.empty() && !digits(b)))
    return false;
  first = std::stoull(a);
  last = b.empty() ? size - 1 : std::min<uint64_t>(std::stoull(b), size - 1);
  return first < size && first <= last;
}

namespace {

// A replay link: a short-lived token for one piece, so a <video> element,
// which cannot send Authorization, fetches what its page was allowed to list.
constexpr int64_t kReplayLinkSeconds = 3600;

std::string replaySubject(const std::string& room, const std::string& file) {
  return "replay:" + room + "/" + file;
}

// Nothing when `req` may replay `room` (and, for a piece, `file`): replays are
// public, or the bearer token may (rooms::Operation::ReplayRecordings), or the
// piece's ?access= link is valid.
std::optional<Error> replayRefusal(const http::Request& req, const Jwt& jwt, const Jwt& links,
                                   bool public_replay, const std::string& room,
                                   const std::string& file) {
  if (public_replay)
    return std::nullopt;
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (!file.empty()) {
    if (auto access = req.queryParam("access")) {
      auto link = links.verify(*access, now);
      if (link && link->sub == replaySubject(room, file) && link->allowsRoom(room))
        return std::nullopt;
      return Error{"forbidden", "this replay link is not valid (any more)"};
    }
  }
  if (req.bearerToken().empty())
    return Error{"unauthorized", "replays need a token for this room"};
  auto claims = http::authenticate(req, jwt, now);
  if (!claims)
    return claims.error();
  rooms::Membership in_room;  // replaying depends on the token's scope only
  in_room.room_id = room;
  return rooms::decide(&claims.value(), in_room, rooms::Operation::ReplayRecordings);
}

void refuse(const http::Responder& res, const Error& e) {
  res.error(errors::httpStatus(e.code), e.code, e.message);
}

}  // namespace

void registerRecordings(http::Router& router, media::MediaService& media, const Jwt& jwt,
                        bool public_replay, const std::string& links_secret) {
  // Replay links are signed with their own key, never the access tokens' one,
  // so a link cannot be used as a sign-in token. Every node has the same one
  // (derived from the access secret by the app), so a link listed by one node
  // is served by another that reads the same shared recordings directory.
  auto links = std::make_shared<const Jwt>(links_secret.empty() ? randomHex(32) : links_secret);
  router.add(
      http::Method::Get, "/api/v1/rooms/{id}/recordings",
      [&media, &jwt, links, public_replay](const http::Request& req, const http::Responder& res) {
        std::string room = req.param("id");
        if (!media::validRoomId(room)) {
          res.error(404, "room_not_found", "no such room");
          return;
        }
        if (auto e = replayRefusal(req, jwt, *links, public_replay, room, ""))
          return refuse(res, *e);
        std::string dir = media.recordingDir(room);
        nlohmann::json timeline =
            nlohmann::json::parse(readFile(dir + "/timeline.json"), nullptr, false);
        nlohmann::json pieces = nlohmann::json::array();
        int64_t now = static_cast<int64_t>(std::time(nullptr));
        if (timeline.is_object() && timeline["pieces"].is_array()) {
          for (auto piece : timeline["pieces"]) {
            std::string file = piece.value("file", "");
            std::error_code ec;
            auto size = std::filesystem::file_size(dir + "/" + file, ec);
            if (ec)
              continue;
            piece["bytes"] = size;
            piece["url"] = "/recordings/" + room + "/" + file;
            if (!public_replay) {
              Claims link;
              link.sub = replaySubject(room, file);
              link.role = Role::Jobseeker;
              link.rooms = {room};
              link.iat = now;
              link.exp = now + kReplayLinkSeconds;
              piece["url"] = piece["url"].get<std::string>() + "?access=" + links->sign(link);
            }
            // The piece's captions (PIECE.vtt), with a link of its own.
            std::string vtt = piece.value("captions", "");
            piece.erase("captions");
            if (!vtt.empty() && std::filesystem::exists(dir + "/" + vtt, ec)) {
              piece["captions_url"] = "/recordings/" + room + "/" + vtt;
              if (!public_replay) {
                Claims link;
                link.sub = replaySubject(room, vtt);
                link.role = Role::Jobseeker;
                link.rooms = {room};
                link.iat = now;
                link.exp = now + kReplayLinkSeconds;
                piece["captions_url"] =
                    piece["captions_url"].get<std::string>() + "?access=" + links->sign(link);
              }
            }
            pieces.push_back(piece);
          }
        }
        res.json(200, {{"room", room}, {"recordings", pieces}});
      });
  router.add(
      http::Method::Get, "/recordings/{room}/{file}",
      [&media, &jwt, links, public_replay](const http::Request& req, const http::Responder& res) {
        std::string room = req.param("room");
        std::string file = req.param("file");
        const bool captions = file.size() >= 5 && file.substr(file.size() - 4) == ".vtt";
        if (!media::validRoomId(room) || !safeFileName(file) || file.size() < 5 ||
            (file.substr(file.size() - 4) != ".mp4" && !captions)) {
          res.error(404, "not_found", "no such recording");
          return;
        }
        if (auto e = replayRefusal(req, jwt, *links, public_replay, room, file))
          return refuse(res, *e);
        std::string path = media.recordingDir(room) + "/" + file;
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat st {};
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
          if (fd >= 0)
            ::close(fd);
          res.error(404, "not_found", "no such recording");
          return;
        }
        auto owned = std::shared_ptr<const int>(new int(fd), [](const int* f) {
          ::close(*f);
          delete f;
        });
        uint64_t size = static_cast<uint64_t>(st.st_size);
        http::Response r;
        r.content_type = captions ? "text/vtt; charset=utf-8" : "video/mp4";
        r.header("accept-ranges", "bytes");
        r.header("cache-control", public_replay ? "public, max-age=3600" : "private, max-age=3600");
        std::string range = req.header("range");
        uint64_t first = 0, last = size ? size - 1 : 0;
        if (!range.empty()) {
          if (!parseByteRange(range, size, first, last)) {
            auto bad = http::Response::error(416, "range_not_satisfiable",
                                             "the range is outside the file");
            bad.header("content-range", "bytes */" + std::to_string(size));
            res.send(std::move(bad));
            return;
          }
          r.status = 206;
          r.header("content-range", "bytes " + std::to_string(first) + "-" + std::to_string(last) +
                                        "/" + std::to_string(size));
        }
        // Streamed from the open file in bounded chunks as the socket takes them.
        r.file_body = http::Response::FileBody{owned, first, size ? last - first + 1 : 0};
        res.send(std::move(r));
      });
}

std::string captionFileOf(const std::string& piece_file) {
  auto dot = piece_file.rfind('.');
  return (dot == std::string::npos ? piece_file : piece_file.substr(0, dot)) + ".vtt";
}

void RecordingTimeline::writeCaptions(const std::string& room, const media::RecordingPiece& piece) {
  std::string path = media_.recordingDir(room) + "/" +
                     captionFileOf(std::filesystem::path(piece.path).filename().string());
  redis_.command({"HGETALL", rooms::keys::captions(room)}, [path, piece](Result<RedisReply> reply) {
    media::CaptionTrack track;
    if (reply && reply->type == RedisReply::Type::Array) {
      const auto& flat = reply->elements;
      for (size_t i = 0; i + 1 < flat.size(); i += 2) {
        auto c = nlohmann::json::parse(flat[i + 1].str, nullptr, false);
        if (c.is_object() && c["at"].is_number_integer() && c["text"].is_string())
          track.set(flat[i].str, c["at"].get<int64_t>(), c["text"].get<std::string>());
      }
    } else {
      log::warn("recording captions: could not read them");
    }
    // Always written (maybe with no cue), so each piece lists a caption track.
    std::string tmp = path + ".tmp";
    std::ofstream(tmp) << media::vttFile(track.cues(), piece.started_ms, piece.ended_ms);
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
  });
}

RecordingTimeline::RecordingTimeline(RedisClient& redis, media::MediaService& media)
    : redis_(redis), media_(media) {
  media_.onRecordingClosed([this](const std::string& room, const media::RecordingPiece& piece) {
    onPiece(room, piece);
  });
}

void RecordingTimeline::onPiece(const std::string& room, const media::RecordingPiece& piece) {
  // First: one connection answers in order, so PIECE.vtt is on disk before
  // the timeline lists the piece (and with it the captions).
  writeCaptions(room, piece);
  std::string key = rooms::keys::events(room);
  std::string dir = media_.recordingDir(room);
  auto write = [dir, piece](const nlohmann::json& pins) {
    std::string path = dir + "/timeline.json";
    nlohmann::json timeline = nlohmann::json::parse(readFile(path), nullptr, false);
    if (!timeline.is_object())
      timeline = {{"pieces", nlohmann::json::array()}};
    std::string file = std::filesystem::path(piece.path).filename().string();
    nlohmann::json entry = {
        {"file", file},
        {"captions", captionFileOf(file)},
        {"started_ms", piece.started_ms},
        {"ended_ms", piece.ended_ms},
        {"duration_s", static_cast<double>(piece.ended_ms - piece.started_ms) / 1000.0},
        {"pins", pins}};
    timeline["pieces"].push_back(entry);
    std::string tmp = path + ".tmp";
    std::ofstream(tmp) << timeline.dump(2);
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
  };
  // Stream ids are milliseconds: the pins made while this piece was recorded.
  redis_.command(
      {"XRANGE", key, std::to_string(piece.started_ms), std::to_string(piece.ended_ms)},
      [piece, write](Result<RedisReply> reply) {
        nlohmann::json pins = nlohmann::json::array();
        if (reply && reply->type == RedisReply::Type::Array) {
          for (const auto& entry : reply->elements) {
            if (entry.elements.size() != 2)
              continue;
            std::string id = entry.elements[0].str;
            std::string kind, data;
            const auto& fields = entry.elements[1].elements;
            for (size_t i = 0; i + 1 < fields.size(); i += 2) {
              if (fields[i].str == "kind")
                kind = fields[i + 1].str;
              else if (fields[i].str == "data")
                data = fields[i + 1].str;
            }
            if (kind != "job.pinned")
              continue;
            auto json = nlohmann::json::parse(data, nullptr, false);
            if (!json.is_object())
              continue;
            // Accept {"job_id","title"} or {"job":{"id","title"}}.
            nlohmann::json job =
                json.contains("job") && json["job"].is_object() ? json["job"] : json;
            std::string job_id = job.value("job_id", job.value("id", ""));
            int64_t at = std::stoll(id.substr(0, id.find('-')));
            pins.push_back({{"at_ms", at},
                            {"offset_s", static_cast<double>(at - piece.started_ms) / 1000.0},
                            {"job_id", job_id},
                            {"title", job.value("title", "")}});
          }
        } else {
          log::warn("recording timeline: could not read pins");
        }
        write(pins);
      });
}

}  // namespace jobcast
