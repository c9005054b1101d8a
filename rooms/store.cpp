#include "rooms/store.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <utility>

#include "core/log.h"
#include "core/secrets.h"
#include "rooms/access.h"
#include "rooms/events.h"
#include "rooms/regions.h"
#include "rooms/report.h"
#include "rooms/report_scripts.h"
#include "rooms/scripts.h"

namespace jobcast::rooms {

using nlohmann::json;

namespace {

// Turns a script's reply into its elements after 'ok', or the domain error.
Result<std::vector<RedisReply>> scriptReply(Result<RedisReply> r) {
  if (!r.ok())
    return r.error();
  RedisReply& reply = r.value();
  if (reply.isError()) {
    log::warn("room script failed", {{"error", reply.str}});
    return Error{"internal", "the store refused the operation"};
  }
  if (reply.type != RedisReply::Type::Array || reply.elements.empty())
    return Error{"internal", "unexpected reply from the store"};
  if (reply.elements[0].str == "err" && reply.elements.size() >= 3)
    return Error{reply.elements[1].str, reply.elements[2].str};
  std::vector<RedisReply> rest(std::make_move_iterator(reply.elements.begin() + 1),
                               std::make_move_iterator(reply.elements.end()));
  return rest;
}

std::map<std::string, std::string> flatHash(const RedisReply& reply) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2)
    out[reply.elements[i].str] = reply.elements[i + 1].str;
  return out;
}

int64_t toInt(const std::string& text) {
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  return end && *end == '\0' ? v : 0;
}

std::optional<Room> roomFromHash(const std::map<std::string, std::string>& h) {
  auto get = [&](const char* k) {
    auto it = h.find(k);
    return it == h.end() ? std::string() : it->second;
  };
  if (get("id").empty())
    return std::nullopt;
  Room room;
  room.id = get("id");
  room.title = get("title");
  room.region_code = get("region_code");
  room.region_name = get("region_name");
  room.employer_id = get("employer_id");
  room.status = parseRoomStatus(get("status")).value_or(RoomStatus::Scheduled);
  room.scheduled_at = toInt(get("scheduled_at"));
  room.started_at = toInt(get("started_at"));
  room.ended_at = toInt(get("ended_at"));
  room.created_at = toInt(get("created_at"));
  room.pinned_job = get("pinned_job");
  room.require_review = get("require_review") == "1";
  room.description = get("description");
  room.ends_at = toInt(get("ends_at"));
  room.sequence = toInt(get("sequence"));
  room.cancel_reason = get("cancel_reason");
  room.cancelled_at = toInt(get("cancelled_at"));
  for (auto [name, list] :
       {std::pair{"counsellors", &room.counsellors}, std::pair{"captioners", &room.captioners},
        std::pair{"interpreters", &room.interpreters}}) {
    json ids = json::parse(get(name), nullptr, false);
    if (!ids.is_array())
      continue;
    for (const auto& c : ids) {
      if (c.is_string())
        list->push_back(c.get<std::string>());
    }
  }
  return room;
}

Employer employerFromHash(const std::map<std::string, std::string>& h) {
  Employer e;
  auto get = [&](const char* k) {
    auto it = h.find(k);
    return it == h.end() ? std::string() : it->second;
  };
  e.id = get("id");
  e.name = get("name");
  e.verified = get("verified") == "1";
  auto status = parseEmployerStatus(get("status"));
  e.status = status ? *status : (e.verified ? EmployerStatus::Verified : EmployerStatus::Pending);
  e.credit_code = get("credit_code");
  e.region_code = get("region_code");
  e.reason = get("reason");
  e.created_at = toInt(get("created_at"));
  return e;
}

Error unavailable() {
  return Error{"redis_unavailable", "the store is not reachable"};
}

}  // namespace

struct RoomStore::Scripts {
  RoomScript create_room{scripts::kCreateRoomLua};
  RoomScript transition_room{scripts::kTransitionRoomLua};
  RoomScript add_job{scripts::kAddJobLua};
  RoomScript pin_job{scripts::kPinJobLua};
  RoomScript apply{scripts::kApplyLua};
  RoomScript set_status{scripts::kSetApplicationStatusLua};
  RoomScript snapshot{scripts::kSnapshotLua};
  RoomScript list_applications{scripts::kListApplicationsLua};
  RoomScript create_employer{scripts::kCreateEmployerLua};
  RoomScript decide_employer{scripts::kDecideEmployerLua};
  RoomScript register_employer{scripts::kRegisterEmployerLua};
  RoomScript approve_job{scripts::kApproveJobLua};
  RoomScript follow{scripts::kFollowLua};
  RoomScript remind{scripts::kRemindLua};
  RoomScript update_room{scripts::kUpdateRoomLua};
  RoomScript cancel_room{scripts::kCancelRoomLua};
};

json RoomSnapshot::toJson(bool staff) const {
  json j = room.toJson();
  json job_list = json::array();
  json pinned = nullptr;
  for (const auto& job : jobs) {
    // A card awaiting review is the staff's to see, no one else's.
    if (job.pending() && !staff)
      continue;
    job_list.push_back(job.toJson());
    if (job.id == room.pinned_job)
      pinned = job.toJson();
  }
  j["jobs"] = job_list;
  j["pinned"] = pinned;
  json by_job = json::object();
  for (const auto& [id, n] : applications_by_job)
    by_job[id] = n;
  j["counts"] = {{"applications", applications}, {"applications_by_job", by_job}};
  if (staff) {
    json by_group = json::object();
    for (const auto& [g, n] : applications_by_key_group)
      by_group[g] = n;
    j["counts"]["applications_by_key_group"] = by_group;
  }
  j["last_event_id"] = last_event_id;
  return j;
}

json ApplicantView::toJson() const {
  json j = application.toJson();
  if (profile) {
    j["profile"] = profile->toEmployerJson();
  } else {
    j["profile"] = nullptr;
  }
  j["profile_deleted"] = !profile.has_value();
  return j;
}

RoomStore::RoomStore(Loop& loop, RedisClient& redis, DataCipher cipher, Options options)
    : loop_(loop),
      redis_(redis),
      cipher_(std::move(cipher)),
      options_(std::move(options)),
      scripts_(std::make_unique<Scripts>()) {}

RoomStore::~RoomStore() {
  *alive_ = false;
}

int64_t RoomStore::now() const {
  if (options_.clock)
    return options_.clock();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string RoomStore::newId() {
  return randomHex(6);
}

void RoomStore::countSession(const std::string& room_id, const std::string& region, int64_t at,
                             const std::vector<RedisReply>& session) {
  // A session held: the quarterly report of each region it counts in, each
  // region in its own slot, each counting the room once
  // (rooms/report_session.lua).
  static const RedisScript script{std::string(report_scripts::kReportSessionLua)};
  std::string quarter = Quarter::of(at).str();
  auto levels = regionLevels(region);
  for (size_t i = 0; i < levels.size(); ++i) {
    const std::string& level = levels[i];
    script.run(redis_,
               {keys::reportCounts(level, quarter), keys::reportEmployers(level, quarter),
                keys::reportViewers(level, quarter), keys::reportChildren(level),
                keys::reportScratch(level, quarter), keys::reportSessionsCounted(level, quarter)},
               {room_id, session[1].str, session[2].str, session[3].str,
                i + 1 < levels.size() ? levels[i + 1] : "", session[4].str},
               [](Result<RedisReply> r) {
                 if (!r || r->isError())
                   log::warn("report session not counted", {});
               });
  }
}

void RoomStore::countInReports(const std::string& region, int64_t at,
                               const std::vector<std::string>& fields) {
  // Each region's report is its own slot ({g:CODE}): one HINCRBY per region
  // and field, after the room's script (docs/redis-schema.md, "Cluster").
  for (const auto& key : reportCountKeys(region, at)) {
    for (const auto& field : fields) {
      redis_.command({"HINCRBY", key, field, "1"}, [](Result<RedisReply> r) {
        if (!r || r->isError())
          log::warn("report count not updated", {});
      });
    }
  }
}

void RoomStore::all(std::vector<std::vector<std::string>> commands,
                    std::function<void(Result<std::vector<RedisReply>>)> done) {
  if (commands.empty()) {
    loop_.post([done = std::move(done)] { done(std::vector<RedisReply>{}); });
    return;
  }
  struct Gather {
    std::vector<RedisReply> replies;
    size_t pending;
    std::optional<Error> error;
    std::function<void(Result<std::vector<RedisReply>>)> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->replies.resize(commands.size());
  gather->pending = commands.size();
  gather->done = std::move(done);
  for (size_t i = 0; i < commands.size(); ++i) {
    redis_.command(std::move(commands[i]), [gather, i](Result<RedisReply> r) {
      if (!r.ok())
        gather->error = r.error();
      else if (r->isError())
        gather->error = Error{"internal", "the store refused a read"};
      else
        gather->replies[i] = std::move(r.value());
      if (--gather->pending == 0) {
        if (gather->error)
          gather->done(*gather->error);
        else
          gather->done(std::move(gather->replies));
      }
    });
  }
}

void RoomStore::withRoom(const std::string& room_id, std::function<void(Room)> fn,
                         std::function<void(Error)> fail) {
  getRoom(room_id, [fn = std::move(fn), fail = std::move(fail)](Result<Room> room) {
    if (!room.ok())
      fail(room.error());
    else
      fn(std::move(room.value()));
  });
}

// ---- employers -----------------------------------------------------------

void RoomStore::createEmployer(const EmployerDraft& draft, const Claims& who, Done<Employer> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (auto e = mayManageEmployers(who)) {
    loop_.post([done, e = *e] { done(e); });
    return;
  }
  Employer employer;
  employer.id = draft.id.empty() ? newId() : draft.id;
  employer.name = draft.name;
  employer.created_at = now();
  scripts_->create_employer.run(redis_, options_.events_maxlen,
                                {keys::employer(employer.id), keys::employerIndex()},
                                {employer.id, employer.name, std::to_string(employer.created_at)},
                                [employer, done](Result<RedisReply> r) {
                                  auto reply = scriptReply(std::move(r));
                                  if (!reply.ok())
                                    return done(reply.error());
                                  done(employer);
                                });
}

void RoomStore::verifyEmployer(const std::string& employer_id, const Claims& who,
                               Done<Employer> done) {
  decideEmployer(employer_id, EmployerStatus::Verified, "", who, std::move(done));
}

void RoomStore::decideEmployer(const std::string& employer_id, EmployerStatus decision,
                               const std::string& reason, const Claims& who, Done<Employer> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (auto e = mayManageEmployers(who)) {
    loop_.post([done, e = *e] { done(e); });
    return;
  }
  // Which statuses each decision may follow.
  const char* from = "";
  switch (decision) {
    case EmployerStatus::Verified:
      from = "pending,rejected,suspended";
      break;
    case EmployerStatus::Rejected:
      from = "pending";
      break;
    case EmployerStatus::Suspended:
      from = "verified";
      break;
    case EmployerStatus::Pending:
      break;
  }
  scripts_->decide_employer.run(
      redis_, options_.events_maxlen, {keys::employer(employer_id), keys::employerAudit()},
      {employerStatusName(decision), who.sub, std::to_string(now()), reason, from},
      [done](Result<RedisReply> r) {
        auto reply = scriptReply(std::move(r));
        if (!reply.ok())
          return done(reply.error());
        if (reply.value().size() < 2)
          return done(Error{"internal", "unexpected reply from the store"});
        done(employerFromHash(flatHash(reply.value()[1])));
      });
}

void RoomStore::registerEmployer(const EmployerRegistration& registration, Done<Employer> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  Employer employer;
  employer.id = newId();
  employer.name = registration.name;
  employer.credit_code = registration.credit_code;
  employer.region_code = registration.region_code;
  employer.created_at = now();
  json contact = {{"name", registration.contact_name}, {"phone", registration.contact_phone}};
  auto sealed = cipher_.seal(contact.dump(), "employer:" + employer.id);
  if (!sealed.ok()) {
    loop_.post([done] { done(Error{"internal", "the contact could not be sealed"}); });
    return;
  }
  scripts_->register_employer.run(
      redis_, options_.events_maxlen,
      {keys::employer(employer.id), keys::employerIndex(), keys::employerByCreditCode(),
       keys::employerAudit()},
      {employer.id, employer.name, employer.credit_code, employer.region_code, sealed.value(),
       std::to_string(employer.created_at)},
      [employer, done](Result<RedisReply> r) {
        auto reply = scriptReply(std::move(r));
        if (!reply.ok())
          return done(reply.error());
        done(employer);
      });
}

void RoomStore::getEmployer(const std::string& employer_id, Done<Employer> done) {
  redis_.command({"HGETALL", keys::employer(employer_id)}, [done](Result<RedisReply> r) {
    if (!r.ok())
      return done(r.error());
    if (r->type != RedisReply::Type::Array || r->elements.empty())
      return done(Error{"not_found", "no such employer"});
    done(employerFromHash(flatHash(r.value())));
  });
}

void RoomStore::listEmployers(std::optional<EmployerStatus> status, const Claims& who,
                              Done<std::vector<Employer>> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (auto e = mayManageEmployers(who)) {
    loop_.post([done, e = *e] { done(e); });
    return;
  }
  auto alive = alive_;
  redis_.command(
      {"SMEMBERS", keys::employerIndex()}, [this, alive, status, done](Result<RedisReply> ids) {
        if (!*alive)
          return done(unavailable());
        if (!ids.ok())
          return done(ids.error());
        std::vector<std::vector<std::string>> reads;
        for (const auto& id : ids->elements)
          reads.push_back({"HGETALL", keys::employer(id.str)});
        all(std::move(reads), [status, done](Result<std::vector<RedisReply>> hashes) {
          if (!hashes.ok())
            return done(hashes.error());
          std::vector<Employer> out;
          for (const auto& h : hashes.value()) {
            if (h.elements.empty())
              continue;
            Employer e = employerFromHash(flatHash(h));
            if (!status || e.status == *status)
              out.push_back(std::move(e));
          }
          std::sort(out.begin(), out.end(), [](const Employer& a, const Employer& b) {
            return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
          });
          done(std::move(out));
        });
      });
}

// ---- rooms ---------------------------------------------------------------

void RoomStore::createRoom(RoomDraft draft, const Claims& who, Done<Room> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (draft.employer_id.empty()) {
    if (who.role == Role::Admin) {
      loop_.post([done] { done(invalidField("employer_id", "is required")); });
      return;
    }
    draft.employer_id = who.employerId();
  }
  if (auto e = mayCreateRoom(who, draft.employer_id)) {
    loop_.post([done, e = *e] { done(e); });
    return;
  }
  auto alive = alive_;
  getEmployer(draft.employer_id, [this, alive, draft, done](Result<Employer> employer) {
    if (!*alive)
      return done(unavailable());
    if (!employer.ok()) {
      if (employer.error().code == "not_found")
        return done(invalidField("employer_id", "no such employer"));
      return done(employer.error());
    }
    Room room;
    room.id = draft.id.empty() ? newId() : draft.id;
    room.title = draft.title;
    room.region_code = draft.region_code;
    room.region_name = draft.region_name;
    room.employer_id = draft.employer_id;
    room.scheduled_at = draft.scheduled_at;
    room.ends_at = draft.ends_at;
    room.description = draft.description;
    room.created_at = now();
    room.counsellors = draft.counsellors;
    room.captioners = draft.captioners;
    room.interpreters = draft.interpreters;
    room.require_review = draft.require_review;
    // Index first: a listed id whose room is missing is skipped; a room that
    // exists but is not listed would be lost to GET /rooms.
    // The employer's back office lists its rooms from its own index.
    redis_.command(
        {"ZADD", keys::employerRooms(room.employer_id), std::to_string(room.created_at), room.id},
        [](Result<RedisReply>) {});
    indexByStart(room, "");
    redis_.command(
        {"ZADD", keys::roomIndex(), std::to_string(room.created_at), room.id},
        [this, alive, room, done](Result<RedisReply> indexed) {
          if (!*alive)
            return done(unavailable());
          if (!indexed.ok())
            return done(indexed.error());
          scripts_->create_room.run(
              redis_, options_.events_maxlen, {keys::room(room.id), keys::events(room.id)},
              {room.id, room.title, room.region_code, room.region_name, room.employer_id,
               std::to_string(room.scheduled_at), std::to_string(room.created_at),
               json(room.counsellors).dump(), room.toJson().dump(), json(room.captioners).dump(),
               json(room.interpreters).dump(), room.require_review ? "1" : "0", room.description,
               std::to_string(room.ends_at)},
              [room, done](Result<RedisReply> r) {
                auto reply = scriptReply(std::move(r));
                if (!reply.ok())
                  return done(reply.error());
                done(room);
              });
        });
  });
}

void RoomStore::getRoom(const std::string& room_id, Done<Room> done) {
  redis_.command({"HGETALL", keys::room(room_id)}, [done](Result<RedisReply> r) {
    if (!r.ok())
      return done(r.error());
    auto room = roomFromHash(flatHash(r.value()));
    if (!room)
      return done(Error{"room_not_found", "no such room"});
    done(std::move(*room));
  });
}

void RoomStore::snapshot(const std::string& room_id, Done<RoomSnapshot> done) {
  scripts_->snapshot.run(redis_, options_.events_maxlen,
                         {keys::room(room_id), keys::jobs(room_id), keys::jobOrder(room_id),
                          keys::counts(room_id), keys::events(room_id)},
                         {}, [done](Result<RedisReply> r) {
                           auto reply = scriptReply(std::move(r));
                           if (!reply.ok())
                             return done(reply.error());
                           auto& parts = reply.value();
                           if (parts.size() < 4)
                             return done(Error{"internal", "unexpected reply from the store"});
                           auto room = roomFromHash(flatHash(parts[0]));
                           if (!room)
                             return done(Error{"room_not_found", "no such room"});
                           RoomSnapshot snap;
                           snap.room = std::move(*room);
                           for (const auto& job : parts[1].elements) {
                             if (auto card = JobCard::fromStored(job.str))
                               snap.jobs.push_back(std::move(*card));
                           }
                           for (const auto& [field, value] : flatHash(parts[2])) {
                             if (field == "applications")
                               snap.applications = toInt(value);
                             else if (field.rfind("job:", 0) == 0)
                               snap.applications_by_job[field.substr(4)] = toInt(value);
                             else if (field.rfind("group:", 0) == 0)
                               snap.applications_by_key_group[field.substr(6)] = toInt(value);
                           }
                           snap.last_event_id = parts[3].str;
                           done(std::move(snap));
                         });
}

std::optional<RoomCursor> RoomCursor::parse(const std::string& text) {
  auto c1 = text.find(':');
  auto c2 = c1 == std::string::npos ? c1 : text.find(':', c1 + 1);
  if (c2 == std::string::npos || text.size() > 100)
    return std::nullopt;
  auto number = [](const std::string& t, int64_t& out) {
    if (t.empty() || t.size() > 18 || t.find_first_not_of("0123456789") != std::string::npos)
      return false;
    out = std::stoll(t);
    return true;
  };
  RoomCursor c;
  c.id = text.substr(c2 + 1);
  if (!number(text.substr(0, c1), c.score) || !number(text.substr(c1 + 1, c2 - c1 - 1), c.skip) ||
      c.skip < 1 || c.id.empty() ||
      c.id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
          std::string::npos)
    return std::nullopt;
  return c;
}

std::string RoomCursor::str() const {
  return std::to_string(score) + ":" + std::to_string(skip) + ":" + id;
}

void RoomStore::listRooms(const RoomFilter& filter, Done<RoomPage> done) {
  // The index orders rooms by (created_at, id) descending (by start:
  // (scheduled_at, id) ascending, ZRANGEBYSCORE from the cursor's score). A page resumes with
  // ZREVRANGEBYSCORE from the cursor's score, skipping the rooms of that score
  // already seen, and reads only the rooms of the entries it fetched.
  struct Scan {
    RoomFilter filter;
    std::optional<RoomCursor> at;  // the last entry looked at
    size_t scanned = 0;
    RoomPage page;
    Done<RoomPage> done;
  };
  auto scan = std::make_shared<Scan>();
  scan->filter = filter;
  scan->done = std::move(done);
  if (!filter.cursor.empty()) {
    scan->at = RoomCursor::parse(filter.cursor);
    if (!scan->at) {
      auto d = std::move(scan->done);
      return d(Error{"invalid_query", "cursor: not a cursor from next_cursor"});
    }
  }
  auto alive = alive_;
  auto step = std::make_shared<std::function<void()>>();
  *step = [this, alive, scan, weak = std::weak_ptr<std::function<void()>>(step)] {
    const auto& f = scan->filter;
    size_t want = f.limit - scan->page.rooms.size() + 1;
    size_t budget = std::max(f.scan_budget, f.limit + 1) - scan->scanned;
    size_t batch = std::min(want, budget);
    std::string skip = scan->at ? std::to_string(scan->at->skip) : "0";
    std::vector<std::string> read;
    if (f.byStart()) {
      // Soonest first within [from, to], in the region's own index.
      std::string min = scan->at ? std::to_string(scan->at->score)
                        : f.from ? std::to_string(*f.from)
                                 : "-inf";
      std::string max = f.to ? std::to_string(*f.to) : "+inf";
      read = {"ZRANGEBYSCORE",
              keys::roomsByStart(canonicalRegion(f.region)),
              min,
              max,
              "WITHSCORES",
              "LIMIT",
              skip,
              std::to_string(batch)};
    } else {
      std::string max = scan->at ? std::to_string(scan->at->score) : "+inf";
      read = {"ZREVRANGEBYSCORE", keys::roomIndex(), max,  "-inf",
              "WITHSCORES",       "LIMIT",           skip, std::to_string(batch)};
    }
    // The pending reply holds the step (and so the scan) until it is done.
    auto self = weak.lock();
    redis_.command(std::move(read), [this, alive, scan, batch, self](Result<RedisReply> entries) {
      if (!*alive)
        return scan->done(unavailable());
      if (!entries.ok())
        return scan->done(entries.error());
      struct Entry {
        std::string id;
        int64_t score;
      };
      std::vector<Entry> fetched;
      const auto& e = entries->elements;
      for (size_t i = 0; i + 1 < e.size(); i += 2)
        fetched.push_back({e[i].str, std::atoll(e[i + 1].str.c_str())});
      std::vector<std::vector<std::string>> reads;
      for (const auto& entry : fetched)
        reads.push_back({"HGETALL", keys::room(entry.id)});
      all(std::move(reads),
          [alive, scan, batch, self, fetched](Result<std::vector<RedisReply>> hashes) {
            if (!*alive)
              return scan->done(unavailable());
            if (!hashes.ok())
              return scan->done(hashes.error());
            const auto& f = scan->filter;
            for (size_t i = 0; i < fetched.size(); ++i) {
              const auto& entry = fetched[i];
              auto room = roomFromHash(flatHash(hashes.value()[i]));
              bool match = room && (!f.status || room->status == *f.status) &&
                           regionWithin(room->region_code, f.region);
              // An index entry behind its room (a reschedule
              // whose index write is still on its way) is not
              // shown where the room no longer is.
              if (match && f.byStart())
                match = (!f.from || room->scheduled_at >= *f.from) &&
                        (!f.to || room->scheduled_at <= *f.to);
              if (match && scan->page.rooms.size() == f.limit) {
                // One more match than fits: the page ends before it.
                scan->page.next_cursor = scan->at->str();
                return scan->done(std::move(scan->page));
              }
              RoomCursor next{entry.score, 1, entry.id};
              if (scan->at && scan->at->score == entry.score)
                next.skip = scan->at->skip + 1;
              scan->at = next;
              ++scan->scanned;
              if (match)
                scan->page.rooms.push_back(std::move(*room));
            }
            if (fetched.size() < batch)
              return scan->done(std::move(scan->page));  // the end of the index
            if (scan->scanned >= std::max(f.scan_budget, f.limit + 1)) {
              scan->page.next_cursor = scan->at->str();
              return scan->done(std::move(scan->page));
            }
            (*self)();
          });
    });
  };
  (*step)();
}

void RoomStore::startRoom(const std::string& room_id, const Claims& who, Done<Room> done) {
  transition(room_id, RoomStatus::Scheduled, RoomStatus::Live, who, std::move(done));
}

void RoomStore::endRoom(const std::string& room_id, const Claims& who, Done<Room> done) {
  transition(room_id, RoomStatus::Live, RoomStatus::Ended, who, std::move(done));
}

void RoomStore::transition(const std::string& room_id, RoomStatus from, RoomStatus to,
                           const Claims& who, Done<Room> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  auto alive = alive_;
  withRoom(
      room_id,
      [this, alive, room_id, from, to, who, done](Room room) {
        if (!*alive)
          return done(unavailable());
        if (auto e = mayRunRoom(who, room))
          return done(*e);
        if (!canTransition(room.status, to)) {
          return done(Error{"illegal_transition", std::string("room is ") +
                                                      roomStatusName(room.status) +
                                                      ", cannot become " + roomStatusName(to)});
        }
        auto run = [this, alive, room_id, region = room.region_code, from, to, done] {
          if (!*alive)
            return done(unavailable());
          int64_t at = now();
          std::vector<std::string> keys = {keys::room(room_id), keys::events(room_id)};
          std::vector<std::string> args = {roomStatusName(from), roomStatusName(to),
                                           to == RoomStatus::Live ? "started_at" : "ended_at",
                                           std::to_string(at)};
          if (to == RoomStatus::Ended) {
            keys.push_back(keys::jobs(room_id));
            keys.push_back(keys::figureViewers(room_id));
          }
          scripts_->transition_room.run(
              redis_, options_.events_maxlen, keys, args,
              [this, alive, room_id, region, at, done](Result<RedisReply> r) {
                auto reply = scriptReply(std::move(r));
                if (!reply.ok())
                  return done(reply.error());
                if (!*alive)
                  return done(unavailable());
                if (reply->size() >= 5)
                  countSession(room_id, region, at, reply.value());
                getRoom(room_id, done);
              });
        };
        if (to != RoomStatus::Live)
          return run();
        // Only a verified employer's room goes live.
        getEmployer(room.employer_id, [run, done](Result<Employer> employer) {
          if (!employer.ok() && employer.error().code != "not_found")
            return done(employer.error());
          if (!employer.ok() || !employer->verified)
            return done(Error{"employer_unverified",
                              "the room's employer is not verified; it cannot go live"});
          run();
        });
      },
      done);
}

void RoomStore::indexByStart(const Room& room, const std::string& old_region) {
  auto levels = regionLevels(room.region_code);
  if (old_region != room.region_code) {
    for (const auto& level : regionLevels(old_region)) {
      if (std::find(levels.begin(), levels.end(), level) == levels.end())
        redis_.command({"ZREM", keys::roomsByStart(level), room.id}, [](Result<RedisReply>) {});
    }
  }
  for (const auto& level : levels) {
    redis_.command({"ZADD", keys::roomsByStart(level), std::to_string(room.scheduled_at), room.id},
                   [](Result<RedisReply>) {});
  }
}

void RoomStore::withEditableRoom(const std::string& room_id, const Claims& who, bool live_too,
                                 std::function<void(Room)> fn, Done<Room> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  auto alive = alive_;
  withRoom(
      room_id,
      [this, alive, who, live_too, fn = std::move(fn), done](Room room) {
        if (!*alive)
          return done(unavailable());
        if (auto e = mayRunRoom(who, room))
          return done(*e);
        if (room.status != RoomStatus::Scheduled &&
            !(live_too && room.status == RoomStatus::Live)) {
          return done(Error{"illegal_transition", std::string("the room is ") +
                                                      roomStatusName(room.status) +
                                                      "; only a scheduled room can be changed"});
        }
        if (who.role == Role::Admin)
          return fn(std::move(room));
        // The employer acts on its rooms only while verified. (The id is
        // copied: the callback takes the room.)
        const std::string employer_id = room.employer_id;
        getEmployer(employer_id,
                    [fn, done, room = std::move(room)](Result<Employer> employer) mutable {
                      if (!employer.ok() && employer.error().code != "not_found")
                        return done(employer.error());
                      if (!employer.ok() || !employer->verified)
                        return done(Error{"employer_unverified",
                                          "the room's employer is not verified; it cannot "
                                          "change its rooms"});
                      fn(std::move(room));
                    });
      },
      done);
}

void RoomStore::writeRoom(const Room& before, Room after, const json& fields, Done<Room> done) {
  auto alive = alive_;
  after.sequence = before.sequence + 1;
  json changed = json::array();
  for (const auto& [field, value] : fields.items())
    changed.push_back(field);
  json data = {{"room", after.toJson()}, {"changed", changed}};
  const bool rescheduled = after.scheduled_at != before.scheduled_at;
  // Staff lists change in a live room too; nothing else does.
  const bool staff_only =
      fields.size() == 1 && (fields.contains("counsellors") || fields.contains("captioners") ||
                             fields.contains("interpreters"));
  const std::string& id = after.id;
  scripts_->update_room.run(
      redis_, options_.events_maxlen,
      {keys::room(id), keys::events(id), keys::reminded(id), keys::followers(id)},
      {std::to_string(before.sequence), fields.dump(), data.dump(), rescheduled ? "1" : "0",
       staff_only ? "1" : "0"},
      [this, alive, before, after, rescheduled, done](Result<RedisReply> r) {
        auto reply = scriptReply(std::move(r));
        if (!reply.ok())
          return done(reply.error());
        if (!*alive)
          return done(unavailable());
        if (rescheduled || after.region_code != before.region_code)
          indexByStart(after, before.region_code);
        // The open-jobs indexes order a room's jobs by its start: they move
        // with it (XX: a job that left an index stays out).
        if (rescheduled) {
          redis_.command(
              {"HKEYS", keys::jobs(after.id)}, [this, alive, after](Result<RedisReply> jobs) {
                if (!jobs.ok() || !*alive)
                  return;
                for (const auto& level : regionLevels(after.region_code)) {
                  for (const auto& job : jobs->elements)
                    redis_.command({"ZADD", keys::openJobs(level), "XX",
                                    std::to_string(after.scheduled_at), after.id + "/" + job.str},
                                   [](Result<RedisReply>) {});
                }
              });
        }
        // The queue is another slot: the reminder pass finds the new time
        // (rooms/remind.lua answers when it is due) and reminds again.
        if (rescheduled && reply.value().size() >= 2 && reply.value()[1].integer > 0)
          redis_.command({"ZADD", keys::reminderQueue(), "0", after.id}, [](Result<RedisReply>) {});
        done(after);
      });
}

void RoomStore::updateRoom(const std::string& room_id, const RoomEdit& edit, const Claims& who,
                           Done<Room> done) {
  withEditableRoom(
      room_id, who, false,
      [this, edit, done](Room room) {
        auto after = edit.applyTo(room, now());
        if (!after.ok())
          return done(after.error());
        const Room& a = after.value();
        json fields = json::object();
        if (a.title != room.title)
          fields["title"] = a.title;
        if (a.description != room.description)
          fields["description"] = a.description;
        if (a.region_code != room.region_code)
          fields["region_code"] = a.region_code;
        if (a.region_name != room.region_name)
          fields["region_name"] = a.region_name;
        if (a.scheduled_at != room.scheduled_at)
          fields["scheduled_at"] = std::to_string(a.scheduled_at);
        if (a.ends_at != room.ends_at)
          fields["ends_at"] = std::to_string(a.ends_at);
        if (a.require_review != room.require_review)
          fields["require_review"] = a.require_review ? "1" : "0";
        if (fields.empty())
          return done(std::move(room));  // nothing changes: no event, no new sequence
        writeRoom(room, a, fields, done);
      },
      done);
}

void RoomStore::cancelRoom(const std::string& room_id, const std::string& reason, const Claims& who,
                           Done<Room> done) {
  auto alive = alive_;
  withEditableRoom(
      room_id, who, false,
      [this, alive, reason, done](Room room) {
        const int64_t at = now();
        scripts_->cancel_room.run(
            redis_, options_.events_maxlen, {keys::room(room.id), keys::events(room.id)},
            {reason, std::to_string(at)},
            [this, alive, room, reason, at, done](Result<RedisReply> r) mutable {
              auto reply = scriptReply(std::move(r));
              if (!reply.ok())
                return done(reply.error());
              if (!*alive)
                return done(unavailable());
              redis_.command({"ZREM", keys::reminderQueue(), room.id}, [](Result<RedisReply>) {});
              room.status = RoomStatus::Cancelled;
              room.cancel_reason = reason;
              room.cancelled_at = at;
              room.sequence += 1;
              done(std::move(room));
            });
      },
      done);
}

void RoomStore::assignStaff(const std::string& room_id, const std::string& account_id, bool on,
                            const Claims& who, Done<Room> done) {
  withEditableRoom(
      room_id, who, true,
      [this, account_id, on, done](Room room) {
        auto alive = alive_;
        redis_.command({"HGET", keys::accounts(), account_id}, [this, alive, room, account_id, on,
                                                                done](Result<RedisReply> r) {
          if (!r.ok())
            return done(r.error());
          if (!*alive)
            return done(unavailable());
          json account = r->isNil() ? json() : json::parse(r->str, nullptr, false);
          if (!account.is_object())
            return done(Error{"not_found", "no such account"});
          const std::string kind = account.value("kind", "");
          Room after = room;
          auto* list = staffListOf(after, kind);
          if (!list)
            return done(
                invalidField("account", "must be a counsellor, captioner or interpreter account"));
          auto it = std::find(list->begin(), list->end(), account_id);
          if (on == (it != list->end()))
            return done(std::move(after));  // already so: nothing changes
          if (on) {
            if (list->size() >= 20)
              return done(invalidField("account", "the room lists 20 of this kind already"));
            list->push_back(account_id);
          } else {
            list->erase(it);
          }
          json fields = {{kind == "counsellor"  ? "counsellors"
                          : kind == "captioner" ? "captioners"
                                                : "interpreters",
                          json(*list).dump()}};
          writeRoom(room, std::move(after), fields, done);
        });
      },
      done);
}

// ---- job cards -----------------------------------------------------------

void RoomStore::addJob(const std::string& room_id, JobCard card, const Claims& who,
                       Done<JobCard> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  auto alive = alive_;
  withRoom(
      room_id,
      [this, alive, room_id, card, who, done](Room room) mutable {
        if (!*alive)
          return done(unavailable());
        if (auto e = mayRunRoom(who, room))
          return done(*e);
        card.id = newId();
        card.created_at = now();
        card.review_status = room.require_review ? "pending" : "";
        // A card awaiting review goes to the room's staff only.
        std::vector<std::string> script_keys = {keys::room(room_id), keys::jobs(room_id),
                                                keys::jobOrder(room_id), keys::events(room_id)};
        scripts_->add_job.run(
            redis_, options_.events_maxlen, script_keys,
            {card.id, card.toJson().dump(), card.pending() ? "staff" : "all"},
            [this, alive, card, room_id, region = room.region_code, done](Result<RedisReply> r) {
              auto reply = scriptReply(std::move(r));
              if (!reply.ok())
                return done(reply.error());
              // The open-jobs index of each region, each in its own slot
              // (docs/redis-schema.md): an index entry may lag the card, never
              // the other way round.
              std::string starts = reply->size() >= 2 ? reply.value()[1].str : "0";
              if (*alive) {
                for (const auto& level : regionLevels(region)) {
                  redis_.command({"ZADD", keys::openJobs(level), starts, room_id + "/" + card.id},
                                 [](Result<RedisReply> z) {
                                   if (!z || z->isError())
                                     log::warn("open-jobs index not updated", {});
                                 });
                }
              }
              done(card);
            });
      },
      done);
}

void RoomStore::approveJob(const std::string& room_id, const std::string& job_id, const Claims& who,
                           Done<JobCard> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  auto alive = alive_;
  withRoom(
      room_id,
      [this, alive, room_id, job_id, who, done](Room room) {
        if (!*alive)
          return done(unavailable());
        if (auto e = decide(&who, Membership::of(room), Operation::ReviewJob))
          return done(*e);
        redis_.command({"HGET", keys::jobs(room_id), job_id}, [this, alive, room_id, job_id, who,
                                                               done](Result<RedisReply> stored) {
          if (!*alive)
            return done(unavailable());
          if (!stored.ok())
            return done(stored.error());
          if (stored->isNil())
            return done(Error{"not_found", "no such job in this room"});
          auto card = JobCard::fromStored(stored->str);
          if (!card)
            return done(Error{"internal", "the job card is malformed"});
          if (!card->pending())
            return done(Error{"illegal_transition", "the job card is not awaiting review"});
          card->review_status = "approved";
          card->reviewed_by = who.sub;
          card->reviewed_by_name = who.name.empty() ? who.sub : who.name;
          card->reviewed_at = now();
          // Compare-and-set on the stored text: two reviewers at once, one wins.
          scripts_->approve_job.run(
              redis_, options_.events_maxlen,
              {keys::room(room_id), keys::jobs(room_id), keys::events(room_id)},
              {job_id, stored->str, card->toJson().dump()},
              [card = *card, done](Result<RedisReply> r) {
                auto reply = scriptReply(std::move(r));
                if (!reply.ok())
                  return done(reply.error());
                done(card);
              });
        });
      },
      done);
}

void RoomStore::pinJob(const std::string& room_id, const std::string& job_id, const Claims& who,
                       Done<JobCard> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  auto alive = alive_;
  withRoom(
      room_id,
      [this, alive, room_id, job_id, who, done](Room room) {
        if (!*alive)
          return done(unavailable());
        if (auto e = mayPinJob(who, room))
          return done(*e);
        scripts_->pin_job.run(redis_, options_.events_maxlen,
                              {keys::room(room_id), keys::jobs(room_id), keys::events(room_id)},
                              {job_id}, [done](Result<RedisReply> r) {
                                auto reply = scriptReply(std::move(r));
                                if (!reply.ok())
                                  return done(reply.error());
                                auto card = reply->size() >= 2
                                                ? JobCard::fromStored(reply.value()[1].str)
                                                : std::nullopt;
                                if (!card)
                                  return done(Error{"internal", "stored job card is unreadable"});
                                done(std::move(*card));
                              });
      },
      done);
}

// ---- profiles ------------------------------------------------------------

void RoomStore::putProfile(Profile profile, const Claims& who, Done<Profile> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (auto e = mayApply(who)) {
    loop_.post([done, e = *e] { done(e); });
    return;
  }
  profile.updated_at = now();
  // The owner's id is the associated data: a sealed profile moved to another
  // user's key does not open.
  auto sealed = cipher_.seal(profile.toSealable(), who.sub);
  if (!sealed.ok()) {
    loop_.post([done, e = sealed.error()] { done(e); });
    return;
  }
  redis_.command({"HSET", keys::profile(who.sub), "sealed", sealed.value(), "key_id",
                  cipher_.currentKeyId(), "updated_at", std::to_string(profile.updated_at)},
                 [profile, done](Result<RedisReply> r) {
                   if (!r.ok())
                     return done(r.error());
                   if (r->isError())
                     return done(Error{"internal", "the store refused the profile"});
                   done(profile);
                 });
}

void RoomStore::getProfile(const Claims& who, Done<Profile> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (auto e = mayApply(who)) {
    loop_.post([done, e = *e] { done(e); });
    return;
  }
  auto alive = alive_;
  redis_.command({"HGET", keys::profile(who.sub), "sealed"},
                 [this, alive, sub = who.sub, done](Result<RedisReply> r) {
                   if (!r.ok())
                     return done(r.error());
                   if (!*alive)
                     return done(unavailable());
                   if (r->isNil())
                     return done(Error{"not_found", "no profile"});
                   auto plain = cipher_.open(r->str, sub);
                   if (!plain.ok())
                     return done(Error{"internal", "the profile cannot be decrypted"});
                   auto profile = Profile::fromSealable(plain.value());
                   if (!profile)
                     return done(Error{"internal", "the profile is unreadable"});
                   done(std::move(*profile));
                 });
}

void RoomStore::deleteProfile(const Claims& who, Done<bool> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (auto e = mayApply(who)) {
    loop_.post([done, e = *e] { done(e); });
    return;
  }
  redis_.command({"DEL", keys::profile(who.sub)}, [done](Result<RedisReply> r) {
    if (!r.ok())
      return done(r.error());
    if (r->integer == 0)
      return done(Error{"not_found", "no profile"});
    done(true);
  });
}

// ---- applications --------------------------------------------------------

void RoomStore::apply(const std::string& room_id, const std::string& job_id, const Claims& who,
                      Done<ApplyOutcome> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  Membership in_room;  // applying depends on role and scope, not on the room's lists
  in_room.room_id = room_id;
  auto denied = mayApply(who);
  if (!denied)
    denied = decide(&who, in_room, Operation::Apply);
  if (denied) {
    loop_.post([done, e = *denied] { done(e); });
    return;
  }
  // The profile (for the key group) and the room (its region names the
  // report keys the application counts in) are read together.
  struct Reads {
    std::optional<Result<Profile>> profile;
    std::optional<Result<Room>> room;
  };
  auto reads = std::make_shared<Reads>();
  auto alive = alive_;
  auto next = [this, alive, reads, job_id, sub = who.sub, done] {
    if (!reads->profile || !reads->room)
      return;
    if (!*alive)
      return done(unavailable());
    auto& profile = *reads->profile;
    if (!profile.ok()) {
      if (profile.error().code == "not_found")
        return done(Error{"profile_required", "create a profile before applying"});
      return done(profile.error());
    }
    if (!reads->room->ok())
      return done(reads->room->error());
    // The key group feeds only anonymous counts (the room's, the quarterly
    // report's), and only with consent.
    std::string group =
        profile->key_group_consent && profile->key_group ? keyGroupName(*profile->key_group) : "";
    applyInRoom(reads->room->value(), job_id, sub, group, done);
  };
  getProfile(who, [reads, next](Result<Profile> profile) {
    reads->profile = std::move(profile);
    next();
  });
  getRoom(room_id, [reads, next](Result<Room> room) {
    reads->room = std::move(room);
    next();
  });
}

void RoomStore::applyInRoom(const Room& room, const std::string& job_id, const std::string& sub,
                            const std::string& group, Done<ApplyOutcome> done) {
  auto alive = alive_;
  const std::string& room_id = room.id;
  {
    int64_t at = now();
    std::vector<std::string> keys = {keys::room(room_id),
                                     keys::jobs(room_id),
                                     keys::applications(room_id),
                                     keys::applicationByUser(room_id),
                                     keys::applicationOrder(room_id),
                                     keys::counts(room_id),
                                     keys::events(room_id)};
    scripts_->apply.run(
        redis_, options_.events_maxlen, keys,
        {newId(), sub, job_id, std::to_string(at), group, room_id},
        [this, alive, room_id, sub, group, at, region = room.region_code,
         done](Result<RedisReply> r) {
          auto reply = scriptReply(std::move(r));
          if (!reply.ok())
            return done(reply.error());
          if (!*alive)
            return done(unavailable());
          auto& parts = reply.value();
          auto app = parts.size() >= 2 ? Application::fromStored(parts[1].str) : std::nullopt;
          if (!app)
            return done(Error{"internal", "stored application is unreadable"});
          ApplyOutcome outcome{parts[0].integer == 1, std::move(*app)};
          if (outcome.created) {
            std::vector<std::string> fields = {"applications"};
            if (!group.empty())
              fields.push_back("group:" + group);
            countInReports(region, at, fields);
          }
          // The lookup indexes live outside the room's slot. Both writes are
          // idempotent and run on every apply, so a retry repairs what a crash
          // between the script and here left out.
          all({{"HSET", keys::applicationRooms(), outcome.application.id, room_id},
               {"SADD", keys::userApplications(sub), room_id + "/" + outcome.application.id}},
              [outcome, done](Result<std::vector<RedisReply>> indexed) {
                if (!indexed.ok())
                  return done(indexed.error());
                done(outcome);
              });
        });
  }
}

void RoomStore::listApplications(const std::string& room_id, int64_t offset, int64_t limit,
                                 const Claims& who, Done<ApplicationPage> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  auto alive = alive_;
  withRoom(
      room_id,
      [this, alive, room_id, offset, limit, who, done](Room room) {
        if (!*alive)
          return done(unavailable());
        if (auto e = mayRunRoom(who, room))
          return done(*e);
        scripts_->list_applications.run(
            redis_, options_.events_maxlen,
            {keys::applicationOrder(room_id), keys::applications(room_id)},
            {std::to_string(offset), std::to_string(limit)},
            [this, alive, room_id, offset, who, done](Result<RedisReply> r) {
              auto reply = scriptReply(std::move(r));
              if (!reply.ok())
                return done(reply.error());
              if (!*alive)
                return done(unavailable());
              auto page = std::make_shared<ApplicationPage>();
              page->offset = offset;
              page->total = reply.value()[0].integer;
              std::vector<std::vector<std::string>> reads;
              for (size_t i = 1; i < reply->size(); ++i) {
                auto app = Application::fromStored(reply.value()[i].str);
                if (!app)
                  continue;
                reads.push_back({"HGET", keys::profile(app->applicant), "sealed"});
                page->items.push_back({std::move(*app), std::nullopt});
              }
              all(std::move(reads), [this, alive, room_id, page, who,
                                     done](Result<std::vector<RedisReply>> sealed) {
                if (!sealed.ok())
                  return done(sealed.error());
                if (!*alive)
                  return done(unavailable());
                // Who read whose data, written before anything is shown.
                std::vector<std::vector<std::string>> audit;
                std::string at = std::to_string(now());
                for (size_t i = 0; i < page->items.size(); ++i) {
                  auto& item = page->items[i];
                  if (sealed.value()[i].isNil())
                    continue;
                  auto plain = cipher_.open(sealed.value()[i].str, item.application.applicant);
                  if (!plain.ok()) {
                    log::warn("applicant profile does not decrypt",
                              {{"application", item.application.id}, {"code", plain.error().code}});
                    continue;
                  }
                  item.profile = Profile::fromSealable(plain.value());
                  audit.push_back({"XADD", keys::audit(room_id), "MAXLEN", "~",
                                   std::to_string(options_.audit_maxlen), "*", "reader", who.sub,
                                   "role", roleName(who.role), "subject",
                                   item.application.applicant, "application", item.application.id,
                                   "at", at, "what", "profile"});
                  // A key group shared with employers: its own entry, so each
                  // view of it can be answered for.
                  if (item.profile && item.profile->key_group && item.profile->key_group_shared)
                    audit.push_back({"XADD", keys::audit(room_id), "MAXLEN", "~",
                                     std::to_string(options_.audit_maxlen), "*", "reader", who.sub,
                                     "role", roleName(who.role), "subject",
                                     item.application.applicant, "application", item.application.id,
                                     "at", at, "what", "key_group"});
                }
                all(std::move(audit), [page, done](Result<std::vector<RedisReply>> written) {
                  if (!written.ok())
                    return done(written.error());
                  done(std::move(*page));
                });
              });
            });
      },
      done);
}

void RoomStore::setApplicationStatus(const std::string& application_id, ApplicationStatus status,
                                     const Claims& who, Done<Application> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  auto alive = alive_;
  redis_.command({"HGET", keys::applicationRooms(), application_id}, [this, alive, application_id,
                                                                      status, who,
                                                                      done](Result<RedisReply> r) {
    if (!r.ok())
      return done(r.error());
    if (!*alive)
      return done(unavailable());
    if (r->isNil() || r->str.empty())
      return done(Error{"not_found", "no such application"});
    std::string room_id = r->str;
    withRoom(
        room_id,
        [this, alive, room_id, application_id, status, who, done](Room room) {
          if (!*alive)
            return done(unavailable());
          if (auto e = mayRunRoom(who, room))
            return done(*e);
          std::string allowed;
          for (auto s : predecessorsOf(status))
            allowed += std::string(allowed.empty() ? "" : ",") + applicationStatusName(s);
          int64_t at = now();
          std::vector<std::string> keys = {keys::applications(room_id), keys::events(room_id)};
          scripts_->set_status.run(
              redis_, options_.events_maxlen, keys,
              {application_id, applicationStatusName(status), who.sub, std::to_string(at), allowed},
              [this, alive, status, at, region = room.region_code, done](Result<RedisReply> r) {
                auto reply = scriptReply(std::move(r));
                if (!reply.ok())
                  return done(reply.error());
                // The quarterly report counts interviews and hires when they happen.
                bool changed = !reply->empty() && reply.value()[0].integer == 1;
                if (changed && *alive && status == ApplicationStatus::Interview)
                  countInReports(region, at, {"interviews"});
                if (changed && *alive && status == ApplicationStatus::Hired)
                  countInReports(region, at, {"hires"});
                auto app = reply->size() >= 2 ? Application::fromStored(reply.value()[1].str)
                                              : std::nullopt;
                if (!app)
                  return done(Error{"internal", "stored application is unreadable"});
                done(std::move(*app));
              });
        },
        done);
  });
}

void RoomStore::myApplications(const Claims& who, Done<std::vector<Application>> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (auto e = mayApply(who)) {
    loop_.post([done, e = *e] { done(e); });
    return;
  }
  auto alive = alive_;
  redis_.command({"SMEMBERS", keys::userApplications(who.sub)}, [this, alive, sub = who.sub,
                                                                 done](Result<RedisReply> r) {
    if (!r.ok())
      return done(r.error());
    if (!*alive)
      return done(unavailable());
    std::vector<std::vector<std::string>> reads;
    for (const auto& member : r->elements) {
      auto slash = member.str.find('/');
      if (slash == std::string::npos)
        continue;
      reads.push_back(
          {"HGET", keys::applications(member.str.substr(0, slash)), member.str.substr(slash + 1)});
    }
    all(std::move(reads), [sub, done](Result<std::vector<RedisReply>> apps) {
      if (!apps.ok())
        return done(apps.error());
      std::vector<Application> out;
      for (const auto& a : apps.value()) {
        if (a.isNil())
          continue;
        auto app = Application::fromStored(a.str);
        if (app && app->applicant == sub)
          out.push_back(std::move(*app));
      }
      std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
        return x.applied_at != y.applied_at ? x.applied_at > y.applied_at : x.id > y.id;
      });
      done(std::move(out));
    });
  });
}

// ---- reminders -----------------------------------------------------------

void RoomStore::follow(const std::string& room_id, bool on, int64_t lead_s, const Claims& who,
                       Done<Room> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (auto e = mayApply(who)) {
    loop_.post([done, e = *e] { done(e); });
    return;
  }
  auto alive = alive_;
  scripts_->follow.run(
      redis_, options_.events_maxlen, {keys::room(room_id), keys::followers(room_id)},
      {who.sub, on ? "1" : "0"},
      [this, alive, room_id, on, lead_s, sub = who.sub, done](Result<RedisReply> r) {
        auto reply = scriptReply(std::move(r));
        if (!reply.ok())
          return done(reply.error());
        if (!*alive)
          return done(unavailable());
        // The user's list and the reminder queue live in other slots; a
        // follow whose room is queued again is harmless (remind.lua's mark).
        redis_.command({on ? "SADD" : "SREM", keys::userFollows(sub), room_id},
                       [](Result<RedisReply>) {});
        getRoom(room_id, [this, alive, on, lead_s, done](Result<Room> room) {
          if (!room.ok())
            return done(room.error());
          if (!*alive)
            return done(unavailable());
          if (!on || room->status != RoomStatus::Scheduled)
            return done(std::move(room.value()));
          // Built before the room moves into the callback.
          std::vector<std::string> queue = {"ZADD", keys::reminderQueue(),
                                            std::to_string(room->scheduled_at - lead_s), room->id};
          redis_.command(std::move(queue),
                         [done, room = std::move(room.value())](Result<RedisReply> queued) {
                           if (!queued.ok())
                             return done(queued.error());
                           done(room);
                         });
        });
      });
}

void RoomStore::myFollows(const Claims& who, Done<std::vector<Room>> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (auto e = mayApply(who)) {
    loop_.post([done, e = *e] { done(e); });
    return;
  }
  auto alive = alive_;
  redis_.command(
      {"SMEMBERS", keys::userFollows(who.sub)}, [this, alive, done](Result<RedisReply> r) {
        if (!r.ok())
          return done(r.error());
        if (!*alive)
          return done(unavailable());
        std::vector<std::vector<std::string>> reads;
        for (const auto& id : r->elements)
          reads.push_back({"HGETALL", keys::room(id.str)});
        all(std::move(reads), [done](Result<std::vector<RedisReply>> rooms) {
          if (!rooms.ok())
            return done(rooms.error());
          std::vector<Room> out;
          for (const auto& h : rooms.value())
            if (auto room = roomFromHash(flatHash(h)))
              out.push_back(std::move(*room));
          std::sort(out.begin(), out.end(), [](const Room& a, const Room& b) {
            return a.scheduled_at != b.scheduled_at ? a.scheduled_at < b.scheduled_at : a.id < b.id;
          });
          done(std::move(out));
        });
      });
}

void RoomStore::remindDue(int64_t lead_s, std::function<std::string(const std::string&)> room_url,
                          Done<int64_t> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  static const RedisScript claim{std::string(report_scripts::kClaimRemindersLua)};
  constexpr int64_t kLeaseS = 60;
  auto alive = alive_;
  const int64_t at = now();
  claim.run(redis_, {keys::reminderQueue()}, {std::to_string(at), std::to_string(kLeaseS), "50"},
            [this, alive, at, lead_s, room_url, done](Result<RedisReply> r) {
              if (!r.ok())
                return done(r.error());
              if (!*alive)
                return done(unavailable());
              if (r->isError())
                return done(Error{"internal", r->str});
              struct Pass {
                int64_t queued = 0;
                size_t pending = 0;
                std::optional<Error> error;
              };
              auto pass = std::make_shared<Pass>();
              pass->pending = r->elements.size();
              if (pass->pending == 0)
                return done(int64_t{0});
              for (const auto& member : r->elements) {
                const std::string room_id = member.str;
                scripts_->remind.run(
                    redis_, options_.events_maxlen,
                    {keys::room(room_id), keys::followers(room_id), keys::reminded(room_id)},
                    {std::to_string(at), std::to_string(lead_s), room_url(room_id)},
                    [this, alive, pass, room_id, done](Result<RedisReply> rr) {
                      auto reply = scriptReply(std::move(rr));
                      if (!reply.ok()) {
                        pass->error = reply.error();  // left queued: taken again after the lease
                      } else if (*alive) {
                        int64_t n = reply.value()[0].integer;
                        if (n >= 0) {
                          pass->queued += n;
                          redis_.command({"ZREM", keys::reminderQueue(), room_id},
                                         [](Result<RedisReply>) {});
                        } else if (reply->size() >= 2) {  // rescheduled: due later
                          redis_.command({"ZADD", keys::reminderQueue(),
                                          std::to_string(reply.value()[1].integer), room_id},
                                         [](Result<RedisReply>) {});
                        }
                      }
                      if (--pass->pending == 0) {
                        if (pass->error)
                          return done(*pass->error);
                        done(pass->queued);
                      }
                    });
              }
            });
}

// ---- recommendations -----------------------------------------------------

namespace {

// A job's wage per month (yuan), for comparing with what a jobseeker looks for;
// nullopt for piece rates.
std::optional<int64_t> monthly(int64_t wage, WageUnit unit) {
  switch (unit) {
    case WageUnit::Hour:
      return wage * 8 * 22;
    case WageUnit::Day:
      return wage * 22;
    case WageUnit::Month:
      return wage;
    case WageUnit::Year:
      return wage / 12;
    case WageUnit::Piece:
      return std::nullopt;
  }
  return std::nullopt;
}

// The words of a CV worth looking for in a job: Latin words of 3 letters or
// more (lower case) and every pair of neighbouring Chinese characters.
std::vector<std::string> cvWords(const std::string& cv) {
  std::vector<std::string> out;
  std::string word;
  std::vector<std::string> han;  // the current run of 3-byte UTF-8 characters
  auto flush = [&] {
    if (word.size() >= 3)
      out.push_back(word);
    word.clear();
    for (size_t i = 0; i + 1 < han.size(); ++i)
      out.push_back(han[i] + han[i + 1]);
    han.clear();
  };
  for (size_t i = 0; i < cv.size();) {
    auto c = static_cast<unsigned char>(cv[i]);
    if (std::isalpha(c)) {
      if (!han.empty()) {
        auto w = word;
        flush();
        word = w;
      }
      word += static_cast<char>(std::tolower(c));
      ++i;
    } else if ((c & 0xF0) == 0xE0 && i + 2 < cv.size()) {
      if (!word.empty()) {
        auto h = han;
        flush();
        han = h;
      }
      han.push_back(cv.substr(i, 3));
      i += 3;
    } else {
      flush();
      ++i;
    }
  }
  flush();
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string lower(std::string text) {
  for (auto& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Scores one job for one profile; nullopt when it does not fit at all (a
// region in another province, a wage below what they look for).
std::optional<Recommendation> score(const Profile& profile, const std::vector<std::string>& words,
                                    const Room& room, const JobCard& job) {
  Recommendation rec{room, job, 0, json::array()};
  const std::string mine = canonicalRegion(profile.region_code);
  const std::string theirs = canonicalRegion(room.region_code);
  if (mine.size() == 6 && theirs.size() == 6) {
    if (mine.substr(0, 2) != theirs.substr(0, 2))
      return std::nullopt;
    if (mine == theirs && mine.substr(4) != "00") {
      rec.score += 30;
      rec.reasons.push_back({{"code", "same_county"}});
    } else if (mine.substr(0, 4) == theirs.substr(0, 4)) {
      rec.score += 20;
      rec.reasons.push_back({{"code", "same_city"}});
    } else {
      rec.score += 10;
      rec.reasons.push_back({{"code", "same_province"}});
    }
  }
  if (profile.wage_min > 0) {
    auto top = monthly(job.wage_max, job.wage_unit);
    auto bottom = monthly(job.wage_min, job.wage_unit);
    if (top && *top < profile.wage_min)
      return std::nullopt;
    if (bottom && *bottom >= profile.wage_min) {
      rec.score += 20;
      rec.reasons.push_back({{"code", "wage_at_least"}, {"value", profile.wage_min}});
    } else if (top) {
      rec.score += 10;
      rec.reasons.push_back({{"code", "wage_up_to"}, {"value", *top}});
    }
  }
  if (!profile.schedules.empty() && !job.schedule.empty()) {
    if (std::find(profile.schedules.begin(), profile.schedules.end(), job.schedule) ==
        profile.schedules.end())
      return std::nullopt;
    rec.score += 10;
    rec.reasons.push_back({{"code", "schedule"}, {"value", job.schedule}});
  }
  // The key group is the jobseeker's own consented statement, used here for
  // their own benefit; the employer learns nothing from it.
  if (profile.key_group_consent && profile.key_group &&
      std::find(job.open_to.begin(), job.open_to.end(), *profile.key_group) != job.open_to.end()) {
    rec.score += 25;
    rec.reasons.push_back(
        {{"code", "open_to_key_group"}, {"value", keyGroupName(*profile.key_group)}});
  }
  const std::string text = lower(job.title + " " + job.description + " " + job.hours);
  json matched = json::array();
  for (const auto& w : words)
    if (text.find(w) != std::string::npos && matched.size() < 3)
      matched.push_back(w);
  if (!matched.empty()) {
    rec.score += 15 * static_cast<int64_t>(matched.size());
    rec.reasons.push_back({{"code", "cv_words"}, {"words", matched}});
  }
  if (room.status == RoomStatus::Live) {
    rec.score += 5;
    rec.reasons.push_back({{"code", "live"}});
  } else {
    rec.reasons.push_back({{"code", "upcoming"}, {"value", room.scheduled_at}});
  }
  return rec;
}

}  // namespace

json Recommendation::toJson() const {
  return {{"room",
           {{"id", room.id},
            {"title", room.title},
            {"status", roomStatusName(room.status)},
            {"scheduled_at", room.scheduled_at},
            {"region_code", room.region_code},
            {"region_name", room.region_name}}},
          {"job", job.toJson()},
          {"score", score},
          {"reasons", reasons}};
}

void RoomStore::recommend(const Claims& who, size_t limit, Done<std::vector<Recommendation>> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (auto e = mayApply(who)) {
    loop_.post([done, e = *e] { done(e); });
    return;
  }
  auto alive = alive_;
  const std::string sub = who.sub;
  getProfile(who, [this, alive, sub, limit, who, done](Result<Profile> profile) {
    if (!profile.ok())
      return done(profile.error().code == "not_found"
                      ? Error{"profile_required", "save a profile to get recommendations"}
                      : profile.error());
    if (!*alive)
      return done(unavailable());
    myApplications(who, [this, alive, sub, limit, profile = profile.value(),
                         done](Result<std::vector<Application>> apps) {
      if (!apps.ok())
        return done(apps.error());
      if (!*alive)
        return done(unavailable());
      auto applied = std::make_shared<std::set<std::string>>();
      for (const auto& a : apps.value())
        applied->insert(a.room_id + "/" + a.job_id);
      // The jobs of the jobseeker's province (or of every room without a
      // region stated), soonest start last; never a scan of other keys.
      const std::string mine = canonicalRegion(profile.region_code);
      const std::string index = keys::openJobs(mine.size() == 6 ? mine.substr(0, 2) + "0000" : "");
      redis_.command({"ZREVRANGE", index, "0", "299"}, [this, alive, sub, limit, profile, applied,
                                                        index, done](Result<RedisReply> members) {
        if (!members.ok())
          return done(members.error());
        if (!*alive)
          return done(unavailable());
        std::vector<std::pair<std::string, std::string>> jobs;  // room, job
        std::vector<std::string> room_ids;
        for (const auto& m : members->elements) {
          auto slash = m.str.find('/');
          if (slash == std::string::npos || applied->count(m.str))
            continue;
          jobs.emplace_back(m.str.substr(0, slash), m.str.substr(slash + 1));
          if (std::find(room_ids.begin(), room_ids.end(), jobs.back().first) == room_ids.end())
            room_ids.push_back(jobs.back().first);
        }
        std::vector<std::vector<std::string>> reads;
        for (const auto& id : room_ids)
          reads.push_back({"HGETALL", keys::room(id)});
        for (const auto& [room, job] : jobs)
          reads.push_back({"HGET", keys::jobs(room), job});
        all(std::move(reads), [this, alive, sub, limit, profile, jobs, room_ids, index,
                               done](Result<std::vector<RedisReply>> read) {
          if (!read.ok())
            return done(read.error());
          if (!*alive)
            return done(unavailable());
          std::map<std::string, Room> rooms;
          for (size_t i = 0; i < room_ids.size(); ++i)
            if (auto room = roomFromHash(flatHash(read.value()[i])))
              rooms[room->id] = std::move(*room);
          const auto words = cvWords(profile.cv);
          std::vector<Recommendation> out;
          for (size_t i = 0; i < jobs.size(); ++i) {
            auto room = rooms.find(jobs[i].first);
            const auto& text = read.value()[room_ids.size() + i];
            if (room == rooms.end() || room->second.status == RoomStatus::Ended ||
                room->second.status == RoomStatus::Cancelled || text.isNil()) {
              // An ended or cancelled room's jobs leave the index as they are met.
              redis_.command({"ZREM", index, jobs[i].first + "/" + jobs[i].second},
                             [](Result<RedisReply>) {});
              continue;
            }
            auto card = JobCard::fromStored(text.str);
            if (!card || card->pending())  // awaiting review: not shown to viewers yet
              continue;
            if (auto rec = score(profile, words, room->second, *card))
              out.push_back(std::move(*rec));
          }
          std::stable_sort(out.begin(), out.end(),
                           [](const auto& a, const auto& b) { return a.score > b.score; });
          if (out.size() > limit)
            out.resize(limit);
          // Recorded once per person and job; the first time is counted
          // in the report of the room's regions.
          std::vector<std::vector<std::string>> marks;
          for (const auto& rec : out)
            marks.push_back({"SADD", keys::userRecommended(sub), rec.room.id + "/" + rec.job.id});
          auto result = std::make_shared<std::vector<Recommendation>>(std::move(out));
          all(std::move(marks),
              [this, alive, sub, result, done](Result<std::vector<RedisReply>> marked) {
                if (!marked.ok())
                  return done(marked.error());
                if (!*alive)
                  return done(unavailable());
                std::vector<size_t> fresh;
                for (size_t i = 0; i < marked->size(); ++i)
                  if (marked.value()[i].integer == 1)
                    fresh.push_back(i);
                if (fresh.empty())
                  return done(std::move(*result));
                auto pending = std::make_shared<size_t>(fresh.size());
                for (size_t i : fresh) {
                  reports_.countRecommendations(
                      sub, (*result)[i].room.region_code, now(), 1,
                      [result, pending, done](Result<bool> counted) {
                        if (!counted.ok())
                          log::warn("recommendation not counted", {{"code", counted.error().code}});
                        if (--*pending == 0)
                          done(std::move(*result));
                      });
                }
              });
        });
      });
    });
  });
}

// ---- the employer's back office -------------------------------------------

void RoomStore::employerOverview(const std::string& employer_id, const Claims& who,
                                 Done<EmployerOverview> done) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (who.role != Role::Admin && !(who.role == Role::Employer && who.employerId() == employer_id)) {
    loop_.post([done] {
      done(Error{"forbidden", "only the employer itself or an admin reads its back office"});
    });
    return;
  }
  auto alive = alive_;
  redis_.command(
      {"ZREVRANGE", keys::employerRooms(employer_id), "0", "199"},
      [this, alive, who, employer_id, done](Result<RedisReply> r) {
        if (!r.ok())
          return done(r.error());
        if (!*alive)
          return done(unavailable());
        std::vector<std::vector<std::string>> reads;
        for (const auto& id : r->elements)
          reads.push_back({"HGETALL", keys::room(id.str)});
        all(std::move(reads),
            [this, alive, who, employer_id, done](Result<std::vector<RedisReply>> hashes) {
              if (!hashes.ok())
                return done(hashes.error());
              if (!*alive)
                return done(unavailable());
              auto overview = std::make_shared<EmployerOverview>();
              for (const auto& h : hashes.value()) {
                auto room = roomFromHash(flatHash(h));
                // Only the rooms this token may run: a token for some rooms sees those.
                if (room && room->employer_id == employer_id && !mayRunRoom(who, *room))
                  overview->rooms.push_back(std::move(*room));
              }
              if (overview->rooms.empty())
                return done(std::move(*overview));
              auto pending = std::make_shared<size_t>(overview->rooms.size());
              auto failed = std::make_shared<std::optional<Error>>();
              for (const auto& room : overview->rooms) {
                listApplications(
                    room.id, 0, 1000, who,
                    [overview, pending, failed, done](Result<ApplicationPage> page) {
                      if (!page.ok())
                        *failed = page.error();
                      else
                        for (auto& item : page->items)
                          overview->applicants.push_back(std::move(item));
                      if (--*pending > 0)
                        return;
                      if (*failed)
                        return done(**failed);
                      std::sort(overview->applicants.begin(), overview->applicants.end(),
                                [](const auto& a, const auto& b) {
                                  return a.application.applied_at != b.application.applied_at
                                             ? a.application.applied_at > b.application.applied_at
                                             : a.application.id > b.application.id;
                                });
                      done(std::move(*overview));
                    });
              }
            });
      });
}

}  // namespace jobcast::rooms
