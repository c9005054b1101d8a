#pragma once
// Back-office routes open to one kind of token: the handler runs with the
// caller's claims only when `allowed` (one of rooms/access.h's may* checks)
// accepts them; any other request is answered with the error (401 or 403)
// and never reaches it.

#include <optional>

#include "core/jwt.h"
#include "core/result.h"
#include "signaling/auth.h"
#include "signaling/rooms_api.h"

namespace jobcast::backoffice {

template <typename Handler>
http::Handler guardedRoute(const Jwt& jwt, std::optional<Error> (*allowed)(const Claims&),
                           Handler handler) {
  return [&jwt, allowed, handler](const http::Request& q, const http::Responder& r) {
    auto who = http::authenticate(q, jwt, http::epochSeconds());
    if (!who.ok())
      return r.send(errorResponse(who.error()));
    if (auto e = allowed(who.value()))
      return r.send(errorResponse(*e));
    handler(q, r, who.value());
  };
}

}  // namespace jobcast::backoffice
