#include "rooms/report.h"

#include <ctime>
#include <set>
#include <utility>

#include "rooms/keys.h"
#include "rooms/model.h"
#include "rooms/report_scripts.h"

namespace jobcast::rooms {

using nlohmann::json;

namespace {

constexpr int64_t kChinaUtcOffset = 8 * 3600;

const std::vector<KeyGroup>& allKeyGroups() {
  static const std::vector<KeyGroup> groups = {
      KeyGroup::Graduate,
      KeyGroup::PovertyAlleviated,
      KeyGroup::RuralMigrantWorker,
      KeyGroup::Veteran,
      KeyGroup::RegisteredUnemployed,
      KeyGroup::Disability,
      KeyGroup::ZeroEmploymentHousehold,
      KeyGroup::EmploymentDifficulty,
  };
  return groups;
}

int64_t toInt(const std::string& s) {
  return std::strtoll(s.c_str(), nullptr, 10);
}

// Sends commands together; `done` gets every reply in order, or the first
// failure (a Redis error reply counts as one).
void batch(RedisClient& redis, std::vector<std::vector<std::string>> commands,
           std::function<void(Result<std::vector<RedisReply>>)> done) {
  struct State {
    std::vector<RedisReply> replies;
    size_t left = 0;
    std::optional<Error> failed;
    std::function<void(Result<std::vector<RedisReply>>)> done;
  };
  auto state = std::make_shared<State>();
  state->replies.resize(commands.size());
  state->left = commands.size();
  state->done = std::move(done);
  if (commands.empty()) {
    // Never inside the call: the loop runs the answer (see RoomStore's contract).
    redis.command({"PING"},
                  [state](Result<RedisReply>) { state->done(std::vector<RedisReply>{}); });
    return;
  }
  for (size_t i = 0; i < commands.size(); ++i) {
    redis.command(std::move(commands[i]), [state, i](Result<RedisReply> r) {
      if (!r.ok())
        state->failed = r.error();
      else if (r->isError())
        state->failed = Error{"internal", "the store refused a report read"};
      else
        state->replies[i] = std::move(r.value());
      if (--state->left > 0)
        return;
      if (state->failed)
        return state->done(*state->failed);
      state->done(std::move(state->replies));
    });
  }
}

void add(ReportFigures& into, const std::map<std::string, std::string>& counts) {
  auto get = [&](const char* field) {
    auto it = counts.find(field);
    return it == counts.end() ? 0 : toInt(it->second);
  };
  into.sessions += get("sessions");
  into.jobs += get("jobs");
  into.headcount += get("headcount");
  into.applications += get("applications");
  into.interviews += get("interviews");
  into.hires += get("hires");
  into.recommendations += get("recommendations");
  into.people_reached_3 += get("people_3plus");
  for (auto g : allKeyGroups()) {
    std::string name = keyGroupName(g);
    into.applications_by_key_group[name] += get(("group:" + name).c_str());
  }
}

// The counted figures by their report key: the JSON fields and the table's
// columns alike (the key groups and the per-person ratio aside).
const std::vector<std::pair<const char*, int64_t ReportFigures::*>>& countedFigures() {
  static const std::vector<std::pair<const char*, int64_t ReportFigures::*>> figures = {
      {"sessions", &ReportFigures::sessions},
      {"employers", &ReportFigures::employers},
      {"jobs", &ReportFigures::jobs},
      {"headcount", &ReportFigures::headcount},
      {"unique_viewers", &ReportFigures::unique_viewers},
      {"applications", &ReportFigures::applications},
      {"interviews", &ReportFigures::interviews},
      {"hires", &ReportFigures::hires},
      {"recommendations", &ReportFigures::recommendations},
      {"people_recommended", &ReportFigures::people_recommended},
      {"people_reached_3_recommendations", &ReportFigures::people_reached_3},
  };
  return figures;
}

json regionJson(const Region& r) {
  return {{"code", r.code.empty() ? json(nullptr) : json(r.code)},
          {"parent", r.parent.empty() ? json(nullptr) : json(r.parent)},
          {"level", r.level},
          {"name", {{"zh", r.zh}, {"mn", r.mn.empty() ? r.zh : r.mn}, {"en", r.en}}}};
}

}  // namespace

std::string Quarter::str() const {
  return std::to_string(year) + "Q" + std::to_string(quarter);
}

Quarter Quarter::of(int64_t epoch_seconds) {
  time_t local = static_cast<time_t>(epoch_seconds + kChinaUtcOffset);
  std::tm tm{};
  gmtime_r(&local, &tm);
  return Quarter{tm.tm_year + 1900, tm.tm_mon / 3 + 1};
}

std::vector<std::string> reportCountKeys(const std::string& region_code, int64_t at) {
  std::string q = Quarter::of(at).str();
  std::vector<std::string> out;
  for (const auto& level : regionLevels(region_code))
    out.push_back(keys::reportCounts(level, q));
  return out;
}

double ReportFigures::recommendationsPerPerson() const {
  return people_recommended > 0
             ? static_cast<double>(recommendations) / static_cast<double>(people_recommended)
             : 0.0;
}

json ReportFigures::toJson() const {
  json out = json::object();
  for (const auto& [key, member] : countedFigures())
    out[key] = this->*member;
  json groups = json::object();
  for (const auto& [g, n] : applications_by_key_group)
    groups[g] = n;
  out["applications_by_key_group"] = std::move(groups);
  out["recommendations_per_person"] = recommendationsPerPerson();
  return out;
}

json QuarterlyReport::toJson() const {
  json rows = json::array();
  for (const auto& r : regions) {
    rows.push_back({{"region", regionJson(r.region)},
                    {"quarter", r.quarter.toJson()},
                    {"year_to_date", r.year_to_date.toJson()}});
  }
  return {{"year", quarter.year},
          {"quarter", quarter.quarter},
          {"period", quarter.str()},
          {"region", regionJson(total.region)},
          {"figures", total.quarter.toJson()},
          {"year_to_date", total.year_to_date.toJson()},
          {"regions", rows}};
}

json YearlyReport::toJson() const {
  json qs = json::array();
  for (const auto& q : quarters)
    qs.push_back(q.toJson());
  json rows = json::array();
  for (const auto& [r, f] : regions)
    rows.push_back({{"region", regionJson(r)}, {"figures", f.toJson()}});
  return {{"year", year},
          {"region", regionJson(region)},
          {"quarters", qs},
          {"total", total.toJson()},
          {"regions", rows}};
}

const std::vector<ReportColumn>& reportColumns() {
  static const std::vector<ReportColumn> columns = [] {
    std::vector<ReportColumn> c = {
        {"sessions", "举办场次"},  {"employers", "参与用人单位"},  {"jobs", "提供岗位数"},
        {"headcount", "招聘人数"}, {"unique_viewers", "观看人数"}, {"applications", "投递简历数"},
    };
    const std::map<std::string, std::string> zh = {
        {"graduate", "高校毕业生"},
        {"poverty_alleviated", "脱贫人口"},
        {"rural_migrant_worker", "农牧民工"},
        {"veteran", "退役军人"},
        {"registered_unemployed", "登记失业人员"},
        {"disability", "残疾人"},
        {"zero_employment_household", "零就业家庭成员"},
        {"employment_difficulty", "就业困难人员"},
    };
    for (auto g : allKeyGroups()) {
      std::string name = keyGroupName(g);
      auto it = zh.find(name);
      c.push_back({"applications_" + name, "投递：" + (it == zh.end() ? name : it->second)});
    }
    c.push_back({"interviews", "面试人数"});
    c.push_back({"hires", "录用人数"});
    c.push_back({"recommendations", "岗位推荐次数"});
    c.push_back({"people_recommended", "获推荐人数"});
    c.push_back({"recommendations_per_person", "人均推荐次数"});
    c.push_back({"people_reached_3_recommendations", "全年获3次以上推荐人数"});
    return c;
  }();
  return columns;
}

double reportValue(const ReportFigures& f, const std::string& key) {
  static const std::string group_prefix = "applications_";
  for (const auto& [name, member] : countedFigures()) {
    if (key == name)
      return static_cast<double>(f.*member);
  }
  if (key == "recommendations_per_person")
    return f.recommendationsPerPerson();
  if (key.rfind(group_prefix, 0) == 0) {
    auto it = f.applications_by_key_group.find(key.substr(group_prefix.size()));
    return it == f.applications_by_key_group.end() ? 0.0 : static_cast<double>(it->second);
  }
  return 0.0;
}

void ReportStore::figures(const std::string& region, int year, const std::vector<int>& quarters,
                          std::function<void(Result<ReportFigures>)> done) {
  // Per quarter: the counts hash and the people recommended; then the
  // employers' union and the viewers' union over all the quarters (one slot).
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> sunion{"SUNION"};
  std::vector<std::string> pfcount{"PFCOUNT"};
  for (int q : quarters) {
    std::string period = Quarter{year, q}.str();
    commands.push_back({"HGETALL", keys::reportCounts(region, period)});
    commands.push_back({"HKEYS", keys::reportRecommended(region, period)});
    sunion.push_back(keys::reportEmployers(region, period));
    pfcount.push_back(keys::reportViewers(region, period));
  }
  // One quarter needs no union: its size is enough.
  if (quarters.size() == 1)
    commands.push_back({"SCARD", sunion[1]});
  else
    commands.push_back(std::move(sunion));
  commands.push_back(std::move(pfcount));
  batch(redis_, std::move(commands), [done](Result<std::vector<RedisReply>> replies) {
    if (!replies.ok())
      return done(replies.error());
    const auto& v = replies.value();
    ReportFigures f;
    for (auto g : allKeyGroups())
      f.applications_by_key_group[keyGroupName(g)] = 0;
    std::set<std::string> people;
    size_t n = v.size() - 2;
    for (size_t i = 0; i + 1 < n; i += 2) {
      std::map<std::string, std::string> counts;
      for (size_t k = 0; k + 1 < v[i].elements.size(); k += 2)
        counts[v[i].elements[k].str] = v[i].elements[k + 1].str;
      add(f, counts);
      for (const auto& p : v[i + 1].elements)
        people.insert(p.str);
    }
    f.people_recommended = static_cast<int64_t>(people.size());
    const auto& employers = v[n];
    f.employers = employers.type == RedisReply::Type::Integer
                      ? employers.integer
                      : static_cast<int64_t>(employers.elements.size());
    f.unique_viewers = v[n + 1].integer;
    done(std::move(f));
  });
}

void ReportStore::children(const std::string& region,
                           std::function<void(Result<std::vector<Region>>)> done) {
  auto known = regionChildren(region);
  redis_.command({"SMEMBERS", keys::reportChildren(region)},
                 [known = std::move(known), done](Result<RedisReply> r) mutable {
                   if (!r.ok())
                     return done(r.error());
                   std::set<std::string> have;
                   for (const auto& k : known)
                     have.insert(k.code);
                   std::set<std::string> seen;
                   for (const auto& e : r->elements)
                     if (!have.count(e.str))
                       seen.insert(e.str);
                   for (const auto& code : seen)
                     known.push_back(regionOf(code));
                   done(std::move(known));
                 });
}

void ReportStore::quarterly(const std::string& region_code, Quarter quarter,
                            std::function<void(Result<QuarterlyReport>)> done) {
  std::string region = canonicalRegion(region_code);
  auto alive = alive_;
  children(region, [this, alive, region, quarter, done](Result<std::vector<Region>> below) {
    if (!below.ok())
      return done(below.error());
    if (!*alive)
      return done(Error{"redis_unavailable", "the node is stopping"});
    auto report = std::make_shared<QuarterlyReport>();
    report->quarter = quarter;
    report->total.region = regionOf(region);
    for (const auto& r : below.value())
      report->regions.push_back(ReportRow{r, {}, {}});
    // Two reads per row (the quarter, the year to date), all in flight at once.
    auto left = std::make_shared<size_t>(2 * (report->regions.size() + 1));
    auto failed = std::make_shared<std::optional<Error>>();
    std::vector<int> to_date;
    for (int q = 1; q <= quarter.quarter; ++q)
      to_date.push_back(q);
    auto finish = [report, left, failed, done] {
      if (--*left > 0)
        return;
      if (*failed)
        return done(**failed);
      done(std::move(*report));
    };
    auto read = [&](ReportRow* row) {
      figures(row->region.code, quarter.year, {quarter.quarter},
              [row, failed, finish](Result<ReportFigures> f) {
                if (!f.ok())
                  *failed = f.error();
                else
                  row->quarter = std::move(f.value());
                finish();
              });
      figures(row->region.code, quarter.year, to_date,
              [row, failed, finish](Result<ReportFigures> f) {
                if (!f.ok())
                  *failed = f.error();
                else
                  row->year_to_date = std::move(f.value());
                finish();
              });
    };
    read(&report->total);
    for (auto& row : report->regions)
      read(&row);
  });
}

void ReportStore::yearly(const std::string& region_code, int year,
                         std::function<void(Result<YearlyReport>)> done) {
  std::string region = canonicalRegion(region_code);
  auto alive = alive_;
  children(region, [this, alive, region, year, done](Result<std::vector<Region>> below) {
    if (!below.ok())
      return done(below.error());
    if (!*alive)
      return done(Error{"redis_unavailable", "the node is stopping"});
    auto report = std::make_shared<YearlyReport>();
    report->year = year;
    report->region = regionOf(region);
    for (const auto& r : below.value())
      report->regions.emplace_back(r, ReportFigures{});
    auto left = std::make_shared<size_t>(5 + report->regions.size());
    auto failed = std::make_shared<std::optional<Error>>();
    auto finish = [report, left, failed, done] {
      if (--*left > 0)
        return;
      if (*failed)
        return done(**failed);
      done(std::move(*report));
    };
    auto into = [failed, finish](ReportFigures* slot) {
      return [slot, failed, finish](Result<ReportFigures> f) {
        if (!f.ok())
          *failed = f.error();
        else
          *slot = std::move(f.value());
        finish();
      };
    };
    for (int q = 1; q <= 4; ++q)
      figures(region, year, {q}, into(&report->quarters[static_cast<size_t>(q - 1)]));
    figures(region, year, {1, 2, 3, 4}, into(&report->total));
    for (auto& [r, f] : report->regions)
      figures(r.code, year, {1, 2, 3, 4}, into(&f));
  });
}

void ReportStore::countRecommendations(const std::string& user, const std::string& region_code,
                                       int64_t at, int64_t count,
                                       std::function<void(Result<bool>)> done) {
  static const RedisScript script{std::string(report_scripts::kCountRecommendationLua)};
  Quarter q = Quarter::of(at);
  auto levels = regionLevels(region_code);
  auto left = std::make_shared<size_t>(levels.size());
  auto failed = std::make_shared<std::optional<Error>>();
  for (const auto& level : levels) {
    // Each region is its own slot: one script per region.
    script.run(redis_,
               {keys::reportCounts(level, q.str()), keys::reportRecommended(level, q.str()),
                keys::reportRecommended(level, std::to_string(q.year))},
               {user, std::to_string(count)}, [left, failed, done](Result<RedisReply> r) {
                 if (!r.ok())
                   *failed = r.error();
                 else if (r->isError())
                   *failed = Error{"internal", "the store refused the count"};
                 if (--*left > 0)
                   return;
                 if (*failed)
                   return done(**failed);
                 done(true);
               });
  }
}

}  // namespace jobcast::rooms
