#include "rooms/model.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "rooms/regions.h"

namespace jobcast::rooms {

using nlohmann::json;

Error invalidField(const std::string& field, const std::string& why) {
  return Error{"invalid_field", field + ": " + why};
}

std::string fieldOf(const Error& error) {
  if (error.code != "invalid_field")
    return "";
  auto colon = error.message.find(": ");
  return colon == std::string::npos ? "" : error.message.substr(0, colon);
}

namespace {

size_t characters(const std::string& text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// Field readers: each returns an error naming the field, or nothing.
std::optional<Error> readText(const json& body, const char* field, bool required, size_t max_chars,
                              std::string* out) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) {
    if (required)
      return invalidField(field, "is required");
    return std::nullopt;
  }
  if (!it->is_string())
    return invalidField(field, "must be a string");
  std::string value = it->get_ref<const std::string&>();
  // Trim surrounding white space: "  " is not a title.
  auto first = value.find_first_not_of(" \t\r\n");
  auto last = value.find_last_not_of(" \t\r\n");
  value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
  if (required && value.empty())
    return invalidField(field, "must not be empty");
  if (characters(value) > max_chars)
    return invalidField(field, "must be at most " + std::to_string(max_chars) + " characters");
  for (unsigned char c : value) {
    if (c < 0x20 && c != '\n' && c != '\t')
      return invalidField(field, "must not contain control characters");
  }
  *out = std::move(value);
  return std::nullopt;
}

std::optional<Error> readInt(const json& body, const char* field, bool required, int64_t min,
                             int64_t max, int64_t* out) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) {
    if (required)
      return invalidField(field, "is required");
    return std::nullopt;
  }
  if (!it->is_number_integer())
    return invalidField(field, "must be a whole number");
  int64_t value = it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX)
                      ? INT64_MAX
                      : it->get<int64_t>();
  if (value < min || value > max)
    return invalidField(field,
                        "must be between " + std::to_string(min) + " and " + std::to_string(max));
  *out = value;
  return std::nullopt;
}

std::optional<Error> readBool(const json& body, const char* field, bool* out) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null())
    return std::nullopt;
  if (!it->is_boolean())
    return invalidField(field, "must be true or false");
  *out = it->get<bool>();
  return std::nullopt;
}

std::string str(const json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
int64_t num(const json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

bool validUserId(const std::string& id) {
  if (id.empty() || id.size() > 128)
    return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '@' || c == ':';
  });
}

}  // namespace

Result<json> parseObject(std::string_view text) {
  json body = json::parse(text.begin(), text.end(), nullptr, false);
  if (body.is_discarded())
    return Error{"invalid_json", "the body is not valid JSON"};
  if (!body.is_object())
    return Error{"invalid_json", "the body must be a JSON object"};
  return body;
}

// ---- Room ----------------------------------------------------------------

const char* roomStatusName(RoomStatus status) {
  switch (status) {
    case RoomStatus::Scheduled:
      return "scheduled";
    case RoomStatus::Live:
      return "live";
    case RoomStatus::Ended:
      return "ended";
    case RoomStatus::Cancelled:
      return "cancelled";
  }
  return "scheduled";
}

std::optional<RoomStatus> parseRoomStatus(std::string_view name) {
  if (name == "scheduled")
    return RoomStatus::Scheduled;
  if (name == "live")
    return RoomStatus::Live;
  if (name == "ended")
    return RoomStatus::Ended;
  if (name == "cancelled")
    return RoomStatus::Cancelled;
  return std::nullopt;
}

bool canTransition(RoomStatus from, RoomStatus to) {
  return (from == RoomStatus::Scheduled && to == RoomStatus::Live) ||
         (from == RoomStatus::Live && to == RoomStatus::Ended) ||
         (from == RoomStatus::Scheduled && to == RoomStatus::Cancelled);
}

json Room::toJson() const {
  return {{"id", id},
          {"title", title},
          {"region_code", region_code},
          {"region_name", region_name},
          {"employer_id", employer_id},
          {"status", roomStatusName(status)},
          {"scheduled_at", scheduled_at},
          {"started_at", started_at},
          {"ended_at", ended_at},
          {"created_at", created_at},
          {"counsellors", counsellors},
          {"captioners", captioners},
          {"interpreters", interpreters},
          {"pinned_job", pinned_job.empty() ? json(nullptr) : json(pinned_job)},
          {"require_review", require_review},
          {"description", description},
          {"ends_at", ends_at == 0 ? json(nullptr) : json(ends_at)},
          {"sequence", sequence},
          {"cancel_reason", cancel_reason.empty() ? json(nullptr) : json(cancel_reason)},
          {"cancelled_at", cancelled_at == 0 ? json(nullptr) : json(cancelled_at)}};
}

std::vector<std::string>* staffListOf(Room& room, std::string_view kind) {
  if (kind == "counsellor")
    return &room.counsellors;
  if (kind == "captioner")
    return &room.captioners;
  if (kind == "interpreter")
    return &room.interpreters;
  return nullptr;
}

Result<RoomEdit> RoomEdit::fromJson(const json& body) {
  RoomEdit edit;
  auto text = [&](const char* field, size_t max, bool nonempty,
                  std::optional<std::string>* out) -> std::optional<Error> {
    if (!body.contains(field))
      return std::nullopt;
    std::string value;
    if (auto e = readText(body, field, nonempty, max, &value))
      return e;
    *out = value;
    return std::nullopt;
  };
  if (auto e = text("title", 200, true, &edit.title))
    return *e;
  if (auto e = text("description", 2000, false, &edit.description))
    return *e;
  if (auto e = text("region_code", 12, false, &edit.region_code))
    return *e;
  if (edit.region_code && !validRegionCode(*edit.region_code))
    return invalidField("region_code", "must be 2, 4 or 6 digits (administrative division code)");
  if (edit.region_code && !knownRegion(*edit.region_code))
    return invalidField("region_code", "is not a known region");
  if (auto e = text("region_name", 100, false, &edit.region_name))
    return *e;
  if (edit.region_code && !edit.region_name)
    edit.region_name = regionName(*edit.region_code);
  int64_t v = 0;
  if (body.contains("scheduled_at")) {
    if (auto e = readInt(body, "scheduled_at", true, 0, int64_t{1} << 40, &v))
      return *e;
    edit.scheduled_at = v;
  }
  if (body.contains("ends_at")) {
    v = 0;
    if (auto e = readInt(body, "ends_at", false, 0, int64_t{1} << 40, &v))
      return *e;
    edit.ends_at = v;
  }
  if (body.contains("require_review")) {
    bool b = false;
    if (auto e = readBool(body, "require_review", &b))
      return *e;
    edit.require_review = b;
  }
  if (edit.empty())
    return invalidField("body", "nothing to change: name at least one field");
  return edit;
}

Result<Room> RoomEdit::applyTo(Room room, int64_t now) const {
  if (title)
    room.title = *title;
  if (description)
    room.description = *description;
  if (region_code)
    room.region_code = *region_code;
  if (region_name)
    room.region_name = *region_name;
  if (scheduled_at) {
    if (*scheduled_at < now)
      return invalidField("scheduled_at", "must not be in the past");
    room.scheduled_at = *scheduled_at;
  }
  if (ends_at)
    room.ends_at = *ends_at;
  if (require_review)
    room.require_review = *require_review;
  if (room.ends_at != 0 && room.ends_at <= room.scheduled_at)
    return invalidField("ends_at", "must be after scheduled_at");
  return room;
}

Result<RoomDraft> RoomDraft::fromJson(const json& body) {
  RoomDraft d;
  if (auto e = readText(body, "title", true, 200, &d.title))
    return *e;
  if (auto e = readText(body, "region_code", false, 12, &d.region_code))
    return *e;
  if (!validRegionCode(d.region_code))
    return invalidField("region_code", "must be 2, 4 or 6 digits (administrative division code)");
  if (auto e = readText(body, "region_name", false, 100, &d.region_name))
    return *e;
  if (d.region_name.empty())
    d.region_name = regionName(d.region_code);
  if (auto e = readText(body, "employer_id", false, 128, &d.employer_id))
    return *e;
  if (!d.employer_id.empty() && !validUserId(d.employer_id))
    return invalidField("employer_id", "is not a valid id");
  if (auto e = readInt(body, "scheduled_at", true, 0, int64_t{1} << 40, &d.scheduled_at))
    return *e;
  if (auto e = readInt(body, "ends_at", false, 0, int64_t{1} << 40, &d.ends_at))
    return *e;
  if (d.ends_at != 0 && d.ends_at <= d.scheduled_at)
    return invalidField("ends_at", "must be after scheduled_at");
  if (auto e = readText(body, "description", false, 2000, &d.description))
    return *e;
  for (auto [name, list] :
       {std::pair{"counsellors", &d.counsellors}, std::pair{"captioners", &d.captioners},
        std::pair{"interpreters", &d.interpreters}}) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null())
      continue;
    if (!it->is_array() || it->size() > 20)
      return invalidField(name, "must be a list of at most 20 user ids");
    for (const auto& c : *it) {
      if (!c.is_string() || !validUserId(c.get<std::string>()))
        return invalidField(name, "must hold user ids");
      list->push_back(c.get<std::string>());
    }
  }
  if (auto it = body.find("require_review"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean())
      return invalidField("require_review", "must be true or false");
    d.require_review = it->get<bool>();
  }
  return d;
}

// ---- Employer ------------------------------------------------------------

const char* employerStatusName(EmployerStatus status) {
  switch (status) {
    case EmployerStatus::Pending:
      return "pending";
    case EmployerStatus::Verified:
      return "verified";
    case EmployerStatus::Rejected:
      return "rejected";
    case EmployerStatus::Suspended:
      return "suspended";
  }
  return "pending";
}

std::optional<EmployerStatus> parseEmployerStatus(std::string_view name) {
  for (auto s : {EmployerStatus::Pending, EmployerStatus::Verified, EmployerStatus::Rejected,
                 EmployerStatus::Suspended})
    if (name == employerStatusName(s))
      return s;
  return std::nullopt;
}

json Employer::toJson() const {
  json j = {{"id", id},
            {"name", name},
            {"verified", verified},
            {"status", employerStatusName(status)},
            {"created_at", created_at}};
  if (!credit_code.empty())
    j["credit_code"] = credit_code;
  if (!region_code.empty())
    j["region_code"] = region_code;
  if (!reason.empty())
    j["reason"] = reason;
  return j;
}

namespace {
// GB 32100-2015: the 31 characters a code is written in, by value, and the
// weights of its first 17 positions (3^i mod 31).
constexpr std::string_view kCreditCodeChars = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr int kCreditCodeWeights[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                        29, 25, 13, 8,  24, 10, 30, 28};
}  // namespace

char creditCodeCheck(std::string_view first17) {
  if (first17.size() != 17)
    return '\0';
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) {
    auto value = kCreditCodeChars.find(first17[i]);
    if (value == std::string_view::npos)
      return '\0';
    sum += static_cast<int>(value) * kCreditCodeWeights[i];
  }
  return kCreditCodeChars[(31 - sum % 31) % 31];
}

bool validCreditCode(std::string_view code) {
  if (code.size() != 18)
    return false;
  for (size_t i = 2; i < 8; ++i)  // the registering authority's administrative division code
    if (!std::isdigit(static_cast<unsigned char>(code[i])))
      return false;
  char check = creditCodeCheck(code.substr(0, 17));
  return check != '\0' && check == code[17];
}

Result<EmployerRegistration> EmployerRegistration::fromJson(const json& body) {
  EmployerRegistration r;
  if (auto e = readText(body, "name", true, 200, &r.name))
    return *e;
  if (auto e = readText(body, "credit_code", true, 18, &r.credit_code))
    return *e;
  if (!validCreditCode(r.credit_code))
    return invalidField("credit_code",
                        "not a valid unified social credit code (18 characters, check character "
                        "per GB 32100-2015)");
  if (auto e = readText(body, "contact_name", true, 100, &r.contact_name))
    return *e;
  if (auto e = readText(body, "contact_phone", true, 20, &r.contact_phone))
    return *e;
  size_t digits = 0;
  for (char c : r.contact_phone) {
    if (std::isdigit(static_cast<unsigned char>(c)))
      ++digits;
    else if (c != '+' && c != '-' && c != ' ')
      return invalidField("contact_phone", "may hold only digits, spaces, + and -");
  }
  if (digits < 5)
    return invalidField("contact_phone", "must hold at least 5 digits");
  if (auto e = readText(body, "region_code", true, 12, &r.region_code))
    return *e;
  if (!validRegionCode(r.region_code))
    return invalidField("region_code", "must be 2, 4 or 6 digits (administrative division code)");
  return r;
}

Result<EmployerDraft> EmployerDraft::fromJson(const json& body) {
  EmployerDraft d;
  if (auto e = readText(body, "name", true, 200, &d.name))
    return *e;
  if (auto e = readText(body, "id", false, 64, &d.id))
    return *e;
  if (!d.id.empty() && !validUserId(d.id))
    return invalidField("id", "may hold only letters, digits and - _ . @ :");
  return d;
}

// ---- Job card ------------------------------------------------------------

const char* wageUnitName(WageUnit unit) {
  switch (unit) {
    case WageUnit::Hour:
      return "hour";
    case WageUnit::Day:
      return "day";
    case WageUnit::Month:
      return "month";
    case WageUnit::Year:
      return "year";
    case WageUnit::Piece:
      return "piece";
  }
  return "month";
}

std::optional<WageUnit> parseWageUnit(std::string_view name) {
  for (auto unit :
       {WageUnit::Hour, WageUnit::Day, WageUnit::Month, WageUnit::Year, WageUnit::Piece}) {
    if (name == wageUnitName(unit))
      return unit;
  }
  return std::nullopt;
}

namespace {
constexpr std::array<const char*, 5> kSchedules = {"full_time", "part_time", "shifts", "seasonal",
                                                   "flexible"};

// A list of schedule names, at most one of each.
std::optional<Error> readSchedules(const json& body, const char* field,
                                   std::vector<std::string>* out) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null())
    return std::nullopt;
  if (!it->is_array() || it->size() > kSchedules.size())
    return invalidField(field, "must be a list of at most 5 schedules");
  for (const auto& v : *it) {
    if (!v.is_string() || !validSchedule(v.get<std::string>()))
      return invalidField(field,
                          "each must be one of full_time, part_time, shifts, seasonal, flexible");
    if (std::find(out->begin(), out->end(), v.get<std::string>()) == out->end())
      out->push_back(v.get<std::string>());
  }
  return std::nullopt;
}

json keyGroupNames(const std::vector<KeyGroup>& groups) {
  json out = json::array();
  for (auto g : groups)
    out.push_back(keyGroupName(g));
  return out;
}
}  // namespace

bool validSchedule(std::string_view name) {
  return std::find(kSchedules.begin(), kSchedules.end(), name) != kSchedules.end();
}

json JobCard::toJson() const {
  json out = {{"id", id},
              {"title", title},
              {"wage_min", wage_min},
              {"wage_max", wage_max},
              {"wage_unit", wageUnitName(wage_unit)},
              {"hours", hours},
              {"schedule", schedule},
              {"location", location},
              {"housing", housing},
              {"headcount", headcount},
              {"description", description},
              {"contract_template_url", contract_template_url},
              {"open_to", keyGroupNames(open_to)},
              {"created_at", created_at}};
  if (!review_status.empty()) {
    json review = {{"status", review_status}};
    if (!reviewed_by.empty())
      review.update({{"by", reviewed_by}, {"by_name", reviewed_by_name}, {"at", reviewed_at}});
    out["review"] = review;
  }
  return out;
}

Result<JobCard> JobCard::fromJson(const json& body) {
  JobCard j;
  constexpr int64_t kMaxWage = 10'000'000;
  if (auto e = readText(body, "title", true, 100, &j.title))
    return *e;
  if (auto e = readInt(body, "wage_min", true, 0, kMaxWage, &j.wage_min))
    return *e;
  if (auto e = readInt(body, "wage_max", true, 0, kMaxWage, &j.wage_max))
    return *e;
  if (j.wage_min > j.wage_max)
    return invalidField("wage_min", "must not exceed wage_max");
  std::string unit;
  if (auto e = readText(body, "wage_unit", true, 10, &unit))
    return *e;
  auto parsed_unit = parseWageUnit(unit);
  if (!parsed_unit)
    return invalidField("wage_unit", "must be one of hour, day, month, year, piece");
  j.wage_unit = *parsed_unit;
  if (auto e = readText(body, "hours", true, 100, &j.hours))
    return *e;
  if (auto e = readText(body, "schedule", false, 20, &j.schedule))
    return *e;
  if (!j.schedule.empty() && !validSchedule(j.schedule))
    return invalidField("schedule",
                        "must be one of full_time, part_time, shifts, seasonal, flexible");
  if (auto e = readText(body, "location", true, 200, &j.location))
    return *e;
  if (auto e = readText(body, "housing", false, 100, &j.housing))
    return *e;
  if (auto e = readInt(body, "headcount", true, 1, 100000, &j.headcount))
    return *e;
  if (auto e = readText(body, "description", false, 4000, &j.description))
    return *e;
  if (auto e = readText(body, "contract_template_url", false, 500, &j.contract_template_url))
    return *e;
  if (!j.contract_template_url.empty() && !isSafeLink(j.contract_template_url)) {
    return invalidField("contract_template_url", "must be an http(s) URL or a path on this site");
  }
  if (auto it = body.find("open_to"); it != body.end() && !it->is_null()) {
    if (!it->is_array() || it->size() > 8)
      return invalidField("open_to", "must be a list of at most 8 key groups");
    for (const auto& v : *it) {
      auto group = v.is_string() ? parseKeyGroup(v.get<std::string>()) : std::nullopt;
      if (!group)
        return invalidField("open_to", "each must be a key group (see key_group of a profile)");
      if (std::find(j.open_to.begin(), j.open_to.end(), *group) == j.open_to.end())
        j.open_to.push_back(*group);
    }
  }
  return j;
}

bool isSafeLink(std::string_view link) {
  for (unsigned char c : link) {
    if (c <= 0x20 || c == 0x7f || c == '\\')
      return false;
  }
  std::string_view rest;
  if (link.rfind("https://", 0) == 0) {
    rest = link.substr(8);
  } else if (link.rfind("http://", 0) == 0) {
    rest = link.substr(7);
  } else {
    return link.size() >= 1 && link[0] == '/' && (link.size() == 1 || link[1] != '/');
  }
  // A host must follow: not empty, not another slash.
  return !rest.empty() && rest[0] != '/' && rest[0] != '?' && rest[0] != '#';
}

std::optional<JobCard> JobCard::fromStored(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object())
    return std::nullopt;
  JobCard c;
  c.id = str(j, "id");
  c.title = str(j, "title");
  c.wage_min = num(j, "wage_min");
  c.wage_max = num(j, "wage_max");
  c.wage_unit = parseWageUnit(str(j, "wage_unit")).value_or(WageUnit::Month);
  c.hours = str(j, "hours");
  c.schedule = str(j, "schedule");
  c.location = str(j, "location");
  c.housing = str(j, "housing");
  c.headcount = num(j, "headcount");
  c.description = str(j, "description");
  c.contract_template_url = str(j, "contract_template_url");
  if (auto it = j.find("open_to"); it != j.end() && it->is_array()) {
    for (const auto& v : *it)
      if (auto g = v.is_string() ? parseKeyGroup(v.get<std::string>()) : std::nullopt)
        c.open_to.push_back(*g);
  }
  c.created_at = num(j, "created_at");
  if (auto it = j.find("review"); it != j.end() && it->is_object()) {
    c.review_status = str(*it, "status");
    c.reviewed_by = str(*it, "by");
    c.reviewed_by_name = str(*it, "by_name");
    c.reviewed_at = num(*it, "at");
  }
  return c;
}

// ---- Profile -------------------------------------------------------------

namespace {
constexpr std::array<std::pair<KeyGroup, const char*>, 8> kKeyGroups = {{
    {KeyGroup::Graduate, "graduate"},
    {KeyGroup::PovertyAlleviated, "poverty_alleviated"},
    {KeyGroup::RuralMigrantWorker, "rural_migrant_worker"},
    {KeyGroup::Veteran, "veteran"},
    {KeyGroup::RegisteredUnemployed, "registered_unemployed"},
    {KeyGroup::Disability, "disability"},
    {KeyGroup::ZeroEmploymentHousehold, "zero_employment_household"},
    {KeyGroup::EmploymentDifficulty, "employment_difficulty"},
}};
}  // namespace

const char* keyGroupName(KeyGroup group) {
  for (const auto& [g, name] : kKeyGroups) {
    if (g == group)
      return name;
  }
  return "graduate";
}

std::optional<KeyGroup> parseKeyGroup(std::string_view name) {
  for (const auto& [g, n] : kKeyGroups) {
    if (name == n)
      return g;
  }
  return std::nullopt;
}

json Profile::toJson() const {
  return {{"name", name},
          {"phone", phone},
          {"cv", cv},
          {"region_code", region_code},
          {"wage_min", wage_min},
          {"schedules", schedules},
          {"key_group", key_group ? json(keyGroupName(*key_group)) : json(nullptr)},
          {"key_group_consent", key_group_consent},
          {"key_group_shared_with_employers", key_group_shared},
          {"updated_at", updated_at}};
}

json Profile::toEmployerJson() const {
  return {{"name", name},
          {"phone", phone},
          {"cv", cv},
          {"key_group",
           key_group && key_group_shared ? json(keyGroupName(*key_group)) : json(nullptr)}};
}

Result<Profile> Profile::fromJson(const json& body) {
  Profile p;
  if (auto e = readText(body, "name", true, 100, &p.name))
    return *e;
  if (auto e = readText(body, "phone", true, 20, &p.phone))
    return *e;
  size_t digits = 0;
  for (char c : p.phone) {
    if (std::isdigit(static_cast<unsigned char>(c)))
      ++digits;
    else if (c != '+' && c != '-' && c != ' ')
      return invalidField("phone", "may hold only digits, spaces, + and -");
  }
  if (digits < 5)
    return invalidField("phone", "must hold at least 5 digits");
  if (auto e = readText(body, "cv", false, 2000, &p.cv))
    return *e;
  if (auto e = readText(body, "region_code", false, 6, &p.region_code))
    return *e;
  if (!validRegionCode(p.region_code))
    return invalidField("region_code", "must be 2, 4 or 6 digits");
  if (auto it = body.find("wage_min"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 10000000)
      return invalidField("wage_min", "must be a whole number from 0 to 10000000");
    p.wage_min = it->get<int64_t>();
  }
  if (auto e = readSchedules(body, "schedules", &p.schedules))
    return *e;
  if (auto e = readBool(body, "key_group_consent", &p.key_group_consent))
    return *e;
  std::string group;
  if (auto e = readText(body, "key_group", false, 40, &group))
    return *e;
  if (!group.empty()) {
    auto parsed = parseKeyGroup(group);
    if (!parsed)
      return invalidField("key_group",
                          "must be one of graduate, poverty_alleviated, rural_migrant_worker, "
                          "veteran, registered_unemployed, disability, "
                          "zero_employment_household, employment_difficulty");
    if (!p.key_group_consent)
      return invalidField("key_group_consent",
                          "must be true to store a key group (separate consent)");
    p.key_group = parsed;
  }
  if (auto e = readBool(body, "key_group_shared_with_employers", &p.key_group_shared))
    return *e;
  if (p.key_group_shared && !p.key_group)
    return invalidField("key_group_shared_with_employers",
                        "needs a key group stated with its consent");
  return p;
}

std::string Profile::toSealable() const {
  json j = toJson();
  return j.dump();
}

std::optional<Profile> Profile::fromSealable(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object())
    return std::nullopt;
  Profile p;
  p.name = str(j, "name");
  p.phone = str(j, "phone");
  p.cv = str(j, "cv");
  p.region_code = str(j, "region_code");
  p.wage_min = num(j, "wage_min");
  if (auto it = j.find("schedules"); it != j.end() && it->is_array()) {
    for (const auto& v : *it)
      if (v.is_string() && validSchedule(v.get<std::string>()))
        p.schedules.push_back(v.get<std::string>());
  }
  auto consent = j.find("key_group_consent");
  p.key_group_consent = consent != j.end() && consent->is_boolean() && consent->get<bool>();
  if (p.key_group_consent)
    p.key_group = parseKeyGroup(str(j, "key_group"));
  auto shared = j.find("key_group_shared_with_employers");
  p.key_group_shared =
      p.key_group && shared != j.end() && shared->is_boolean() && shared->get<bool>();
  p.updated_at = num(j, "updated_at");
  return p;
}

// ---- Application ---------------------------------------------------------

const char* applicationStatusName(ApplicationStatus status) {
  switch (status) {
    case ApplicationStatus::Applied:
      return "applied";
    case ApplicationStatus::Viewed:
      return "viewed";
    case ApplicationStatus::Contacted:
      return "contacted";
    case ApplicationStatus::Interview:
      return "interview";
    case ApplicationStatus::Hired:
      return "hired";
    case ApplicationStatus::Rejected:
      return "rejected";
  }
  return "applied";
}

std::optional<ApplicationStatus> parseApplicationStatus(std::string_view name) {
  for (auto s :
       {ApplicationStatus::Applied, ApplicationStatus::Viewed, ApplicationStatus::Contacted,
        ApplicationStatus::Interview, ApplicationStatus::Hired, ApplicationStatus::Rejected}) {
    if (name == applicationStatusName(s))
      return s;
  }
  return std::nullopt;
}

bool canTransition(ApplicationStatus from, ApplicationStatus to) {
  using S = ApplicationStatus;
  switch (from) {
    case S::Applied:
      return to == S::Viewed || to == S::Rejected;
    case S::Viewed:
      return to == S::Contacted || to == S::Rejected;
    case S::Contacted:
      return to == S::Interview || to == S::Rejected;
    case S::Interview:
      return to == S::Hired || to == S::Rejected;
    case S::Hired:
    case S::Rejected:
      return false;
  }
  return false;
}

std::vector<ApplicationStatus> predecessorsOf(ApplicationStatus to) {
  std::vector<ApplicationStatus> out;
  for (auto s :
       {ApplicationStatus::Applied, ApplicationStatus::Viewed, ApplicationStatus::Contacted,
        ApplicationStatus::Interview, ApplicationStatus::Hired, ApplicationStatus::Rejected}) {
    if (canTransition(s, to))
      out.push_back(s);
  }
  return out;
}

std::vector<ApplicationStatus> callMovesFrom() {
  return {ApplicationStatus::Applied, ApplicationStatus::Viewed, ApplicationStatus::Contacted};
}

json Application::toJson() const {
  json changes = json::array();
  for (const auto& c : history) {
    json change{{"status", applicationStatusName(c.status)}, {"at", c.at}, {"by", c.by}};
    if (c.interview) {
      change["interview"] = {{"call_id", c.interview->call_id},
                             {"outcome", c.interview->outcome},
                             {"started_at", c.interview->started_at},
                             {"ended_at", c.interview->ended_at},
                             {"duration_s", c.interview->duration_s}};
    }
    changes.push_back(std::move(change));
  }
  return {{"id", id},
          {"room_id", room_id},
          {"job_id", job_id},
          {"job_title", job_title},
          {"applicant", applicant},
          {"status", applicationStatusName(status)},
          {"applied_at", applied_at},
          {"history", changes}};
}

std::optional<Application> Application::fromStored(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object())
    return std::nullopt;
  Application a;
  a.id = str(j, "id");
  a.room_id = str(j, "room_id");
  a.job_id = str(j, "job_id");
  a.job_title = str(j, "job_title");
  a.applicant = str(j, "applicant");
  a.status = parseApplicationStatus(str(j, "status")).value_or(ApplicationStatus::Applied);
  a.applied_at = num(j, "applied_at");
  if (auto h = j.find("history"); h != j.end() && h->is_array()) {
    for (const auto& c : *h) {
      if (!c.is_object())
        continue;
      StatusChange change{
          parseApplicationStatus(str(c, "status")).value_or(ApplicationStatus::Applied),
          num(c, "at"), str(c, "by"), std::nullopt};
      if (auto i = c.find("interview"); i != c.end() && i->is_object()) {
        change.interview =
            InterviewRecord{str(*i, "call_id"), str(*i, "outcome"), num(*i, "started_at"),
                            num(*i, "ended_at"), num(*i, "duration_s")};
      }
      a.history.push_back(std::move(change));
    }
  }
  return a;
}

// ---- Regions -------------------------------------------------------------

bool validRegionCode(const std::string& code) {
  if (code.empty())
    return true;
  if (code.size() != 2 && code.size() != 4 && code.size() != 6)
    return false;
  return std::all_of(code.begin(), code.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string regionName(const std::string& code) {
  // Leagues and cities of Inner Mongolia (GB/T 2260); banners and counties
  // below them carry free-text names.
  static const std::array<std::pair<const char*, const char*>, 13> kRegions = {{
      {"15", "Inner Mongolia"},
      {"150100", "Hohhot"},
      {"150200", "Baotou"},
      {"150300", "Wuhai"},
      {"150400", "Chifeng"},
      {"150500", "Tongliao"},
      {"150600", "Ordos"},
      {"150700", "Hulunbuir"},
      {"150800", "Bayannur"},
      {"150900", "Ulanqab"},
      {"152200", "Hinggan League"},
      {"152500", "Xilingol League"},
      {"152900", "Alxa League"},
  }};
  std::string full = code.size() == 4 ? code + "00" : code;
  for (const auto& [c, name] : kRegions) {
    if (full == c)
      return name;
  }
  return "";
}

bool regionWithin(const std::string& code, const std::string& filter) {
  if (filter.empty())
    return true;
  // "150100" as a filter means the whole league/city: compare without trailing "00"s.
  std::string prefix = filter;
  while (prefix.size() > 2 && prefix.size() % 2 == 0 && prefix.substr(prefix.size() - 2) == "00")
    prefix.resize(prefix.size() - 2);
  return code.rfind(prefix, 0) == 0;
}

}  // namespace jobcast::rooms
