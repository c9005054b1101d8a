#include "rooms/stage.h"

#include "core/log.h"
#include "rooms/stage_scripts.h"

namespace jobcast::rooms {
namespace {

const RedisScript& script() {
  static const RedisScript s{std::string(stage_scripts::kStageLua)};
  return s;
}

std::string key(const std::string& room, const char* what) {
  return "jc:{r:" + room + "}:" + what;
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

std::optional<StageSlot> parseStageSlot(const std::string& name) {
  if (name == "main")
    return StageSlot::Main;
  if (name == "guest")
    return StageSlot::Guest;
  if (name == "interpreter")
    return StageSlot::Interpreter;
  return std::nullopt;
}

const char* stageSlotName(StageSlot slot) {
  switch (slot) {
    case StageSlot::Main:
      return "main";
    case StageSlot::Guest:
      return "guest";
    case StageSlot::Interpreter:
      return "interpreter";
  }
  return "?";
}

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

StageLayout Stage::layout() const {
  if (!guests.empty())
    return StageLayout::Composite;
  return main ? StageLayout::Passthrough : StageLayout::Empty;
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
          {"layout", stageLayoutName(layout())}};
}

Result<std::string> stageActor(const Claims& actor, const std::string& room) {
  if (actor.role == Role::Admin)
    return std::string("admin");
  if (!actor.allowsRoom(room))
    return Error{"forbidden", "this token does not act in this room"};
  if (actor.role == Role::Counsellor)
    return std::string("counsellor");
  if (actor.role == Role::Employer)
    return std::string("employer");
  return Error{"forbidden", "only the room's employer or counsellor changes the stage"};
}

StageStore::StageStore(RedisClient& redis) : redis_(redis) {}

void StageStore::put(const std::string& room, const Claims& actor, StageSlot slot, StageMember m,
                     ChangeCallback done) {
  run(room, actor, {"put", stageSlotName(slot), m.sub, m.name}, std::move(done));
}

void StageStore::remove(const std::string& room, const Claims& actor, const std::string& sub,
                        ChangeCallback done) {
  run(room, actor, {"remove", "", sub, ""}, std::move(done));
}

void StageStore::run(const std::string& room, const Claims& actor, std::vector<std::string> args,
                     ChangeCallback done) {
  auto kind = stageActor(actor, room);
  if (!kind)
    return done(kind.error());
  args.push_back(kind.value());
  args.push_back(actor.employerId());
  args.push_back(actor.sub);
  args.push_back(key(room, "notify"));
  script().run(redis_, {key(room, "room"), key(room, "stage"), key(room, "events")}, args,
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
}

void StageStore::get(const std::string& room, std::function<void(Result<Stage>)> done) {
  redis_.command({"GET", key(room, "stage")}, [done = std::move(done)](Result<RedisReply> r) {
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
