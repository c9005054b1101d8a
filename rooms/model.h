#pragma once
// The recruitment domain as data: rooms, employers, job cards, jobseeker profiles
// and applications, with their state machines and input validation. No I/O here;
// RoomStore (rooms/store.h) keeps these in Redis.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace jobcast::rooms {

// Validation errors use code "invalid_field" and a message that starts with the
// field's name and ": " (e.g. "wage_min: must not exceed wage_max"), so adapters
// can name the field to the client. Bad JSON is code "invalid_json".
Error invalidField(const std::string& field, const std::string& why);
// The field named by an invalid_field error, or empty.
std::string fieldOf(const Error& error);

// ---- Room ----------------------------------------------------------------

// scheduled -> live -> ended, or scheduled -> cancelled (never started); nothing else.
enum class RoomStatus { Scheduled, Live, Ended, Cancelled };
const char* roomStatusName(RoomStatus status);
std::optional<RoomStatus> parseRoomStatus(std::string_view name);
bool canTransition(RoomStatus from, RoomStatus to);

struct Room {
  std::string id;
  std::string title;
  std::string region_code;  // administrative division code (2, 4 or 6 digits) or empty
  std::string region_name;  // free text; filled from region_code when known
  std::string employer_id;
  RoomStatus status = RoomStatus::Scheduled;
  int64_t scheduled_at = 0;  // seconds since the epoch
  int64_t ends_at = 0;       // planned end (seconds); 0: not stated (an hour is assumed)
  std::string description;
  int64_t started_at = 0;
  int64_t ended_at = 0;
  int64_t created_at = 0;
  std::vector<std::string> counsellors;   // user ids (token subjects)
  std::vector<std::string> captioners;    // user ids who send captions
  std::vector<std::string> interpreters;  // user ids who sign on the interpreter slot
  std::string pinned_job;                 // job id or empty
  // Job cards wait for a counsellor's or an admin's approval before viewers see them.
  bool require_review = false;
  // Bumped by every edit, reschedule and cancellation: the .ics SEQUENCE.
  int64_t sequence = 0;
  std::string cancel_reason;  // set when cancelled
  int64_t cancelled_at = 0;

  nlohmann::json toJson() const;
};

// What PATCH /rooms/{id} accepts: each field present is changed, the rest
// kept. Checked against the room (and the clock) by RoomEdit::applyTo.
struct RoomEdit {
  std::optional<std::string> title;
  std::optional<std::string> description;
  std::optional<std::string> region_code;
  std::optional<std::string> region_name;
  std::optional<int64_t> scheduled_at;
  std::optional<int64_t> ends_at;  // 0 clears it
  std::optional<bool> require_review;
  bool empty() const {
    return !title && !description && !region_code && !region_name && !scheduled_at && !ends_at &&
           !require_review;
  }
  static Result<RoomEdit> fromJson(const nlohmann::json& body);
  // The room as edited, or invalid_field: ends_at not after scheduled_at, a
  // new start in the past (before `now`).
  Result<Room> applyTo(Room room, int64_t now) const;
};

// The staff lists of a room an account of `kind` (counsellor, captioner,
// interpreter) goes into; nullptr for other kinds.
std::vector<std::string>* staffListOf(Room& room, std::string_view kind);

// What POST /rooms accepts. employer_id is required from admins and taken from
// the token for employers.
struct RoomDraft {
  std::string id;  // preset id for server-side seeding (never from requests); empty: random
  std::string title;
  std::string region_code;
  std::string region_name;
  std::string employer_id;
  int64_t scheduled_at = 0;
  int64_t ends_at = 0;
  std::string description;
  std::vector<std::string> counsellors;
  std::vector<std::string> captioners;
  std::vector<std::string> interpreters;
  bool require_review = false;
  static Result<RoomDraft> fromJson(const nlohmann::json& body);
};

// ---- Employer ------------------------------------------------------------

// pending (registered by itself) -> verified | rejected; verified <-> suspended.
// Only verified employers' rooms go live.
enum class EmployerStatus { Pending, Verified, Rejected, Suspended };
const char* employerStatusName(EmployerStatus status);
std::optional<EmployerStatus> parseEmployerStatus(std::string_view name);

struct Employer {
  std::string id;
  std::string name;
  bool verified = false;
  EmployerStatus status = EmployerStatus::Pending;
  std::string credit_code;  // unified social credit code; empty for employers an admin made
  std::string region_code;
  std::string reason;  // why it was rejected or suspended
  int64_t created_at = 0;
  nlohmann::json toJson() const;
};

// The unified social credit code (统一社会信用代码, GB 32100-2015): 18
// characters from 0-9 and A-Y without I, O, S, V, Z; the last is the check
// character over the first 17.
bool validCreditCode(std::string_view code);
// The check character for the first 17 characters; '\0' when one is not allowed.
char creditCodeCheck(std::string_view first17);

// What POST /employers/register accepts: an employer registering itself.
struct EmployerRegistration {
  std::string name;
  std::string credit_code;
  std::string contact_name;
  std::string contact_phone;
  std::string region_code;
  static Result<EmployerRegistration> fromJson(const nlohmann::json& body);
};

struct EmployerDraft {
  std::string id;  // optional: an id chosen by the admin (e.g. to match tokens' sub)
  std::string name;
  static Result<EmployerDraft> fromJson(const nlohmann::json& body);
};

// ---- Job card ------------------------------------------------------------

enum class WageUnit { Hour, Day, Month, Year, Piece };
const char* wageUnitName(WageUnit unit);
std::optional<WageUnit> parseWageUnit(std::string_view name);

// How a job's working time is organised (a card states one, or none), and
// what a jobseeker accepts (any number; none stated: any).
// full_time, part_time, shifts, seasonal, flexible.
bool validSchedule(std::string_view name);

enum class KeyGroup;

// Frozen inside the room once presented: what a viewer saw is what they applied to.
struct JobCard {
  std::string id;
  std::string title;
  int64_t wage_min = 0;  // in yuan per `wage_unit`
  int64_t wage_max = 0;
  WageUnit wage_unit = WageUnit::Month;
  std::string hours;     // e.g. "8h/day, 5 days"
  std::string schedule;  // validSchedule() or empty
  std::string location;
  std::string housing;  // e.g. "dormitory provided"; empty = none stated
  int64_t headcount = 1;
  std::string description;
  std::string contract_template_url;
  // Key groups the employer especially welcomes for this job (e.g. a post
  // fitted for wheelchair users, or one with a veterans' hiring subsidy).
  // Recommendations rank the job higher for a jobseeker who stated that group.
  std::vector<KeyGroup> open_to;
  int64_t created_at = 0;
  // In a room that requires review: "pending" until approved, then
  // "approved" with who approved it and when. Empty: no review asked.
  std::string review_status;
  std::string reviewed_by;       // the reviewer's sub
  std::string reviewed_by_name;  // and the name shown
  int64_t reviewed_at = 0;
  bool pending() const { return review_status == "pending"; }

  nlohmann::json toJson() const;
  // Validates a client's job card (id and created_at are assigned by the store).
  static Result<JobCard> fromJson(const nlohmann::json& body);
  // Reads a stored card (trusted; still never throws).
  static std::optional<JobCard> fromStored(const std::string& text);
};

// ---- Jobseeker profile ---------------------------------------------------

// Key groups of the employment plan; stated only with their own consent.
enum class KeyGroup {
  Graduate,
  PovertyAlleviated,
  RuralMigrantWorker,
  Veteran,
  RegisteredUnemployed,
  Disability,
  ZeroEmploymentHousehold,
  EmploymentDifficulty,
};
const char* keyGroupName(KeyGroup group);
std::optional<KeyGroup> parseKeyGroup(std::string_view name);

struct Profile {
  std::string name;
  std::string phone;
  std::string cv;                      // short CV text
  std::string region_code;             // where they look for work (2, 4 or 6 digits) or empty
  int64_t wage_min = 0;                // lowest monthly wage (yuan) they look for; 0: any
  std::vector<std::string> schedules;  // validSchedule() names they accept; empty: any
  std::optional<KeyGroup> key_group;   // present only with key_group_consent
  // Consent to state the key group for the service's own reporting and support.
  bool key_group_consent = false;
  // A second, separate consent: the employers applied to may see the key
  // group (e.g. for hiring subsidies). Without it they see only counts.
  // Revocable: a profile saved without it withdraws it.
  bool key_group_shared = false;
  int64_t updated_at = 0;

  nlohmann::json toJson() const;
  // What the employer applied to sees: no key group unless it is shared,
  // and nothing that tells whether one was stated.
  nlohmann::json toEmployerJson() const;
  static Result<Profile> fromJson(const nlohmann::json& body);
  // Plain JSON for sealing (see DataCipher); never logged.
  std::string toSealable() const;
  static std::optional<Profile> fromSealable(const std::string& text);
};

// ---- Application ---------------------------------------------------------

// applied -> viewed -> contacted -> interview -> hired; rejected from any
// step before a decision. One step at a time.
enum class ApplicationStatus { Applied, Viewed, Contacted, Interview, Hired, Rejected };
const char* applicationStatusName(ApplicationStatus status);
std::optional<ApplicationStatus> parseApplicationStatus(std::string_view name);
bool canTransition(ApplicationStatus from, ApplicationStatus to);
// Every status from which `to` may be reached (for the atomic check in Redis).
std::vector<ApplicationStatus> predecessorsOf(ApplicationStatus to);
// The statuses an interview call that took place (completed or dropped) moves
// to Interview: the call is the contact, so it may skip viewed and contacted.
std::vector<ApplicationStatus> callMovesFrom();

// One interview call as an application's history keeps it (no media).
struct InterviewRecord {
  std::string call_id;
  std::string outcome;     // completed, declined, no_show, dropped
  int64_t started_at = 0;  // ms; 0 when it never started
  int64_t ended_at = 0;    // ms
  int64_t duration_s = 0;
};

struct StatusChange {
  ApplicationStatus status = ApplicationStatus::Applied;
  int64_t at = 0;
  std::string by;                            // user id who made the change
  std::optional<InterviewRecord> interview;  // set on an interview call's entry
};

// One per (jobseeker, job card). Holds no personal data: the applicant is a
// user id, the profile is read (and audited) separately.
struct Application {
  std::string id;
  std::string room_id;
  std::string job_id;
  std::string job_title;
  std::string applicant;  // jobseeker's user id
  ApplicationStatus status = ApplicationStatus::Applied;
  int64_t applied_at = 0;
  std::vector<StatusChange> history;

  nlohmann::json toJson() const;
  static std::optional<Application> fromStored(const std::string& text);
};

// ---- Regions -------------------------------------------------------------

// Accepts "" or 2, 4 or 6 digits (province, league/city, banner/county).
bool validRegionCode(const std::string& code);
// The name of a known league/city code of Inner Mongolia ("150100" -> Hohhot), or empty.
std::string regionName(const std::string& code);
// True when `code` lies in `filter` (a prefix in the code hierarchy: "1501" holds "150102").
bool regionWithin(const std::string& code, const std::string& filter);

// True for links pages may show: an absolute http:// or https:// URL with a
// host, or a path on this site ("/..."). Not "//host" (another site), not
// "/\\host" (browsers read "\\" as "/"), not javascript:, data: or any other
// scheme, and no spaces or control characters.
bool isSafeLink(std::string_view link);

// ---- JSON helpers that never throw ---------------------------------------

// Parses request text; invalid_json on failure, invalid_field when not an object.
Result<nlohmann::json> parseObject(std::string_view text);

}  // namespace jobcast::rooms
