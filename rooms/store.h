#pragma once
// RoomStore: rooms, job cards, profiles and applications kept in Redis. The one
// place that changes room state: the REST API (signaling/rooms_api.*) and the
// WebSocket channel both call it, so one-click apply is the same idempotent
// operation whichever way it arrives.
//
// Threading: every method must be called on the loop thread; every callback
// runs exactly once, later, on the loop thread (never inside the call).
//
// Atomicity: each change is one Lua script (rooms/*.lua) that updates the room's
// keys (rooms/keys.h) and appends its event to the room's stream, publishing
// the entry id on the room's notify channel (rooms/prelude.lua emit,
// docs/redis-schema.md). A callback reports success only
// after Redis accepted the change.
//
// Errors (Error::code): invalid_field, forbidden, room_not_found, not_found, conflict,
// illegal_transition, room_ended, employer_unverified, profile_required,
// redis_unavailable, internal. Adapters map them to their protocol through one
// catalogue (signaling/errors.h).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/jwt.h"
#include "core/loop.h"
#include "core/redis.h"
#include "core/result.h"
#include "rooms/events.h"
#include "rooms/keys.h"
#include "rooms/model.h"
#include "rooms/report.h"

namespace jobcast::rooms {

template <typename T>
using Done = std::function<void(Result<T>)>;

// A room as a viewer sees it: the room, its jobs, the pinned one, and counts.
struct RoomSnapshot {
  Room room;
  std::vector<JobCard> jobs;  // in the order presented
  int64_t applications = 0;   // total applications in the room
  std::map<std::string, int64_t> applications_by_job;
  std::map<std::string, int64_t> applications_by_key_group;  // staff only in toJson
  std::string last_event_id;  // resume the event stream after this id ("0-0": none yet)

  // `staff` adds the per-key-group counts (aggregates, but sensitive).
  nlohmann::json toJson(bool staff) const;
};

struct ApplyOutcome {
  bool created = false;  // false: the same application as before
  Application application;
};

// An application with the applicant's profile, as the employer reads it.
struct ApplicantView {
  Application application;
  std::optional<Profile> profile;  // nullopt when the jobseeker deleted it
  nlohmann::json toJson() const;
};

struct ApplicationPage {
  int64_t total = 0;
  int64_t offset = 0;
  std::vector<ApplicantView> items;
};

struct RoomFilter {
  std::optional<RoomStatus> status;
  // Rooms scheduled to start in [from, to] (seconds), soonest first, read
  // from the region's index by start (keys::roomsByStart). Without either:
  // every room, newest created first.
  std::optional<int64_t> from;
  std::optional<int64_t> to;
  bool byStart() const { return from || to; }
  std::string region;  // region code prefix ("1501" = Hohhot and below)
  size_t limit = 100;
  std::string cursor;  // where the previous page stopped (RoomPage::next_cursor); empty: newest
  size_t scan_budget = 500;  // rooms looked at per page, matching or not
};

// One page of rooms, newest first (by start: soonest first). `next_cursor` is empty at the end of
// the list; a filtered page may hold fewer than `limit` rooms and still go on.
struct RoomPage {
  std::vector<Room> rooms;
  std::string next_cursor;
};

// A cursor's parts: the room index's score, how many rooms with that score come
// at or before it, and the last room id. nullopt for text that is not a cursor.
struct RoomCursor {
  int64_t score = 0;
  int64_t skip = 0;
  std::string id;
  static std::optional<RoomCursor> parse(const std::string& text);
  std::string str() const;
};

// One job recommended to a jobseeker, with why (codes the pages word:
// same_county, same_city, same_province, wage_at_least (value: the wage
// they look for), wage_below (value), cv_words (words), upcoming, live).
struct Recommendation {
  Room room;
  JobCard job;
  int64_t score = 0;
  nlohmann::json reasons = nlohmann::json::array();
  nlohmann::json toJson() const;
};

// An employer's back office: its rooms and every applicant across them.
struct EmployerOverview {
  std::vector<Room> rooms;
  std::vector<ApplicantView> applicants;  // newest first
};

class RoomStore {
 public:
  struct Options {
    int64_t events_maxlen = kDefaultEventsMaxlen;  // XADD MAXLEN ~ (rooms/prelude.lua)
    int64_t audit_maxlen = 1000000;                // audit stream bound
    std::function<int64_t()> clock;                // seconds since the epoch; default: system clock
  };

  RoomStore(Loop& loop, RedisClient& redis, DataCipher cipher, Options options);
  RoomStore(Loop& loop, RedisClient& redis, DataCipher cipher)
      : RoomStore(loop, redis, std::move(cipher), Options{}) {}
  ~RoomStore();
  RoomStore(const RoomStore&) = delete;
  RoomStore& operator=(const RoomStore&) = delete;

  // ---- employers (admin) ----
  void createEmployer(const EmployerDraft& draft, const Claims& who, Done<Employer> done);
  void verifyEmployer(const std::string& employer_id, const Claims& who, Done<Employer> done);
  // An employer registering itself (no token): pending until verified; its
  // contact is sealed like a profile. conflict when the credit code is taken.
  void registerEmployer(const EmployerRegistration& registration, Done<Employer> done);
  // Admins: verify (from pending, rejected or suspended), reject (from
  // pending) or suspend (from verified), with the reason in the employers'
  // audit stream; illegal_transition otherwise.
  void decideEmployer(const std::string& employer_id, EmployerStatus decision,
                      const std::string& reason, const Claims& who, Done<Employer> done);
  void getEmployer(const std::string& employer_id, Done<Employer> done);
  // Admins: every employer (or those with `status`), oldest registration first,
  // so the ones waiting longest for a decision come first.
  void listEmployers(std::optional<EmployerStatus> status, const Claims& who,
                     Done<std::vector<Employer>> done);

  // ---- rooms ----
  // Admin (any employer_id) or employer (their own). The employer must exist.
  void createRoom(RoomDraft draft, const Claims& who, Done<Room> done);
  void getRoom(const std::string& room_id, Done<Room> done);
  // Anyone may read a snapshot (room, jobs, counts, last event id), taken in one
  // script so a reader can resume the event stream from exactly this state.
  void snapshot(const std::string& room_id, Done<RoomSnapshot> done);
  // Pages through the room index in Redis: reads at most `limit` + 1 index
  // entries and their rooms without a filter, at most `scan_budget` with one.
  void listRooms(const RoomFilter& filter, Done<RoomPage> done);
  // scheduled -> live (the employer must be verified); live -> ended.
  void startRoom(const std::string& room_id, const Claims& who, Done<Room> done);
  void endRoom(const std::string& room_id, const Claims& who, Done<Room> done);
  // Admins and the room's verified employer (employer_unverified otherwise)
  // change a scheduled room: illegal_transition once it is live, ended or
  // cancelled; conflict when another change came in between. Open pages hear
  // room.updated; a new start re-queues the followers' reminders.
  void updateRoom(const std::string& room_id, const RoomEdit& edit, const Claims& who,
                  Done<Room> done);
  // The same people cancel a scheduled room, with a reason: room.status
  // "cancelled"; it never goes live and its reminders are dropped.
  void cancelRoom(const std::string& room_id, const std::string& reason, const Claims& who,
                  Done<Room> done);
  // The same people put a staff account (counsellor, captioner, interpreter:
  // the account's kind names the list) on a scheduled room (`on`) or take it
  // off, while scheduled or live; not_found for an unknown account,
  // invalid_field for another kind.
  // The account's powers in the room follow at once, on REST and WebSocket.
  void assignStaff(const std::string& room_id, const std::string& account_id, bool on,
                   const Claims& who, Done<Room> done);

  // ---- job cards ----
  // The card is validated already (JobCard::fromJson); id and created_at are set here.
  void addJob(const std::string& room_id, JobCard card, const Claims& who, Done<JobCard> done);
  void pinJob(const std::string& room_id, const std::string& job_id, const Claims& who,
              Done<JobCard> done);
  // A counsellor the room lists, or an admin, approves a card awaiting review
  // (illegal_transition otherwise); viewers see it from then on (job.approved).
  void approveJob(const std::string& room_id, const std::string& job_id, const Claims& who,
                  Done<JobCard> done);

  // ---- profiles (jobseeker, their own) ----
  void putProfile(Profile profile, const Claims& who, Done<Profile> done);
  void getProfile(const Claims& who, Done<Profile> done);
  // Removes the personal data; applications and anonymous counts stay.
  void deleteProfile(const Claims& who, Done<bool> done);

  // ---- applications ----
  // One-click apply. Idempotent per (who.sub, job): the first call creates the
  // application (created = true), every later call returns the same one.
  // Needs a profile (profile_required) and a room that has not ended (room_ended).
  void apply(const std::string& room_id, const std::string& job_id, const Claims& who,
             Done<ApplyOutcome> done);
  // Room's employer or admin. Decrypts each applicant's profile and appends one
  // audit entry per applicant read to the room's audit stream (keys::audit) before answering.
  void listApplications(const std::string& room_id, int64_t offset, int64_t limit,
                        const Claims& who, Done<ApplicationPage> done);
  // Room's employer or admin; illegal_transition when the pipeline forbids it.
  void setApplicationStatus(const std::string& application_id, ApplicationStatus status,
                            const Claims& who, Done<Application> done);
  // The jobseeker's own applications, newest first.
  void myApplications(const Claims& who, Done<std::vector<Application>> done);

  // ---- reminders (jobseekers, their own; docs/api.md "Reminders") ----
  // Follows (on) or unfollows a room that has not ended; answers the room.
  // Following queues the room's reminder.due at scheduled_at - lead_s.
  void follow(const std::string& room_id, bool on, int64_t lead_s, const Claims& who,
              Done<Room> done);
  // The rooms the jobseeker follows (ended ones too), soonest first.
  void myFollows(const Claims& who, Done<std::vector<Room>> done);
  // One node's pass over the reminder queue: rooms starting within lead_s get
  // one reminder.due webhook event per follower, exactly once across nodes.
  // Answers how many events were queued. `room_url` makes a room page's URL.
  void remindDue(int64_t lead_s, std::function<std::string(const std::string&)> room_url,
                 Done<int64_t> done);

  // ---- recommendations ----
  // At most `limit` open or upcoming jobs that fit the jobseeker's profile,
  // best first; each is recorded once per person and job and counted in the
  // quarterly report (ReportStore::countRecommendations) the first time.
  void recommend(const Claims& who, size_t limit, Done<std::vector<Recommendation>> done);

  // ---- the employer's back office ----
  // The employer's rooms and all their applicants (employer: its own; admin:
  // any). Each applicant's profile read is audited as in listApplications.
  void employerOverview(const std::string& employer_id, const Claims& who,
                        Done<EmployerOverview> done);

  // New short random id (12 hex characters): room, job and application ids.
  static std::string newId();

 private:
  struct Scripts;
  // apply() once the profile and the room are read.
  void applyInRoom(const Room& room, const std::string& job_id, const std::string& sub,
                   const std::string& group, Done<ApplyOutcome> done);
  void transition(const std::string& room_id, RoomStatus from, RoomStatus to, const Claims& who,
                  Done<Room> done);
  // Runs `fn` with the room once `who` may change it (updateRoom's rules;
  // `live_too`: a live room too).
  void withEditableRoom(const std::string& room_id, const Claims& who, bool live_too,
                        std::function<void(Room)> fn, Done<Room> done);
  // Writes `after` (the room `before` changed: `fields` of its hash) with
  // rooms/update_room.lua, then the indexes by start.
  void writeRoom(const Room& before, Room after, const nlohmann::json& fields, Done<Room> done);
  // The room in the by-start index of each region level it counts in, and
  // out of those of `old_region` it no longer counts in.
  void indexByStart(const Room& room, const std::string& old_region);
  // Runs `fn` with the room after checking it exists; errors go to `fail`.
  void withRoom(const std::string& room_id, std::function<void(Room)> fn,
                std::function<void(Error)> fail);
  // Sends commands together and answers with all replies in order.
  // Adds 1 to each of `fields` in the quarterly report counts of each region
  // the room counts in (rooms/report.h), for the quarter of `at`.
  void countSession(const std::string& room_id, const std::string& region, int64_t at,
                    const std::vector<RedisReply>& session);
  void countInReports(const std::string& region, int64_t at,
                      const std::vector<std::string>& fields);
  void all(std::vector<std::vector<std::string>> commands,
           std::function<void(Result<std::vector<RedisReply>>)> done);
  int64_t now() const;

  Loop& loop_;
  RedisClient& redis_;
  DataCipher cipher_;
  Options options_;
  std::unique_ptr<Scripts> scripts_;
  ReportStore reports_{redis_};  // counts recommendations into the quarterly report
  // Callbacks check this before touching the store: replies may arrive during
  // teardown.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace jobcast::rooms
