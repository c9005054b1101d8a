#include "rooms/stage.h"

#include "core/log.h"
#include "rooms/access.h"
#include "rooms/keys.h"
#include "rooms/stage_scripts.h"

namespace jobcast::rooms {
namespace {

const RoomScript& script() {
  static const RoomScript s{stage_scripts::kStageLua};
  return s;
}

std::optional<StageMember> member(const nlohmann::json& j) {
  if (!j.is_object())
    return std::nullopt;
  return StageMember{j.value("sub", ""), j.value("name", "")};
}

nlohmann::json memberJson(const std::optional<StageMember>& m) {
  if (!m)
    return nullptr;
  return {{"sub", m->sub}, {"name", m->name}};
}

}  // namespace

const char* stageLayoutName(StageLayout layout) {
  switch (layout) {
    case StageLayout::Empty:
      return "empty";
    case StageLayout::Passthrough:
      return "passthrough";
    case StageLayout::Composite:
      return "composite";
  }
  return "?";
}

std::optional<StageLayout> parseStageLayout(const std::string& name) {
  for (auto layout : {StageLayout::Empty, StageLayout::Passthrough, StageLayout::Composite}) {
    if (name == stageLayoutName(layout))
      return layout;
  }
  return std::nullopt;
}

Result<Stage> Stage::fromJson(const nlohmann::json& j) {
  if (!j.is_object())
    return Error{"bad_state", "stage is not a JSON object"};
  Stage s;
  s.version = j.value("version", int64_t{0});
  s.main = member(j.value("main", nlohmann::json()));
  s.interpreter = member(j.value("interpreter", nlohmann::json()));
  for (const auto& g : j.value("guests", nlohmann::json::array())) {
    if (auto m = member(g))
      s.guests.push_back(*m);
  }
  s.layout = parseStageLayout(j.value("layout", "")).value_or(StageLayout::Empty);
  return s;
}

nlohmann::json Stage::toJson() const {
  nlohmann::json guests_json = nlohmann::json::array();
  for (const auto& g : guests)
    guests_json.push_back(memberJson(g));
  return {{"version", version},
          {"main", memberJson(main)},
          {"guests", guests_json},
          {"interpreter", memberJson(interpreter)},
          {"layout", stageLayoutName(layout)}};
}

namespace {
bool validStageText(const std::string& text, size_t max_bytes) {
  if (text.size() > max_bytes)
    return false;
  // Well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF) and no
  // control characters: the text is stored inside the stage's JSON.
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f)
      return false;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > text.size())
      return false;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n;
  }
  return true;
}
}  // namespace

StageStore::StageStore(RedisClient& redis, int64_t events_maxlen)
    : redis_(redis), events_maxlen_(events_maxlen) {}

void StageStore::put(const std::string& room, const Claims& actor, StageSlot slot, StageMember m,
                     ChangeCallback done) {
  if (m.sub.empty() || !validStageText(m.sub, 128))
    return done(Error{"invalid_field", "sub: must be a user id, up to 128 bytes of UTF-8 text"});
  if (!validStageText(m.name, 320))
    return done(Error{"invalid_field", "name: must be UTF-8 text without control characters"});
  run(room, actor, {"put", stageSlotName(slot), m.sub, m.name}, std::move(done));
}

void StageStore::remove(const std::string& room, const Claims& actor, const std::string& sub,
                        ChangeCallback done) {
  if (sub.empty() || !validStageText(sub, 128))
    return done(Error{"invalid_field", "sub: must be a user id, up to 128 bytes of UTF-8 text"});
  run(room, actor, {"remove", "", sub, ""}, std::move(done));
}

void StageStore::run(const std::string& room, const Claims& actor, std::vector<std::string> args,
                     ChangeCallback done) {
  // Who may change the stage is the access policy's call (rooms/access.h). The
  // lists it reads are written once, when the room is created.
  redis_.command(
      {"HMGET", keys::room(room), "status", "employer_id", "counsellors", "captioners",
       "interpreters"},
      [this, room, actor, args = std::move(args),
       done = std::move(done)](Result<RedisReply> r) mutable {
        if (!r)
          return done(r.error());
        if (r->isError() || r->type != RedisReply::Type::Array || r->elements.size() != 5)
          return done(Error{"redis_unavailable", "unexpected reply reading the room"});
        const auto& f = r->elements;
        auto room_members = Membership::fromHash(room, [&](const char* name) {
          static const char* kFields[] = {"status", "employer_id", "counsellors", "captioners",
                                          "interpreters"};
          for (size_t i = 0; i < 5; ++i) {
            if (std::string_view(kFields[i]) == name)
              return f[i].isNil() ? std::string() : f[i].str;
          }
          return std::string();
        });
        // The room's interpreter may take the interpreter slot, or leave the
        // stage, themselves; every other change is the staff's.
        const bool own_interpreting =
            args[2] == actor.sub && (args[0] == "remove" || args[1] == "interpreter");
        const Operation op = own_interpreting ? Operation::Interpret : Operation::ChangeStage;
        if (auto denied = decide(&actor, room_members, op)) {
          // Someone who may change no stage learns nothing about the room.
          return done(*denied);
        }
        if (f[0].isNil())
          return done(Error{"room_not_found", "no such room"});
        args.push_back(actor.sub);
        script().run(
            redis_, events_maxlen_, {keys::room(room), keys::stage(room), keys::events(room)}, args,
            [done = std::move(done)](Result<RedisReply> reply) {
              if (!reply)
                return done(reply.error());
              if (reply->isError()) {
                const std::string& text = reply->str;
                auto space = text.find(' ');
                return done(Error{text.substr(0, space),
                                  space == std::string::npos ? "" : text.substr(space + 1)});
              }
              if (reply->elements.size() != 2)
                return done(Error{"bad_state", "unexpected reply from the stage script"});
              auto json = nlohmann::json::parse(reply->elements[1].str, nullptr, false);
              auto stage = Stage::fromJson(json);
              if (!stage)
                return done(stage.error());
              done(StageChange{reply->elements[0].str, std::move(stage.value())});
            });
      });
}

void StageStore::get(const std::string& room, std::function<void(Result<Stage>)> done) {
  redis_.command({"GET", keys::stage(room)}, [done = std::move(done)](Result<RedisReply> r) {
    if (!r)
      return done(r.error());
    if (r->isNil())
      return done(Stage{});
    if (r->isError())
      return done(Error{"redis_unavailable", r->str});
    done(Stage::fromJson(nlohmann::json::parse(r->str, nullptr, false)));
  });
}

}  // namespace jobcast::rooms
