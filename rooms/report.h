#pragma once
// The quarterly implementation table (季度实施情况表) the employment service
// reports upward within five days after each quarter, and its yearly summary:
// per region (rooms/regions.h) and quarter, the sessions held, employers, jobs
// and headcount offered, unique viewers, applications (by key group, counting
// only declarations made with consent), interviews, hires and job
// recommendations per person.
//
// The figures are kept as they happen, never recomputed by scanning: the room
// scripts add to the report keys of each region the room counts in (the
// whole service, the province, the league/city, the banner/county) in the
// same script as the room event (rooms/transition_room.lua: a session held;
// rooms/apply.lua; rooms/set_application_status.lua: interviews and hires).
// Each region is its own Redis slot ({g:CODE}, rooms/keys.h), so a report
// reads a handful of keys per region and quarter whatever else is stored.
//
// Threading: the loop thread; callbacks run later on it.

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/redis.h"
#include "core/result.h"
#include "rooms/regions.h"

namespace jobcast::rooms {

// A calendar quarter in China Standard Time (UTC+8, no daylight saving): the
// quarter ends at local midnight, as the service reports it.
struct Quarter {
  int year = 1970;
  int quarter = 1;          // 1..4
  std::string str() const;  // "2026Q4"
  static Quarter of(int64_t epoch_seconds);
};

// The report keys a room's change adds to: one per region level, for the
// quarter of `at`.
std::vector<std::string> reportCountKeys(const std::string& region_code, int64_t at);

// One region's figures over one or more quarters.
struct ReportFigures {
  int64_t sessions = 0;
  int64_t employers = 0;  // distinct employers that held a session
  int64_t jobs = 0;
  int64_t headcount = 0;
  int64_t unique_viewers = 0;  // signed-in viewers of the sessions held, each once (HyperLogLog)
  int64_t applications = 0;
  std::map<std::string, int64_t> applications_by_key_group;  // every key group, 0 when none
  int64_t interviews = 0;
  int64_t hires = 0;
  int64_t recommendations = 0;
  int64_t people_recommended = 0;  // distinct people who got at least one
  int64_t people_reached_3 = 0;    // people whose year reached 3 recommendations in the period

  // Recommendations per person recommended (0 when nobody was).
  double recommendationsPerPerson() const;
  nlohmann::json toJson() const;
};

struct ReportRow {
  Region region;
  ReportFigures quarter;       // the quarter alone
  ReportFigures year_to_date;  // from the year's first quarter to this one
};

struct QuarterlyReport {
  Quarter quarter;
  ReportRow total;                 // the region asked for
  std::vector<ReportRow> regions;  // the regions directly below it
  nlohmann::json toJson() const;
};

struct YearlyReport {
  int year = 0;
  Region region;
  std::array<ReportFigures, 4> quarters;
  ReportFigures total;
  std::vector<std::pair<Region, ReportFigures>> regions;  // below it, the year's totals
  nlohmann::json toJson() const;
};

// The column keys of the table, in order, after the region and period
// columns; with their Chinese headings (CSV and XLSX exports).
struct ReportColumn {
  std::string key;
  std::string zh;
};
const std::vector<ReportColumn>& reportColumns();
// The value of one column (reportColumns()[i].key) as a number.
double reportValue(const ReportFigures& figures, const std::string& key);

class ReportStore {
 public:
  explicit ReportStore(RedisClient& redis) : redis_(redis) {}

  void quarterly(const std::string& region_code, Quarter quarter,
                 std::function<void(Result<QuarterlyReport>)> done);
  void yearly(const std::string& region_code, int year,
              std::function<void(Result<YearlyReport>)> done);
  // Counts `count` job recommendations made at `at` to `user` for a job in
  // `region_code`, in every region level above it. The recommendation
  // feature calls this once per recommendation it records.
  void countRecommendations(const std::string& user, const std::string& region_code, int64_t at,
                            int64_t count, std::function<void(Result<bool>)> done);

 private:
  // The figures of `region` summed over `quarters` of one year.
  void figures(const std::string& region, int year, const std::vector<int>& quarters,
               std::function<void(Result<ReportFigures>)> done);
  // The regions directly below `region`: the table's and those that held sessions.
  void children(const std::string& region, std::function<void(Result<std::vector<Region>>)> done);

  RedisClient& redis_;
  // Replies may arrive after the store is gone (node shutdown).
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

 public:
  ~ReportStore() { *alive_ = false; }
  ReportStore(const ReportStore&) = delete;
  ReportStore& operator=(const ReportStore&) = delete;
};

}  // namespace jobcast::rooms
