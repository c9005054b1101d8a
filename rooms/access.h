#pragma once
// Who may do what in rooms: the one access policy. REST, the WebSocket
// channel, the stage, WHIP, WHEP, HLS and recordings all ask here.
//
// A decision is role x room membership x the token's `rooms` claim:
//  - membership: the room's employer (the token acts for it), its listed
//    counsellors, captioners and interpreters (user ids stored with the room);
//  - the `rooms` claim: every room operation needs a token that names the
//    room (or "*"), admins included.
// The table of operations and roles is docs/access.md (tests read the same
// table from docs/access.tsv). Each check returns nothing when allowed, else
// Error{"unauthorized"} (no token) or Error{"forbidden", why}.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/jwt.h"
#include "core/result.h"
#include "rooms/model.h"

namespace jobcast::rooms {

// Everything done in a room, named once for every protocol.
enum class Operation {
  Watch,             // WebSocket hello, WHEP, HLS: anyone; a token must name the room
  Participate,       // chat, ask and vote on questions: any signed-in token
  Apply,             // apply, join and leave the interview queue: jobseekers
  ReadStaffView,     // staff fields of the room and the queue's entries
  Moderate,          // mod.*, question.answer
  PinJob,            // pin a job card
  ShowCard,          // card.show
  SendCaption,       // caption.send
  ChangeStage,       // PUT/DELETE stage members
  Interpret,         // the room's interpreter takes or leaves the interpreter slot themselves
  PublishMain,       // WHIP as the room's main publisher
  PublishOnStage,    // WHIP as a guest or interpreter the stage names
  RunRoom,           // start, end, edit, cancel, assign staff, add jobs, queue.next
  ReadApplications,  // list and move the room's applications
  ReplayRecordings,  // list and fetch recordings: signed in (unless media.public_replay)
  ReviewJob,         // approve a job card awaiting review: the room's counsellors, admins
};
const char* operationName(Operation op);
std::optional<Operation> parseOperation(std::string_view name);

// Who a room lists: what the policy needs to know about the room.
struct Membership {
  std::string room_id;
  std::string employer_id;
  std::vector<std::string> counsellors;
  std::vector<std::string> captioners;
  std::vector<std::string> interpreters;

  static Membership of(const Room& room);
  // From the fields of the room hash (keys::room): employer_id and the
  // JSON arrays counsellors, captioners and interpreters. `field` returns ""
  // for a missing field.
  static Membership fromHash(const std::string& room_id,
                             const std::function<std::string(const char*)>& field);
};

// Where a token stands in one room, worked out once (e.g. at a WebSocket join).
struct Standing {
  std::optional<Role> role;  // empty: anonymous
  bool in_scope = false;     // the token's rooms claim names the room
  bool employer = false;     // acts for the room's employer
  bool counsellor = false;   // a counsellor the room lists
  bool captioner = false;    // a captioner the room lists
  bool interpreter = false;  // listed as the room's interpreter
  bool admin() const { return role == Role::Admin; }
};

Standing standingIn(const Claims* who, const Membership& room);
std::optional<Error> decide(const Standing& standing, Operation op);
std::optional<Error> decide(const Claims* who, const Membership& room, Operation op);
inline bool allowed(const Claims* who, const Membership& room, Operation op) {
  return !decide(who, room, op).has_value();
}

// Room-independent operations.
// Admins and employers create rooms (employers only for themselves). A token
// scoped to some rooms cannot name a room that does not exist yet, so only
// tokens for all rooms ("*") create rooms.
std::optional<Error> mayCreateRoom(const Claims& who, const std::string& employer_id);
// Create and verify employers: admins (any scope).
std::optional<Error> mayManageEmployers(const Claims& who);
// Register webhook endpoints, list and replay dead-lettered deliveries: admins.
std::optional<Error> mayManageWebhooks(const Claims& who);
// Create staff accounts, issue their sign-in codes, revoke them: admins.
std::optional<Error> mayManageAccounts(const Claims& who);
// Read the quarterly report and the yearly summary: admins.
std::optional<Error> mayReadReports(const Claims& who);
// Keep a profile: jobseekers.
std::optional<Error> mayApply(const Claims& who);

// Shorthands for the REST store.
std::optional<Error> mayRunRoom(const Claims& who, const Room& room);
std::optional<Error> mayPinJob(const Claims& who, const Room& room);
bool isRoomStaff(const Claims& who, const Room& room);

}  // namespace jobcast::rooms
