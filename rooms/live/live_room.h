#pragma once
// The live room's interactions: chat (word filter, length, rate, slow mode),
// questions and votes, moderation, the interview queue, cards, captions and
// viewer presence. Each change is one Lua script (rooms/live/*.lua) that also
// appends its event to the room stream (docs/redis-schema.md). This layer
// decides who may do what; signaling/ carries frames to and from it.
// All methods and callbacks run on the control thread.

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jwt.h"
#include "core/redis.h"
#include "core/result.h"
#include "rooms/access.h"
#include "rooms/actor.h"
#include "rooms/events.h"
#include "rooms/live/interview_call.h"

namespace jobcast::live {

// Who is acting (rooms/actor.h): anonymous viewers have no subject and may only read.
using rooms::Actor;

enum class Action {
  ChatSend,
  QuestionAsk,
  QuestionVote,
  QuestionAnswer,
  Apply,
  QueueJoin,
  QueueLeave,
  QueueNext,
  ModDelete,
  ModMute,
  ModBan,
  ModSlowmode,
  ModKick,
  ChatPin,
  ChatUnpin,
  CardShow,
  CardHide,
  CaptionSend,
  CallJoin,
  CallSignal,
};

std::optional<Action> parseAction(std::string_view type);
const char* actionName(Action action);

// Asks the access policy (rooms/access.h) with the actor's standing.
// Errors: "unauthorized" (anonymous) or "forbidden".
Result<bool> authorize(const Actor& actor, Action action);
// Where `actor` stands in `room`, from the room hash inside a snapshot.
rooms::Standing standingOf(const std::string& room, const Actor& actor,
                           const nlohmann::json& snapshot);

struct Limits {
  size_t chat_max_chars = 500;
  int chat_rate_count = 5;  // messages per window per user
  int chat_rate_window_ms = 10000;
  size_t question_max_chars = 300;
  size_t caption_max_chars = 1000;
  int64_t mute_max_s = 7 * 24 * 3600;
  int64_t slowmode_max_s = 3600;
  std::vector<std::string> blocked_words;               // masked in chat and questions
  int64_t events_maxlen = rooms::kDefaultEventsMaxlen;  // the room's event stream bound
  CallOptions calls;                                    // interview calls, TURN
};

// Masks each blocked word with one '*' per character, matching on Unicode
// code points (Latin and Cyrillic case-insensitively). A word with Han, kana
// or Mongolian script in it matches anywhere, since those are written without
// spaces between words; any other word only as a whole word.
class WordFilter {
 public:
  explicit WordFilter(std::vector<std::string> words);
  std::string mask(std::string_view text) const;

 private:
  struct Word {
    std::u32string cps;     // case-folded code points
    bool anywhere = false;  // matched as a substring, not on word boundaries
  };
  std::vector<Word> words_;
};

// Length of a UTF-8 text in code points; nullopt when it is not valid UTF-8.
std::optional<size_t> utf8Length(std::string_view text);

// Decides whether a client may resume from `since` given the stream's state.
enum class ResumeVerdict { Fresh, Resume, Expired, Unknown };
// last_id: the stream's last generated id; first_id: its first retained entry
// ("" when empty); max_deleted_id: the highest id removed by XDEL.
ResumeVerdict resumeVerdict(const std::optional<std::string>& since, const std::string& last_id,
                            const std::string& first_id, const std::string& max_deleted_id);

// A stream entry id "MS-SEQ", ordered.
struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;
  static std::optional<StreamId> parse(std::string_view text);
  std::string str() const { return std::to_string(ms) + "-" + std::to_string(seq); }
  auto operator<=>(const StreamId&) const = default;
};

// Where the rooms domain (room status, jobs, applications, REST apply) plugs in.
// The live channel needs only these two calls from it.
class RoomsPort {
 public:
  virtual ~RoomsPort() = default;
  // Adds "jobs", "pinned_job" and (for a jobseeker) "applications" to `snapshot`.
  virtual void enrichSnapshot(const std::string& room, const Actor& actor, nlohmann::json snapshot,
                              std::function<void(nlohmann::json)> done) = 0;
  // One-click apply with the REST rules and idempotency.
  virtual void apply(const std::string& room, const Actor& actor, const nlohmann::json& args,
                     std::function<void(Result<nlohmann::json>)> done) = 0;
};

// A RoomsPort that reads only the room hash (rooms::keys::room): no jobs, no apply.
std::unique_ptr<RoomsPort> makeRoomHashPort();

class LiveRoom {
 public:
  using Reply = std::function<void(Result<nlohmann::json>)>;

  LiveRoom(RedisClient& redis, Limits limits, RoomsPort* rooms);

  // Checks the arguments of `action`, authorizes `actor`, runs it. The reply
  // holds what the ack carries, or an error (code + message).
  void perform(const std::string& room, const Actor& actor, Action action,
               const nlohmann::json& args, Reply reply);

  // The room as the actor may see it; sets actor's staff flag in "staff".
  void snapshot(const std::string& room, const Actor& actor, Reply reply);

  // One node's heartbeat for a room: its viewer count, the subjects it has
  // not yet counted in the room's figures (`uncounted`), and all its
  // connected subjects (`subs`); then the room's open interview calls are
  // swept (call_sweep.lua).
  void presence(const std::string& room, const std::string& node, size_t viewers,
                const std::vector<std::string>& uncounted, const std::vector<std::string>& subs,
                int64_t ttl_ms, int64_t grace_ms, Reply reply);

  const Limits& limits() const { return limits_; }
  void setRoomsPort(RoomsPort* rooms) { rooms_ = rooms; }

 private:
  // dedup_key: the request's client_id key (see event.lua), or empty.
  void run(const rooms::RoomScript& script, const std::string& room, std::vector<std::string> args,
           const std::string& dedup_key,
           std::function<void(Result<std::vector<std::string>>)> done);

  RedisClient& redis_;
  Limits limits_;
  WordFilter filter_;
  RoomsPort* rooms_;
  std::map<std::string, rooms::RoomScript> scripts_;
};

}  // namespace jobcast::live
