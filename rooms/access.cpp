#include "rooms/access.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace jobcast::rooms {
namespace {

Error forbidden(std::string why) {
  return Error{"forbidden", std::move(why)};
}

bool listed(const std::vector<std::string>& list, const std::string& sub) {
  return !sub.empty() && std::find(list.begin(), list.end(), sub) != list.end();
}

std::vector<std::string> idList(const std::string& text) {
  std::vector<std::string> out;
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (!parsed.is_array())
    return out;
  for (const auto& v : parsed) {
    if (v.is_string())
      out.push_back(v.get<std::string>());
  }
  return out;
}

constexpr std::array<std::pair<Operation, const char*>, 16> kNames = {{
    {Operation::Watch, "watch"},
    {Operation::Participate, "participate"},
    {Operation::Apply, "apply"},
    {Operation::ReadStaffView, "read_staff_view"},
    {Operation::Moderate, "moderate"},
    {Operation::PinJob, "pin_job"},
    {Operation::ShowCard, "show_card"},
    {Operation::SendCaption, "send_caption"},
    {Operation::ChangeStage, "change_stage"},
    {Operation::Interpret, "interpret"},
    {Operation::PublishMain, "publish_main"},
    {Operation::PublishOnStage, "publish_on_stage"},
    {Operation::RunRoom, "run_room"},
    {Operation::ReadApplications, "read_applications"},
    {Operation::ReplayRecordings, "replay_recordings"},
    {Operation::ReviewJob, "review_job"},
}};

}  // namespace

const char* operationName(Operation op) {
  for (const auto& [o, name] : kNames) {
    if (o == op)
      return name;
  }
  return "?";
}

std::optional<Operation> parseOperation(std::string_view name) {
  for (const auto& [o, n] : kNames) {
    if (name == n)
      return o;
  }
  return std::nullopt;
}

Membership Membership::of(const Room& room) {
  return {room.id, room.employer_id, room.counsellors, room.captioners, room.interpreters};
}

Membership Membership::fromHash(const std::string& room_id,
                                const std::function<std::string(const char*)>& field) {
  return {room_id, field("employer_id"), idList(field("counsellors")), idList(field("captioners")),
          idList(field("interpreters"))};
}

Standing standingIn(const Claims* who, const Membership& room) {
  Standing s;
  if (!who)
    return s;
  s.role = who->role;
  s.in_scope = who->allowsRoom(room.room_id);
  s.employer = who->role == Role::Employer && !who->employerId().empty() &&
               who->employerId() == room.employer_id;
  s.counsellor = who->role == Role::Counsellor && listed(room.counsellors, who->sub);
  s.captioner = who->role == Role::Captioner && listed(room.captioners, who->sub);
  s.interpreter = who->role != Role::Jobseeker && listed(room.interpreters, who->sub);
  return s;
}

std::optional<Error> decide(const Standing& s, Operation op) {
  if (!s.role) {
    if (op == Operation::Watch)
      return std::nullopt;
    return Error{"unauthorized", "sign in to do this (an access token is required)"};
  }
  if (!s.in_scope)
    return forbidden("this token does not act in this room");
  const bool staff = s.admin() || s.employer || s.counsellor;
  switch (op) {
    case Operation::Watch:
    case Operation::Participate:
    case Operation::PublishOnStage:
      return std::nullopt;
    case Operation::Apply:
      if (s.role == Role::Jobseeker)
        return std::nullopt;
      return forbidden("only jobseekers apply and queue for interviews");
    case Operation::ReadStaffView:
    case Operation::Moderate:
    case Operation::PinJob:
    case Operation::ChangeStage:
    case Operation::PublishMain:
      if (staff)
        return std::nullopt;
      return forbidden("only the room's employer, a counsellor it lists or an admin may do this");
    case Operation::Interpret:
      // Staff may put anyone there; an interpreter the room lists, only
      // themselves (the request names their own sub: see StageStore).
      if (staff || s.interpreter)
        return std::nullopt;
      return forbidden("only an interpreter the room lists, its staff or an admin may do this");
    case Operation::ShowCard:
      if (s.admin() || s.counsellor)
        return std::nullopt;
      return forbidden("only a counsellor the room lists or an admin shows cards");
    case Operation::ReviewJob:
      if (s.admin() || s.counsellor)
        return std::nullopt;
      return forbidden("only a counsellor the room lists or an admin reviews job cards");
    case Operation::SendCaption:
      if (s.admin() || s.captioner)
        return std::nullopt;
      return forbidden("only a captioner the room lists or an admin sends captions");
    case Operation::RunRoom:
    case Operation::ReadApplications:
      if (s.admin() || s.employer)
        return std::nullopt;
      return forbidden("only the room's employer or an admin may do this");
    case Operation::ReplayRecordings:
      // Any signed-in person the token admits to the room (unless the node
      // makes replays public: media.public_replay).
      return std::nullopt;
  }
  return forbidden("unknown operation");
}

std::optional<Error> decide(const Claims* who, const Membership& room, Operation op) {
  return decide(standingIn(who, room), op);
}

std::optional<Error> mayCreateRoom(const Claims& who, const std::string& employer_id) {
  if (who.role != Role::Admin && who.role != Role::Employer)
    return forbidden("only admins and employers create rooms");
  if (who.role == Role::Employer && employer_id != who.employerId())
    return forbidden("employers create rooms only for themselves");
  if (std::find(who.rooms.begin(), who.rooms.end(), "*") == who.rooms.end())
    return forbidden("this token acts only in the rooms it names; creating rooms needs \"*\"");
  return std::nullopt;
}

std::optional<Error> mayManageEmployers(const Claims& who) {
  if (who.role == Role::Admin)
    return std::nullopt;
  return forbidden("only admins manage employers");
}

std::optional<Error> mayManageWebhooks(const Claims& who) {
  if (who.role == Role::Admin)
    return std::nullopt;
  return forbidden("only admins manage webhooks");
}

std::optional<Error> mayManageAccounts(const Claims& who) {
  if (who.role == Role::Admin)
    return std::nullopt;
  return forbidden("only admins manage accounts");
}

std::optional<Error> mayReadReports(const Claims& who) {
  if (who.role == Role::Admin)
    return std::nullopt;
  return forbidden("only admins read the service's reports");
}

std::optional<Error> mayApply(const Claims& who) {
  if (who.role == Role::Jobseeker && !who.sub.empty())
    return std::nullopt;
  return forbidden("only jobseekers keep profiles and apply");
}

std::optional<Error> mayRunRoom(const Claims& who, const Room& room) {
  return decide(&who, Membership::of(room), Operation::RunRoom);
}

std::optional<Error> mayPinJob(const Claims& who, const Room& room) {
  return decide(&who, Membership::of(room), Operation::PinJob);
}

bool isRoomStaff(const Claims& who, const Room& room) {
  return allowed(&who, Membership::of(room), Operation::ReadStaffView);
}

}  // namespace jobcast::rooms
