#include "signaling/rooms_api.h"

#include <ctime>
#include <map>

#include "core/address_set.h"
#include "core/log.h"
#include "rooms/access.h"
#include "rooms/calendar.h"
#include "signaling/auth.h"
#include "signaling/errors.h"
#include "signaling/wire.h"

namespace jobcast {

using http::Method;
using http::Request;
using http::Responder;
using nlohmann::json;

http::Response errorResponse(const Error& error) {
  json body = {{"code", error.code}, {"message", error.message}};
  std::string field = rooms::fieldOf(error);
  if (!field.empty())
    body["field"] = field;
  auto response = http::Response::json(errors::httpStatus(error.code), {{"error", body}});
  // outcome_unknown: the write may have been stored. docs/api.md says which
  // requests are idempotent (apply is, per jobseeker and job) and so safe to retry.
  if (error.code == "redis_unavailable" || error.code == "outcome_unknown")
    response.header("retry-after", "1");
  return response;
}

namespace {

void fail(const Responder& r, const Error& e) {
  if (errors::httpStatus(e.code) >= 500)
    log::warn("rooms api error", {{"code", e.code}, {"message", e.message}});
  r.send(errorResponse(e));
}

// Answers with `status` and toJson() of the value, or the error.
template <typename T, typename ToJson>
rooms::Done<T> answer(const Responder& r, int status, ToJson to_json) {
  return [r, status, to_json](Result<T> result) {
    if (!result.ok())
      return fail(r, result.error());
    r.json(status, to_json(result.value()));
  };
}

// The body as a JSON object that fits the route's schema (signaling/schema/).
Result<json> bodyObject(const Request& request) {
  return wire::parseBody(request.routeKey(), request.body);
}

// The body read as one of the model's inputs (T::fromJson): the first error
// of either the JSON or the fields.
template <typename T>
Result<T> bodyAs(const Request& request) {
  auto body = bodyObject(request);
  if (!body.ok())
    return body.error();
  return T::fromJson(body.value());
}

std::optional<int64_t> queryInt(const Request& request, const char* name, int64_t fallback,
                                int64_t min, int64_t max, Error* error) {
  auto text = request.queryParam(name);
  if (!text)
    return fallback;
  char* end = nullptr;
  long long v = std::strtoll(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || v < min || v > max) {
    *error = Error{"invalid_query", std::string(name) + ": must be a whole number from " +
                                        std::to_string(min) + " to " + std::to_string(max)};
    return std::nullopt;
  }
  return v;
}

// A time in a query: seconds since the epoch, a UTC date "2026-12-03"
// (its midnight; `end_of_day` takes its last second) or "2026-12-03T09:30:00Z".
std::optional<int64_t> queryTime(const Request& request, const char* name, bool end_of_day,
                                 Error* error) {
  auto text = request.queryParam(name);
  if (!text)
    return std::nullopt;
  const std::string& t = *text;
  auto fail_with = [&] {
    *error = Error{"invalid_query", std::string(name) +
                                        ": must be seconds since the epoch, YYYY-MM-DD or "
                                        "YYYY-MM-DDTHH:MM:SSZ (UTC)"};
    return std::optional<int64_t>{};
  };
  if (!t.empty() && t.size() <= 13 && t.find_first_not_of("0123456789") == std::string::npos)
    return std::stoll(t);
  std::tm tm{};
  const char* rest = nullptr;
  if (t.size() == 10)
    rest = strptime(t.c_str(), "%Y-%m-%d", &tm);
  else if (t.size() == 20)
    rest = strptime(t.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!rest || *rest != '\0' || tm.tm_year < 70 || tm.tm_year > 1100)
    return fail_with();
  std::tm check = tm;
  int64_t at = timegm(&tm);
  // timegm normalises 2026-02-30 into March: such a date is not a date.
  if (tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon)
    return fail_with();
  if (t.size() == 10 && end_of_day)
    at += 86400 - 1;
  return at;
}

}  // namespace

RoomsApi::RoomsApi(http::Router& router, Loop& loop, RedisClient& redis, const Jwt& jwt,
                   DataCipher cipher, Options options)
    : jwt_(jwt),
      options_(options),
      store_(loop, redis, std::move(cipher), {.events_maxlen = options.events_maxlen}),
      limiter_(options.rate_limit, loop.clock()) {
  routes(router);
  if (options_.reminders_sweep_ms > 0) {
    reminders_.start(loop, std::chrono::milliseconds(options_.reminders_sweep_ms), [this] {
      store_.remindDue(
          options_.reminders_lead_s, [this](const std::string& room) { return roomUrl(room); },
          [](Result<int64_t> queued) {
            if (!queued.ok())
              log::warn("reminder pass failed", {{"code", queued.error().code}});
            else if (queued.value() > 0)
              log::info("reminders queued", {{"count", queued.value()}});
          });
      return true;
    });
  }
}

std::string RoomsApi::roomUrl(const std::string& room_id) const {
  std::string base = options_.public_url;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  return base + "/room/" + room_id;
}

bool RoomsApi::admit(const Request& request, const Responder& responder,
                     const std::optional<Claims>& who) {
  std::string key = who ? "user:" + who->sub : "ip:" + AddressSet::clientKey(request.client);
  if (limiter_.allow(key))
    return true;
  auto response = errorResponse(Error{"rate_limited", "too many requests; slow down"});
  response.header("retry-after", std::to_string(limiter_.retryAfterSeconds(key)));
  responder.send(std::move(response));
  return false;
}

http::Handler RoomsApi::authed(Authed handler) {
  return [this, handler = std::move(handler)](const Request& request, const Responder& r) {
    auto claims = http::authenticate(request, jwt_, http::epochSeconds());
    if (!claims.ok()) {
      if (admit(request, r, std::nullopt))
        fail(r, claims.error());
      return;
    }
    if (admit(request, r, claims.value()))
      handler(request, r, claims.value());
  };
}

http::Handler RoomsApi::open(Open handler) {
  return [this, handler = std::move(handler)](const Request& request, const Responder& r) {
    std::optional<Claims> who;
    if (!request.bearerToken().empty()) {
      auto claims = http::authenticate(request, jwt_, http::epochSeconds());
      if (!claims.ok()) {
        if (admit(request, r, std::nullopt))
          fail(r, claims.error());
        return;
      }
      who = claims.value();
    }
    if (admit(request, r, who))
      handler(request, r, who);
  };
}

void RoomsApi::routes(http::Router& router) {
  const std::string api = "/api/v1";
  auto to_json = [](const auto& v) { return v.toJson(); };

  // ---- employers ----
  router.add(Method::Post, api + "/employers",
             authed([this, to_json](const Request& q, const Responder& r, const Claims& who) {
               auto draft = bodyAs<rooms::EmployerDraft>(q);
               if (!draft.ok())
                 return fail(r, draft.error());
               store_.createEmployer(draft.value(), who, answer<rooms::Employer>(r, 201, to_json));
             }));
  router.add(Method::Post, api + "/employers/{id}/verify",
             authed([this, to_json](const Request& q, const Responder& r, const Claims& who) {
               store_.verifyEmployer(q.param("id"), who, answer<rooms::Employer>(r, 200, to_json));
             }));

  router.add(
      Method::Get, api + "/employers",
      authed([this, to_json](const Request& q, const Responder& r, const Claims& who) {
        std::optional<rooms::EmployerStatus> status;
        if (auto s = q.queryParam("status")) {
          status = rooms::parseEmployerStatus(*s);
          if (!status)
            return fail(r, Error{"invalid_query",
                                 "status: must be pending, verified, rejected or suspended"});
        }
        store_.listEmployers(status, who, [r, to_json](Result<std::vector<rooms::Employer>> list) {
          if (!list.ok())
            return fail(r, list.error());
          json items = json::array();
          for (const auto& e : list.value())
            items.push_back(to_json(e));
          r.json(200, {{"items", items}});
        });
      }));

  // An employer registers itself, no token needed; admins decide.
  router.add(
      Method::Post, api + "/employers/register",
      open([this, to_json](const Request& q, const Responder& r, const std::optional<Claims>&) {
        auto registration = bodyAs<rooms::EmployerRegistration>(q);
        if (!registration.ok())
          return fail(r, registration.error());
        store_.registerEmployer(registration.value(), answer<rooms::Employer>(r, 201, to_json));
      }));
  for (auto [path, decision] : {std::pair{"/reject", rooms::EmployerStatus::Rejected},
                                std::pair{"/suspend", rooms::EmployerStatus::Suspended}}) {
    rooms::EmployerStatus d = decision;
    router.add(Method::Post, api + "/employers/{id}" + path,
               authed([this, to_json, d](const Request& q, const Responder& r, const Claims& who) {
                 auto body = bodyObject(q);
                 if (!body.ok())
                   return fail(r, body.error());
                 std::string reason = body.value().value("reason", "");
                 auto first = reason.find_first_not_of(" \t\r\n");
                 if (first == std::string::npos)
                   return fail(r, Error{"invalid_field", "reason: is required"});
                 reason = reason.substr(first, reason.find_last_not_of(" \t\r\n") - first + 1);
                 store_.decideEmployer(q.param("id"), d, reason, who,
                                       answer<rooms::Employer>(r, 200, to_json));
               }));
  }

  // ---- rooms ----
  router.add(Method::Post, api + "/rooms",
             authed([this, to_json](const Request& q, const Responder& r, const Claims& who) {
               auto draft = bodyAs<rooms::RoomDraft>(q);
               if (!draft.ok())
                 return fail(r, draft.error());
               store_.createRoom(std::move(draft.value()), who,
                                 answer<rooms::Room>(r, 201, to_json));
             }));
  router.add(Method::Get, api + "/rooms",
             open([this](const Request& q, const Responder& r, const std::optional<Claims>&) {
               rooms::RoomFilter filter;
               if (auto status = q.queryParam("status")) {
                 filter.status = rooms::parseRoomStatus(*status);
                 if (!filter.status)
                   return fail(r, Error{"invalid_query",
                                        "status: must be scheduled, live, ended or cancelled"});
               }
               Error time_error;
               filter.from = queryTime(q, "from", false, &time_error);
               if (!time_error.code.empty())
                 return fail(r, time_error);
               filter.to = queryTime(q, "to", true, &time_error);
               if (!time_error.code.empty())
                 return fail(r, time_error);
               if (filter.from && filter.to && *filter.to < *filter.from)
                 return fail(r, Error{"invalid_query", "to: must not be before from"});
               if (auto region = q.queryParam("region")) {
                 if (region->empty() || !rooms::validRegionCode(*region))
                   return fail(r, Error{"invalid_query", "region: must be 2, 4 or 6 digits"});
                 filter.region = *region;
               }
               Error error;
               auto limit = queryInt(q, "limit", 100, 1, 500, &error);
               if (!limit)
                 return fail(r, error);
               filter.limit = static_cast<size_t>(*limit);
               if (auto cursor = q.queryParam("cursor"))
                 filter.cursor = *cursor;
               store_.listRooms(filter, [r](Result<rooms::RoomPage> page) {
                 if (!page.ok())
                   return fail(r, page.error());
                 json items = json::array();
                 for (const auto& room : page->rooms)
                   items.push_back(room.toJson());
                 json body = {{"items", items}, {"next_cursor", nullptr}};
                 if (!page->next_cursor.empty())
                   body["next_cursor"] = page->next_cursor;
                 r.json(200, body);
               });
             }));
  router.add(Method::Get, api + "/rooms/{id}",
             open([this](const Request& q, const Responder& r, const std::optional<Claims>& who) {
               store_.snapshot(q.param("id"), [r, who](Result<rooms::RoomSnapshot> snap) {
                 if (!snap.ok())
                   return fail(r, snap.error());
                 bool staff = who && rooms::isRoomStaff(*who, snap->room);
                 r.json(200, snap->toJson(staff));
               });
             }));
  router.add(Method::Post, api + "/rooms/{id}/start",
             authed([this, to_json](const Request& q, const Responder& r, const Claims& who) {
               store_.startRoom(q.param("id"), who, answer<rooms::Room>(r, 200, to_json));
             }));
  router.add(Method::Patch, api + "/rooms/{id}",
             authed([this, to_json](const Request& q, const Responder& r, const Claims& who) {
               auto edit = bodyAs<rooms::RoomEdit>(q);
               if (!edit.ok())
                 return fail(r, edit.error());
               store_.updateRoom(q.param("id"), edit.value(), who,
                                 answer<rooms::Room>(r, 200, to_json));
             }));
  router.add(Method::Post, api + "/rooms/{id}/cancel",
             authed([this, to_json](const Request& q, const Responder& r, const Claims& who) {
               auto body = bodyObject(q);
               if (!body.ok())
                 return fail(r, body.error());
               std::string reason = body.value().value("reason", "");
               auto first = reason.find_first_not_of(" \t\r\n");
               if (first == std::string::npos)
                 return fail(r, rooms::invalidField("reason", "is required"));
               reason = reason.substr(first, reason.find_last_not_of(" \t\r\n") - first + 1);
               store_.cancelRoom(q.param("id"), reason, who, answer<rooms::Room>(r, 200, to_json));
             }));
  for (auto [method, on] : {std::pair{Method::Put, true}, std::pair{Method::Delete, false}}) {
    bool assign = on;
    router.add(
        method, api + "/rooms/{id}/staff/{account}",
        authed([this, to_json, assign](const Request& q, const Responder& r, const Claims& who) {
          store_.assignStaff(q.param("id"), q.param("account"), assign, who,
                             answer<rooms::Room>(r, 200, to_json));
        }));
  }
  router.add(Method::Post, api + "/rooms/{id}/end",
             authed([this, to_json](const Request& q, const Responder& r, const Claims& who) {
               store_.endRoom(q.param("id"), who, answer<rooms::Room>(r, 200, to_json));
             }));

  // ---- job cards ----
  router.add(Method::Post, api + "/rooms/{id}/jobs",
             authed([this, to_json](const Request& q, const Responder& r, const Claims& who) {
               auto card = bodyAs<rooms::JobCard>(q);
               if (!card.ok())
                 return fail(r, card.error());
               store_.addJob(q.param("id"), std::move(card.value()), who,
                             answer<rooms::JobCard>(r, 201, to_json));
             }));
  router.add(Method::Post, api + "/rooms/{id}/jobs/{job}/pin",
             authed([this, to_json](const Request& q, const Responder& r, const Claims& who) {
               store_.pinJob(q.param("id"), q.param("job"), who,
                             answer<rooms::JobCard>(r, 200, to_json));
             }));

  router.add(Method::Post, api + "/rooms/{id}/jobs/{job}/approve",
             authed([this, to_json](const Request& q, const Responder& r, const Claims& who) {
               store_.approveJob(q.param("id"), q.param("job"), who,
                                 answer<rooms::JobCard>(r, 200, to_json));
             }));

  // ---- applications ----
  router.add(Method::Post, api + "/rooms/{id}/jobs/{job}/apply",
             authed([this](const Request& q, const Responder& r, const Claims& who) {
               store_.apply(q.param("id"), q.param("job"), who,
                            [r](Result<rooms::ApplyOutcome> outcome) {
                              if (!outcome.ok())
                                return fail(r, outcome.error());
                              r.json(outcome->created ? 201 : 200, outcome->application.toJson());
                            });
             }));
  router.add(Method::Get, api + "/rooms/{id}/applications",
             authed([this](const Request& q, const Responder& r, const Claims& who) {
               Error error;
               auto offset = queryInt(q, "offset", 0, 0, int64_t{1} << 40, &error);
               if (!offset)
                 return fail(r, error);
               auto limit = queryInt(q, "limit", 50, 1, 200, &error);
               if (!limit)
                 return fail(r, error);
               int64_t page_limit = *limit;
               store_.listApplications(
                   q.param("id"), *offset, page_limit, who,
                   [r, page_limit](Result<rooms::ApplicationPage> page) {
                     if (!page.ok())
                       return fail(r, page.error());
                     json items = json::array();
                     for (const auto& item : page->items)
                       items.push_back(item.toJson());
                     int64_t next = page->offset + page_limit;
                     r.json(200,
                            {{"items", items},
                             {"total", page->total},
                             {"offset", page->offset},
                             {"limit", page_limit},
                             {"next_offset", next < page->total ? json(next) : json(nullptr)}});
                   });
             }));
  router.add(Method::Patch, api + "/applications/{id}",
             authed([this, to_json](const Request& q, const Responder& r, const Claims& who) {
               auto body = bodyObject(q);
               if (!body.ok())
                 return fail(r, body.error());
               auto it = body->find("status");
               if (it == body->end() || !it->is_string())
                 return fail(r, rooms::invalidField("status", "is required"));
               auto status = rooms::parseApplicationStatus(it->get<std::string>());
               if (!status)
                 return fail(r, rooms::invalidField("status",
                                                    "must be one of applied, viewed, contacted, "
                                                    "interview, hired, rejected"));
               store_.setApplicationStatus(q.param("id"), *status, who,
                                           answer<rooms::Application>(r, 200, to_json));
             }));
  router.add(Method::Get, api + "/me/applications",
             authed([this](const Request&, const Responder& r, const Claims& who) {
               store_.myApplications(who, [r](Result<std::vector<rooms::Application>> apps) {
                 if (!apps.ok())
                   return fail(r, apps.error());
                 json items = json::array();
                 for (const auto& app : apps.value())
                   items.push_back(app.toJson());
                 r.json(200, {{"items", items}});
               });
             }));

  // ---- reminders ----
  for (auto [method, on] : {std::pair{Method::Put, true}, std::pair{Method::Delete, false}}) {
    bool following = on;
    router.add(method, api + "/rooms/{id}/follow",
               authed([this, following](const Request& q, const Responder& r, const Claims& who) {
                 store_.follow(q.param("id"), following, options_.reminders_lead_s, who,
                               [r, following](Result<rooms::Room> room) {
                                 if (!room.ok())
                                   return fail(r, room.error());
                                 r.json(200, {{"room", room->toJson()}, {"following", following}});
                               });
               }));
  }
  router.add(Method::Get, api + "/me/follows",
             authed([this](const Request&, const Responder& r, const Claims& who) {
               store_.myFollows(who, [this, r](Result<std::vector<rooms::Room>> rooms) {
                 if (!rooms.ok())
                   return fail(r, rooms.error());
                 json items = json::array();
                 for (const auto& room : rooms.value()) {
                   json j = room.toJson();
                   j["calendar_url"] = "/api/v1/rooms/" + room.id + "/calendar.ics";
                   j["url"] = roomUrl(room.id);
                   items.push_back(std::move(j));
                 }
                 r.json(200, {{"items", items}});
               });
             }));
  router.add(Method::Get, api + "/rooms/{id}/calendar.ics",
             open([this](const Request& q, const Responder& r, const std::optional<Claims>&) {
               std::string url = roomUrl(q.param("id"));
               if (options_.public_url.empty()) {
                 std::string host = q.header("host");
                 if (!host.empty() && rooms::isSafeLink("http://" + host + "/"))
                   url = "http://" + host + url;
               }
               store_.getRoom(q.param("id"), [r, url](Result<rooms::Room> room) {
                 if (!room.ok())
                   return fail(r, room.error());
                 auto response = http::Response::text(
                     200, rooms::roomCalendar(room.value(), url, http::epochSeconds()),
                     "text/calendar; charset=utf-8");
                 response.header("content-disposition",
                                 "attachment; filename=\"jobcast-" + room->id + ".ics\"");
                 r.send(std::move(response));
               });
             }));

  // ---- recommendations ----
  router.add(Method::Get, api + "/me/recommendations",
             authed([this](const Request& q, const Responder& r, const Claims& who) {
               Error error;
               auto limit = queryInt(q, "limit", 5, 3, 20, &error);
               if (!limit)
                 return fail(r, error);
               store_.recommend(who, static_cast<size_t>(*limit),
                                [r](Result<std::vector<rooms::Recommendation>> recs) {
                                  if (!recs.ok())
                                    return fail(r, recs.error());
                                  json items = json::array();
                                  for (const auto& rec : recs.value())
                                    items.push_back(rec.toJson());
                                  r.json(200, {{"items", items}});
                                });
             }));

  // ---- the employer's back office ----
  router.add(Method::Get, api + "/employers/{id}/applicants",
             authed([this](const Request& q, const Responder& r, const Claims& who) {
               store_.employerOverview(q.param("id"), who,
                                       [r](Result<rooms::EmployerOverview> overview) {
                                         if (!overview.ok())
                                           return fail(r, overview.error());
                                         json rooms_json = json::array();
                                         for (const auto& room : overview->rooms)
                                           rooms_json.push_back(room.toJson());
                                         json items = json::array();
                                         for (const auto& item : overview->applicants)
                                           items.push_back(item.toJson());
                                         r.json(200, {{"rooms", rooms_json}, {"items", items}});
                                       });
             }));

  // ---- profile ----
  router.add(Method::Put, api + "/me/profile",
             authed([this, to_json](const Request& q, const Responder& r, const Claims& who) {
               auto profile = bodyAs<rooms::Profile>(q);
               if (!profile.ok())
                 return fail(r, profile.error());
               store_.putProfile(std::move(profile.value()), who,
                                 answer<rooms::Profile>(r, 200, to_json));
             }));
  router.add(Method::Get, api + "/me/profile",
             authed([this, to_json](const Request&, const Responder& r, const Claims& who) {
               store_.getProfile(who, answer<rooms::Profile>(r, 200, to_json));
             }));
  router.add(Method::Delete, api + "/me/profile",
             authed([this](const Request&, const Responder& r, const Claims& who) {
               store_.deleteProfile(who, [r](Result<bool> deleted) {
                 if (!deleted.ok())
                   return fail(r, deleted.error());
                 r.send(http::Response::noContent());
               });
             }));
}

Result<std::unique_ptr<RoomsApi>> registerRoomsApi(http::Router& router, Loop& loop,
                                                   RedisClient& redis, const Jwt& jwt,
                                                   const std::string& data_key_hex,
                                                   const Config& config) {
  auto cipher = DataCipher::fromHex(data_key_hex);
  if (!cipher.ok())
    return Error{"crypto.data_key", cipher.error().message};
  RoomsApi::Options options;
  options.rate_limit.per_second = static_cast<double>(config.api_rate_per_second);
  options.rate_limit.burst = static_cast<double>(config.api_rate_burst);
  options.rate_limit.max_keys = static_cast<size_t>(config.rate_max_keys);
  options.events_maxlen = config.redis_events_maxlen;
  options.reminders_lead_s = config.reminders_lead_s;
  options.reminders_sweep_ms = config.reminders_sweep_ms;
  options.public_url = config.public_url;
  return std::make_unique<RoomsApi>(router, loop, redis, jwt, std::move(cipher.value()), options);
}

}  // namespace jobcast
