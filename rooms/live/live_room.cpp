#include "rooms/live/live_room.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>

#include "core/log.h"
#include "core/secrets.h"
#include "rooms/keys.h"
#include "rooms/live/live_scripts.h"
#include "rooms/model.h"
#include "rooms/stage.h"

namespace jobcast::live {

namespace {

using nlohmann::json;

const std::map<std::string_view, Action>& actionTable() {
  static const std::map<std::string_view, Action> table = {
      {"chat.send", Action::ChatSend},
      {"question.ask", Action::QuestionAsk},
      {"question.vote", Action::QuestionVote},
      {"question.answer", Action::QuestionAnswer},
      {"apply", Action::Apply},
      {"queue.join", Action::QueueJoin},
      {"queue.leave", Action::QueueLeave},
      {"queue.next", Action::QueueNext},
      {"mod.delete", Action::ModDelete},
      {"mod.mute", Action::ModMute},
      {"mod.ban", Action::ModBan},
      {"mod.slowmode", Action::ModSlowmode},
      {"mod.kick", Action::ModKick},
      {"chat.pin", Action::ChatPin},
      {"chat.unpin", Action::ChatUnpin},
      {"card.show", Action::CardShow},
      {"card.hide", Action::CardHide},
      {"caption.send", Action::CaptionSend},
      {"call.join", Action::CallJoin},
      {"call.signal", Action::CallSignal},
  };
  return table;
}

// A frame field that does not fit: "FIELD: why" names the field (rooms::fieldOf).
Error badArgs(const std::string& message) {
  return Error{"invalid_field", message};
}

// A required string field of at most `max_chars` code points, not blank.
Result<std::string> textField(const json& args, const char* name, size_t max_chars,
                              bool allow_empty = false) {
  auto it = args.find(name);
  if (it == args.end() || !it->is_string()) {
    if (allow_empty && (it == args.end() || it->is_null()))
      return std::string();
    return badArgs(std::string(name) + ": must be a string");
  }
  std::string text = it->get<std::string>();
  auto length = utf8Length(text);
  if (!length)
    return badArgs(std::string(name) + ": is not valid UTF-8");
  bool blank =
      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) != 0; });
  if (blank && !allow_empty)
    return badArgs(std::string(name) + ": is empty");
  if (*length > max_chars) {
    return Error{"too_long", std::string("'") + name + "' is over " + std::to_string(max_chars) +
                                 " characters"};
  }
  return text;
}

Result<std::string> idField(const json& args, const char* name) {
  auto it = args.find(name);
  if (it == args.end() || !it->is_string() || it->get_ref<const std::string&>().empty() ||
      it->get_ref<const std::string&>().size() > 64) {
    return badArgs(std::string(name) + ": must be an id");
  }
  return it->get<std::string>();
}

// The optional client-chosen id of a write a client may retry: 1-64 of
// [A-Za-z0-9_-]. Empty when absent.
Result<std::string> clientIdField(const json& args) {
  auto it = args.find("client_id");
  if (it == args.end())
    return std::string();
  bool ok = it->is_string() && !it->get_ref<const std::string&>().empty() &&
            it->get_ref<const std::string&>().size() <= 64;
  if (ok) {
    for (char c : it->get_ref<const std::string&>()) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
        ok = false;
    }
  }
  if (!ok)
    return badArgs("client_id: must be 1-64 characters of A-Z, a-z, 0-9, '_' and '-'");
  return it->get<std::string>();
}

Result<int64_t> intField(const json& args, const char* name, int64_t min, int64_t max) {
  auto it = args.find(name);
  if (it == args.end() || !it->is_number_integer())
    return badArgs(std::string(name) + ": must be an integer");
  int64_t v = it->get<int64_t>();
  if (v < min || v > max) {
    return badArgs(std::string(name) + ": must be between " + std::to_string(min) + " and " +
                   std::to_string(max));
  }
  return v;
}

// The number a script returned at `index`; 0 when the reply is not what the
// script promises (never throws: this runs inside a Redis reply callback).
int64_t countAt(const std::vector<std::string>& parts, size_t index) {
  if (index >= parts.size())
    return 0;
  const std::string& text = parts[index];
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() ? value : 0;
}

std::string roleText(const Actor& actor) {
  return actor.role ? roleName(*actor.role) : "viewer";
}

Error scriptError(const std::string& code, const std::string& detail) {
  if (code == "muted")
    return Error{code, "you are muted for " + detail + " s more", countAt({detail}, 0)};
  if (code == "slow_mode")
    return Error{code, "slow mode: wait " + detail + " s", countAt({detail}, 0)};
  if (code == "rate_limited")
    return Error{code, "too many messages: wait " + detail + " s", countAt({detail}, 0)};
  if (code == "banned")
    return Error{code, "you are banned from this room"};
  if (code == "already_voted")
    return Error{code, "you already voted for this question"};
  if (code == "not_found")
    return Error{code, "no such item in this room"};
  if (code == "not_queued")
    return Error{code, "you are not in the interview queue"};
  if (code == "queue_empty")
    return Error{code, "nobody is waiting"};
  if (code == "room_not_found")
    return Error{code, "no such room"};
  if (code == "call_not_found")
    return Error{code, "no such interview call in this room"};
  if (code == "call_forbidden")
    return Error{code, "only the two parties of this call may take part in it"};
  if (code == "call_ended")
    return Error{code, "this interview call has ended"};
  return Error{code, code};
}

// Room-hash-only view of the rooms domain: status and the pinned job come from
// keys::room; jobs and applications need the rooms store.
class RoomHashOnly : public RoomsPort {
 public:
  void enrichSnapshot(const std::string&, const Actor&, json snapshot,
                      std::function<void(json)> done) override {
    snapshot["jobs"] = json::array();
    snapshot["applications"] = json::array();
    done(std::move(snapshot));
  }
  void apply(const std::string&, const Actor&, const json&,
             std::function<void(Result<json>)> done) override {
    done(Error{"unavailable", "applying is not available on this node yet"});
  }
};

}  // namespace

std::optional<Action> parseAction(std::string_view type) {
  auto it = actionTable().find(type);
  if (it == actionTable().end())
    return std::nullopt;
  return it->second;
}

const char* actionName(Action action) {
  for (const auto& [name, a] : actionTable()) {
    if (a == action)
      return name.data();
  }
  return "?";
}

rooms::Operation operationOf(Action action) {
  switch (action) {
    case Action::ChatSend:
    case Action::QuestionAsk:
    case Action::QuestionVote:
      return rooms::Operation::Participate;
    case Action::CallJoin:
    case Action::CallSignal:
      // Any signed-in member of the room may ask; the call's script then
      // admits only its two parties (call_forbidden).
      return rooms::Operation::Participate;
    case Action::Apply:
    case Action::QueueJoin:
    case Action::QueueLeave:
      return rooms::Operation::Apply;
    case Action::QueueNext:
      return rooms::Operation::RunRoom;
    case Action::QuestionAnswer:
    case Action::ModDelete:
    case Action::ModMute:
    case Action::ModBan:
    case Action::ModSlowmode:
    case Action::ModKick:
    case Action::ChatPin:
    case Action::ChatUnpin:
      return rooms::Operation::Moderate;
    case Action::CardShow:
    case Action::CardHide:
      return rooms::Operation::ShowCard;
    case Action::CaptionSend:
      return rooms::Operation::SendCaption;
  }
  return rooms::Operation::RunRoom;
}

Result<bool> authorize(const Actor& actor, Action action) {
  if (actor.anonymous())
    return Error{"unauthorized", "sign in to take part"};
  if (rooms::decide(actor.standing, operationOf(action)))
    return Error{"forbidden", std::string(actionName(action)) + " is not allowed for " +
                                  roleName(*actor.role) + " in this room"};
  return true;
}

rooms::Standing standingOf(const std::string& room, const Actor& actor, const json& snapshot) {
  if (actor.anonymous())
    return {};
  // The channel admitted the token only if its rooms claim names this room.
  Claims claims = actor.claimsIn(room);
  const json empty = json::object();
  const json& hash =
      snapshot.contains("room") && snapshot["room"].is_object() ? snapshot["room"] : empty;
  auto members = rooms::Membership::fromHash(room, [&](const char* field) {
    auto it = hash.find(field);
    return it != hash.end() && it->is_string() ? it->get<std::string>() : std::string();
  });
  return rooms::standingIn(&claims, members);
}

namespace {

// One code point of a UTF-8 text and where its bytes are. A byte that does not
// start a valid sequence stands for itself (the text is validated before it
// reaches the filter; this only keeps the filter total).
struct CodePoint {
  char32_t cp;
  size_t at;
  size_t len;
};

std::vector<CodePoint> decodeUtf8(std::string_view text) {
  std::vector<CodePoint> out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = n > 0 && i + n <= text.size();
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; ok && k < n; ++k) {
      auto b = static_cast<unsigned char>(text[i + k]);
      ok = (b >> 6) == 0x2;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (!ok) {
      out.push_back({c, i, 1});
      ++i;
      continue;
    }
    out.push_back({cp, i, n});
    i += n;
  }
  return out;
}

// Case folding for the scripts the region writes with case: Latin (ASCII) and
// Cyrillic (Mongolian in Cyrillic). Han and Mongolian script have no case.
char32_t fold(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z')
    return cp + 0x20;
  if (cp >= 0x410 && cp <= 0x42f)
    return cp + 0x20;
  if (cp >= 0x400 && cp <= 0x40f)
    return cp + 0x50;
  return cp;
}

// Scripts written without spaces between words (Han, kana) or whose words
// a filter should find inside longer runs (traditional Mongolian, where
// suffixes attach): a blocked word in them matches anywhere.
bool unspacedScript(char32_t cp) {
  return (cp >= 0x1800 && cp <= 0x18af) ||    // Mongolian
         (cp >= 0x11660 && cp <= 0x1167f) ||  // Mongolian supplement
         (cp >= 0x2e80 && cp <= 0x2fdf) ||    // CJK radicals
         (cp >= 0x3040 && cp <= 0x30ff) ||    // kana
         (cp >= 0x3400 && cp <= 0x4dbf) ||    // CJK extension A
         (cp >= 0x4e00 && cp <= 0x9fff) ||    // CJK unified ideographs
         (cp >= 0xf900 && cp <= 0xfaff) ||    // CJK compatibility ideographs
         (cp >= 0x20000 && cp <= 0x3134f);    // CJK extensions B-G
}

// A letter or digit of a spaced script: what a whole-word match may not touch.
bool wordChar(char32_t cp) {
  if (cp < 0x80)
    return std::isalnum(static_cast<int>(cp)) != 0;
  if (unspacedScript(cp))
    return false;
  // General punctuation, CJK and full-width punctuation and spaces separate words.
  bool separator = (cp >= 0x2000 && cp <= 0x206f) || (cp >= 0x3000 && cp <= 0x303f) ||
                   (cp >= 0xff00 && cp <= 0xff0f) || (cp >= 0xff1a && cp <= 0xff20) ||
                   cp == 0x00a0 || (cp >= 0x00a1 && cp <= 0x00bf) || cp == 0x00d7 || cp == 0x00f7 ||
                   cp == 0x1802 || cp == 0x1803;
  return !separator;
}

}  // namespace

WordFilter::WordFilter(std::vector<std::string> words) {
  for (const auto& w : words) {
    Word word;
    for (const auto& c : decodeUtf8(w)) {
      word.cps.push_back(fold(c.cp));
      word.anywhere = word.anywhere || unspacedScript(c.cp);
    }
    if (!word.cps.empty())
      words_.push_back(std::move(word));
  }
}

std::string WordFilter::mask(std::string_view text) const {
  if (words_.empty())
    return std::string(text);
  std::vector<CodePoint> cps = decodeUtf8(text);
  std::vector<char32_t> folded(cps.size());
  for (size_t i = 0; i < cps.size(); ++i)
    folded[i] = fold(cps[i].cp);
  std::vector<bool> hidden(cps.size(), false);
  for (const auto& w : words_) {
    auto from = folded.begin();
    while (true) {
      auto hit = std::search(from, folded.end(), w.cps.begin(), w.cps.end());
      if (hit == folded.end())
        break;
      size_t pos = static_cast<size_t>(hit - folded.begin());
      size_t end = pos + w.cps.size();
      bool starts = w.anywhere || pos == 0 || !wordChar(folded[pos - 1]);
      bool ends = w.anywhere || end == folded.size() || !wordChar(folded[end]);
      if (starts && ends) {
        std::fill(hidden.begin() + static_cast<std::ptrdiff_t>(pos),
                  hidden.begin() + static_cast<std::ptrdiff_t>(end), true);
        from = folded.begin() + static_cast<std::ptrdiff_t>(end);
      } else {
        from = hit + 1;
      }
    }
  }
  // One '*' per hidden character, whatever its byte length.
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < cps.size(); ++i) {
    if (hidden[i]) {
      out.push_back('*');
    } else {
      out.append(text.substr(cps[i].at, cps[i].len));
    }
  }
  return out;
}

std::optional<size_t> utf8Length(std::string_view text) {
  size_t count = 0;
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > text.size())
      return std::nullopt;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2)
        return std::nullopt;
    }
    if (c < 0x20 && c != '\n' && c != '\t')
      return std::nullopt;  // control characters have no place in chat
    i += n;
    ++count;
  }
  return count;
}

std::optional<StreamId> StreamId::parse(std::string_view text) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == text.size() || text.size() > 41)
    return std::nullopt;
  StreamId id;
  auto digits = [](std::string_view s, uint64_t& out) {
    if (s.size() > 19)
      return false;
    out = 0;
    for (char c : s) {
      if (c < '0' || c > '9')
        return false;
      out = out * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
  };
  if (!digits(text.substr(0, dash), id.ms) || !digits(text.substr(dash + 1), id.seq))
    return std::nullopt;
  return id;
}

ResumeVerdict resumeVerdict(const std::optional<std::string>& since, const std::string& last_id,
                            const std::string& first_id, const std::string& max_deleted_id) {
  if (!since)
    return ResumeVerdict::Fresh;
  auto s = StreamId::parse(*since);
  auto last = StreamId::parse(last_id);
  auto deleted = StreamId::parse(max_deleted_id);
  if (!s || !last || !deleted || *s > *last)
    return ResumeVerdict::Unknown;  // not an id of this stream
  if (*s == *last)
    return ResumeVerdict::Resume;  // nothing new
  // Entries after `since` may be gone if one was deleted after it, or if
  // trimming moved the first retained entry past it. (When `since` itself was
  // the last trimmed entry this says Expired needlessly: a fresh snapshot.)
  if (*s < *deleted)
    return ResumeVerdict::Expired;
  auto first = StreamId::parse(first_id);
  if (!first || *s < *first)
    return ResumeVerdict::Expired;
  return ResumeVerdict::Resume;
}

std::unique_ptr<RoomsPort> makeRoomHashPort() {
  return std::make_unique<RoomHashOnly>();
}

LiveRoom::LiveRoom(RedisClient& redis, Limits limits, RoomsPort* rooms)
    : redis_(redis), limits_(std::move(limits)), filter_(limits_.blocked_words), rooms_(rooms) {
  // event.lua holds what the live scripts share; RoomScript puts rooms/prelude.lua in front.
  std::string shared(scripts::kEventLua);
  shared += callMovesFromLua();
  shared += scripts::kCallSharedLua;
  const std::pair<const char*, std::string_view> bodies[] = {
      {"chat.send", scripts::kChatSendLua},
      {"question.ask", scripts::kQuestionAskLua},
      {"question.vote", scripts::kQuestionVoteLua},
      {"question.answer", scripts::kQuestionAnswerLua},
      {"mod.delete", scripts::kModDeleteLua},
      {"mod.mute", scripts::kModMuteLua},
      {"mod.ban", scripts::kModBanLua},
      {"mod.slowmode", scripts::kModSlowmodeLua},
      {"mod.kick", scripts::kModKickLua},
      {"chat.pin", scripts::kChatPinLua},
      {"chat.unpin", scripts::kChatUnpinLua},
      {"card.hide", scripts::kCardHideLua},
      {"queue.join", scripts::kQueueJoinLua},
      {"queue.leave", scripts::kQueueLeaveLua},
      {"queue.next", scripts::kQueueNextLua},
      {"card.show", scripts::kCardShowLua},
      {"caption.send", scripts::kCaptionSendLua},
      {"presence", scripts::kPresenceLua},
      {"snapshot", scripts::kSnapshotLua},
      {"call.join", scripts::kCallJoinLua},
      {"call.signal", scripts::kCallSignalLua},
      {"call.sweep", scripts::kCallSweepLua},
  };
  for (const auto& [name, body] : bodies)
    scripts_.emplace(name, rooms::RoomScript(shared + std::string(body)));
}

void LiveRoom::run(const rooms::RoomScript& script, const std::string& room,
                   std::vector<std::string> args, const std::string& dedup_key,
                   std::function<void(Result<std::vector<std::string>>)> done) {
  std::vector<std::string> keys{rooms::keys::roomPrefix(room)};
  if (!dedup_key.empty())
    keys.push_back(dedup_key);
  script.run(
      redis_, limits_.events_maxlen, keys, args, [done = std::move(done)](Result<RedisReply> r) {
        if (!r.ok()) {
          done(r.error());
          return;
        }
        const RedisReply& reply = r.value();
        if (reply.isError()) {
          done(Error{"internal", "room script failed"});
          return;
        }
        std::vector<std::string> parts;
        for (const auto& e : reply.elements)
          parts.push_back(e.type == RedisReply::Type::Integer ? std::to_string(e.integer) : e.str);
        if (parts.empty()) {
          done(Error{"internal", "room script gave no answer"});
          return;
        }
        if (parts[0] == "err") {
          done(scriptError(parts.size() > 1 ? parts[1] : "internal",
                           parts.size() > 2 ? parts[2] : ""));
          return;
        }
        done(std::move(parts));
      });
}

void LiveRoom::perform(const std::string& room, const Actor& actor, Action action, const json& args,
                       Reply reply) {
  auto allowed = authorize(actor, action);
  if (!allowed) {
    reply(allowed.error());
    return;
  }
  auto fail = [&](const Error& e) { reply(e); };
  // Each case validates its arguments, then runs its script; `ack` shapes the answer.
  using Parts = std::vector<std::string>;
  // Writes a client may retry take an optional client_id: a repeat within
  // the dedup key's lifetime gets the first answer and changes nothing.
  std::string dedup_key;
  switch (action) {
    case Action::ChatSend:
    case Action::QuestionAsk:
    case Action::QuestionVote:
    case Action::QueueJoin:
    case Action::QueueLeave:
    case Action::QueueNext: {
      auto client_id = clientIdField(args);
      if (!client_id)
        return fail(client_id.error());
      if (!client_id->empty())
        dedup_key = rooms::keys::dedup(room, actor.sub, client_id.value());
      break;
    }
    default:
      break;
  }
  auto go = [&](const char* script, std::vector<std::string> argv,
                std::function<json(const Parts&)> ack) {
    run(scripts_.at(script), room, std::move(argv), dedup_key,
        [reply = std::move(reply), ack = std::move(ack)](Result<Parts> r) {
          if (!r.ok()) {
            reply(r.error());
            return;
          }
          reply(ack(r.value()));
        });
  };
  auto idAndEvent = [](const Parts& p) {
    return json{{"id", p.size() > 1 ? p[1] : ""}, {"event", p.size() > 2 ? p[2] : ""}};
  };
  switch (action) {
    case Action::ChatSend: {
      auto text = textField(args, "text", limits_.chat_max_chars);
      if (!text)
        return fail(text.error());
      go("chat.send",
         {actor.sub, actor.name, roleText(actor), actor.staff ? "1" : "0",
          filter_.mask(text.value()), std::to_string(limits_.chat_rate_count),
          std::to_string(limits_.chat_rate_window_ms)},
         idAndEvent);
      return;
    }
    case Action::QuestionAsk: {
      auto text = textField(args, "text", limits_.question_max_chars);
      if (!text)
        return fail(text.error());
      go("question.ask", {actor.sub, actor.name, filter_.mask(text.value())}, idAndEvent);
      return;
    }
    case Action::QuestionVote: {
      auto id = idField(args, "id");
      if (!id)
        return fail(id.error());
      go("question.vote", {actor.sub, id.value()}, [](const Parts& p) {
        return json{{"votes", countAt(p, 1)}, {"event", p.size() > 2 ? p[2] : ""}};
      });
      return;
    }
    case Action::QuestionAnswer: {
      auto id = idField(args, "id");
      if (!id)
        return fail(id.error());
      auto answer = textField(args, "answer", limits_.question_max_chars * 4, true);
      if (!answer)
        return fail(answer.error());
      go("question.answer", {actor.sub, actor.name, id.value(), answer.value()}, idAndEvent);
      return;
    }
    case Action::Apply:
      rooms_->apply(room, actor, args, std::move(reply));
      return;
    case Action::QueueJoin:
      go("queue.join", {actor.sub, actor.name}, [](const Parts& p) {
        return json{{"position", countAt(p, 1)}};
      });
      return;
    case Action::QueueLeave:
      go("queue.leave", {actor.sub}, [](const Parts&) { return json::object(); });
      return;
    case Action::QueueNext: {
      std::string call_id = "call-" + randomHex(8);
      go("queue.next", {actor.sub, actor.name, call_id}, [](const Parts& p) {
        // The script's call id: a repeated request answers with the first one.
        return json{{"call_id", p.size() > 4 ? p[4] : ""},
                    {"jobseeker", {{"sub", p.at(1)}, {"name", p.size() > 3 ? p[3] : ""}}}};
      });
      return;
    }
    case Action::ModDelete: {
      auto id = idField(args, "id");
      if (!id)
        return fail(id.error());
      go("mod.delete", {id.value(), actor.sub}, idAndEvent);
      return;
    }
    case Action::ModMute: {
      auto sub = idField(args, "sub");
      if (!sub)
        return fail(sub.error());
      auto seconds = intField(args, "seconds", 0, limits_.mute_max_s);
      if (!seconds)
        return fail(seconds.error());
      go("mod.mute", {sub.value(), std::to_string(seconds.value())}, idAndEvent);
      return;
    }
    case Action::ModBan: {
      auto sub = idField(args, "sub");
      if (!sub)
        return fail(sub.error());
      if (sub.value() == actor.sub)
        return fail(badArgs("sub: you cannot ban yourself"));
      go("mod.ban", {sub.value()}, idAndEvent);
      return;
    }
    case Action::ModSlowmode: {
      auto seconds = intField(args, "seconds", 0, limits_.slowmode_max_s);
      if (!seconds)
        return fail(seconds.error());
      go("mod.slowmode", {std::to_string(seconds.value())}, [](const Parts& p) {
        return json{{"seconds", countAt(p, 1)}};
      });
      return;
    }
    case Action::ModKick: {
      auto sub = idField(args, "sub");
      if (!sub)
        return fail(sub.error());
      if (sub.value() == actor.sub)
        return fail(badArgs("sub: you cannot kick yourself"));
      go("mod.kick", {sub.value()}, idAndEvent);
      return;
    }
    case Action::ChatPin: {
      auto id = idField(args, "id");
      if (!id)
        return fail(id.error());
      go("chat.pin", {id.value(), actor.name}, idAndEvent);
      return;
    }
    case Action::ChatUnpin:
      go("chat.unpin", {}, idAndEvent);
      return;
    case Action::CardHide:
      go("card.hide", {actor.name}, [](const Parts& p) {
        return json{{"event", p.size() > 2 ? p[2] : ""}};
      });
      return;
    case Action::CardShow: {
      auto kind = args.find("card");
      if (kind == args.end() || !kind->is_string() ||
          (*kind != "policy" && *kind != "contract_template")) {
        return fail(badArgs("card: must be \"policy\" or \"contract_template\""));
      }
      auto title = textField(args, "title", 200);
      if (!title)
        return fail(title.error());
      auto body = textField(args, "body", 4000, true);
      if (!body)
        return fail(body.error());
      auto url = textField(args, "url", 500, true);
      if (!url)
        return fail(url.error());
      if (!url.value().empty() && !rooms::isSafeLink(url.value()))
        return fail(badArgs("url: must be an http(s) URL or a path on this site"));
      json card{{"card", *kind}, {"title", title.value()}, {"body", body.value()}};
      if (!url.value().empty())
        card["url"] = url.value();
      go("card.show", {card.dump(), actor.name}, idAndEvent);
      return;
    }
    case Action::CaptionSend: {
      auto text = textField(args, "text", limits_.caption_max_chars);
      if (!text)
        return fail(text.error());
      std::string lang = "und";
      if (auto it = args.find("lang"); it != args.end()) {
        if (!it->is_string() || it->get_ref<const std::string&>().size() > 16)
          return fail(badArgs("lang: must be a language tag"));
        lang = it->get<std::string>();
      }
      bool final_text = true;
      if (auto it = args.find("final"); it != args.end()) {
        if (!it->is_boolean())
          return fail(badArgs("final: must be true or false"));
        final_text = it->get<bool>();
      }
      // A correction names the caption it replaces: "last", or a caption id.
      std::string replaces;
      if (auto it = args.find("replaces"); it != args.end() && !it->is_null()) {
        auto id = idField(args, "replaces");
        if (!id)
          return fail(id.error());
        replaces = id.value();
      }
      // The node's clock starts the caption: the HLS subtitle cues and the
      // recording's WebVTT are timed against this node's media clock.
      auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
      go("caption.send",
         {text.value(), lang, final_text ? "1" : "0", actor.name, std::to_string(now_ms), replaces},
         idAndEvent);
      return;
    }
    case Action::CallJoin: {
      std::string call_id;
      if (auto it = args.find("call_id"); it != args.end()) {
        auto id = idField(args, "call_id");
        if (!id)
          return fail(id.error());
        call_id = id.value();
      }
      // TURN credentials go in this answer only: to a party of the call.
      go("call.join", {actor.sub, call_id}, [this](const Parts& p) {
        json call = json::parse(p.size() > 1 ? p[1] : "", nullptr, false);
        if (!call.is_object())
          call = json::object();
        int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
        json servers = iceServersFor(limits_.calls, call.value("call_id", ""), now_s);
        return json{{"call", call}, {"ice_servers", servers}};
      });
      return;
    }
    case Action::CallSignal: {
      auto id = idField(args, "call_id");
      if (!id)
        return fail(id.error());
      // Only the script knows the sender's role: it fills in "from".
      auto signal = peerSignal(args, "");
      if (!signal)
        return fail(signal.error());
      std::string kind = args.value("kind", "");
      go("call.signal", {actor.sub, id.value(), kind, signal.value().dump()}, [](const Parts& p) {
        json out = json::object();
        if (p.size() > 1 && !p[1].empty())
          out["outcome"] = p[1];
        return out;
      });
      return;
    }
  }
}

void LiveRoom::snapshot(const std::string& room, const Actor& actor, Reply reply) {
  std::string employer = actor.role == Role::Employer ? actor.employer : "";
  run(scripts_.at("snapshot"), room, {actor.sub, roleText(actor), employer}, "",
      [this, room, actor, reply = std::move(reply)](Result<std::vector<std::string>> r) mutable {
        if (!r.ok()) {
          reply(r.error());
          return;
        }
        json snap = json::parse(r.value().at(1), nullptr, false);
        if (!snap.is_object()) {
          reply(Error{"internal", "bad room snapshot"});
          return;
        }
        // cjson writes empty tables as {} and HGETALL as a flat list.
        if (!snap["questions"].is_array())
          snap["questions"] = json::array();
        if (!snap["chat"].is_array())
          snap["chat"] = json::array();
        if (!snap["captions"].is_array())
          snap["captions"] = json::array();
        if (snap["queue"].contains("entries") && !snap["queue"]["entries"].is_array())
          snap["queue"]["entries"] = json::array();
        // rooms/stage.h owns the stage key: a string holding the stage as JSON.
        rooms::Stage stage;
        if (snap["stage"].is_string()) {
          auto stored =
              rooms::Stage::fromJson(json::parse(snap["stage"].get<std::string>(), nullptr, false));
          if (stored)
            stage = std::move(stored.value());
        }
        snap["stage"] = stage.toJson();
        Actor who = actor;
        who.standing = standingOf(room, actor, snap);
        who.staff = !rooms::decide(who.standing, rooms::Operation::ReadStaffView);
        snap["staff"] = who.staff;
        if (!who.staff && snap["queue"].is_object())
          snap["queue"].erase("entries");
        rooms_->enrichSnapshot(room, who, std::move(snap),
                               [reply = std::move(reply)](json s) { reply(std::move(s)); });
      });
}

void LiveRoom::presence(const std::string& room, const std::string& node, size_t viewers,
                        const std::vector<std::string>& uncounted,
                        const std::vector<std::string>& subs, int64_t ttl_ms, int64_t grace_ms,
                        Reply reply) {
  std::vector<std::string> argv{node, std::to_string(viewers), std::to_string(ttl_ms),
                                std::to_string(grace_ms), std::to_string(uncounted.size())};
  argv.insert(argv.end(), uncounted.begin(), uncounted.end());
  argv.insert(argv.end(), subs.begin(), subs.end());
  run(scripts_.at("presence"), room, std::move(argv), "",
      [reply = std::move(reply)](Result<std::vector<std::string>> r) {
        if (!r.ok()) {
          reply(r.error());
          return;
        }
        reply(json{{"viewers", countAt(r.value(), 1)}});
      });
  std::vector<std::string> sweep{std::to_string(grace_ms), std::to_string(limits_.calls.ring_ms)};
  sweep.insert(sweep.end(), subs.begin(), subs.end());
  run(scripts_.at("call.sweep"), room, std::move(sweep), "",
      [room](Result<std::vector<std::string>> r) {
        if (!r.ok())
          log::debug("interview calls not swept", {{"room", room}, {"error", r.error().code}});
      });
}

}  // namespace jobcast::live
