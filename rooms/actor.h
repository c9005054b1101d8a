#pragma once
// Who acts in a room, one type for every protocol: built from a verified token
// (or none: an anonymous viewer), with where it stands in the room worked out
// by the access policy (rooms/access.h). The live channel keeps one per
// connection; calls into the rooms store take its token's claims from here.

#include <optional>
#include <string>

#include "core/jwt.h"
#include "rooms/access.h"

namespace jobcast::rooms {

struct Actor {
  std::string sub;
  std::string name;
  std::optional<Role> role;  // empty: anonymous viewer
  std::string employer;      // the employer the token acts for (employer staff)
  int64_t av = 0;            // the token's account version (0: no account behind it)
  bool staff = false;        // this room's employer, a counsellor it lists or an admin
  Standing standing;         // where the token stands in the room (rooms/access.h)

  bool anonymous() const { return !role.has_value(); }

  // From a verified token; the name shown is the token's name, else its sub.
  static Actor of(const Claims& token) {
    Actor a;
    a.sub = token.sub;
    a.name = token.name.empty() ? token.sub : token.name;
    a.role = token.role;
    a.employer = token.employerId();
    a.av = token.av;
    return a;
  }

  // The token's claims as `room` sees them: an actor exists in a room only
  // once its token's rooms claim named the room, so the claims name it.
  Claims claimsIn(const std::string& room) const {
    Claims c;
    c.sub = sub;
    c.name = name;
    c.role = role.value_or(Role::Jobseeker);
    c.rooms = {room};
    if (role == Role::Employer)
      c.employer = employer;
    return c;
  }
};

}  // namespace jobcast::rooms
