#include "signaling/demo_token.h"

#include <ctime>

#include "core/secrets.h"
#include "signaling/rooms_api.h"
#include "signaling/wire.h"

namespace jobcast::http {

void addDemoTokenRoute(Router& router, const Jwt& jwt, int64_t ttl_seconds) {
  router.add(Method::Post, "/api/v1/demo/token",
             [&jwt, ttl_seconds](const Request& request, const Responder& responder) {
               auto parsed = wire::parseBody(request.routeKey(), request.body, true);
               if (!parsed.ok()) {
                 responder.send(errorResponse(parsed.error()));
                 return;
               }
               const nlohmann::json& body = parsed.value();
               std::string role = body.value("role", "jobseeker");
               if (role != "jobseeker") {
                 responder.error(403, "forbidden", "demo sign-in hands out jobseeker tokens only");
                 return;
               }
               std::string name = body.value("name", "");
               if (name.size() > 100) {
                 responder.send(errorResponse(Error{"invalid_field", "name: at most 100 bytes"}));
                 return;
               }
               Claims claims;
               claims.sub = "demo-" + randomHex(6);
               claims.name =
                   name.empty() ? "访客" + claims.sub.substr(claims.sub.size() - 4) : name;
               claims.role = Role::Jobseeker;
               claims.rooms = {"*"};
               claims.iat = static_cast<int64_t>(std::time(nullptr));
               claims.exp = claims.iat + ttl_seconds;
               responder.json(201, {{"token", jwt.sign(claims)},
                                    {"sub", claims.sub},
                                    {"name", claims.name},
                                    {"role", "jobseeker"},
                                    {"expires_at", claims.exp}});
             });
}

}  // namespace jobcast::http
