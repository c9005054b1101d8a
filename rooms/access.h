#pragma once
// Who may do what in rooms. Pure functions of the token's claims and the room:
// the REST API and the WebSocket channel ask the same questions here.
// Each returns nothing when allowed, else Error{"forbidden", why}.

#include <optional>

#include "core/jwt.h"
#include "core/result.h"
#include "rooms/model.h"

namespace jobcast::rooms {

// Admins and employers create rooms (employers only for themselves).
std::optional<Error> mayCreateRoom(const Claims& who, const std::string& employer_id);
// Start, end, add jobs, read and move applications: the room's employer or an admin.
std::optional<Error> mayRunRoom(const Claims& who, const Room& room);
// Pin a job: also a counsellor assigned to the room (they moderate on stage).
std::optional<Error> mayPinJob(const Claims& who, const Room& room);
// Create and verify employers: admins.
std::optional<Error> mayManageEmployers(const Claims& who);
// Keep a profile and apply: jobseekers.
std::optional<Error> mayApply(const Claims& who);

bool isRoomStaff(const Claims& who, const Room& room);

}  // namespace jobcast::rooms
