#include "rooms/access.h"

#include <algorithm>

namespace jobcast::rooms {
namespace {
Error forbidden(std::string why) {
  return Error{"forbidden", std::move(why)};
}
bool ownsRoom(const Claims& who, const Room& room) {
  return who.role == Role::Employer && !who.employerId().empty() &&
         who.employerId() == room.employer_id;
}
}  // namespace

std::optional<Error> mayCreateRoom(const Claims& who, const std::string& employer_id) {
  if (who.role == Role::Admin)
    return std::nullopt;
  if (who.role == Role::Employer && employer_id == who.employerId())
    return std::nullopt;
  if (who.role == Role::Employer)
    return forbidden("employers create rooms only for themselves");
  return forbidden("only admins and employers create rooms");
}

std::optional<Error> mayRunRoom(const Claims& who, const Room& room) {
  if (who.role == Role::Admin || ownsRoom(who, room))
    return std::nullopt;
  return forbidden("only the room's employer or an admin may do this");
}

std::optional<Error> mayPinJob(const Claims& who, const Room& room) {
  if (who.role == Role::Admin || ownsRoom(who, room))
    return std::nullopt;
  if (who.role == Role::Counsellor && std::find(room.counsellors.begin(), room.counsellors.end(),
                                                who.sub) != room.counsellors.end())
    return std::nullopt;
  return forbidden("only the room's employer, its counsellors or an admin may pin jobs");
}

std::optional<Error> mayManageEmployers(const Claims& who) {
  if (who.role == Role::Admin)
    return std::nullopt;
  return forbidden("only admins manage employers");
}

std::optional<Error> mayApply(const Claims& who) {
  if (who.role == Role::Jobseeker && !who.sub.empty())
    return std::nullopt;
  return forbidden("only jobseekers keep profiles and apply");
}

bool isRoomStaff(const Claims& who, const Room& room) {
  return !mayPinJob(who, room).has_value();
}

}  // namespace jobcast::rooms
