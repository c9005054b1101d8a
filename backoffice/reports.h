#pragma once
// The quarterly implementation table and its yearly summary for admins
// (rooms/report.h): GET /api/v1/reports/quarterly and /api/v1/reports/yearly,
// as JSON, CSV (UTF-8 with a byte order mark, for spreadsheet programs) or
// XLSX (libxlsxwriter).

#include <string>

#include "core/jwt.h"
#include "core/redis.h"
#include "rooms/report.h"
#include "signaling/http.h"

namespace jobcast::backoffice {

// The tables as files. Rows: the region asked for, then each region below it.
std::string quarterlyCsv(const rooms::QuarterlyReport& report);
std::string yearlyCsv(const rooms::YearlyReport& report);
// XLSX bytes; empty when the workbook could not be written.
std::string quarterlyXlsx(const rooms::QuarterlyReport& report);
std::string yearlyXlsx(const rooms::YearlyReport& report);

class ReportsApi {
 public:
  ReportsApi(http::Router& router, RedisClient& redis, const Jwt& jwt);
  // Other features (recommendations) count into the report through it.
  rooms::ReportStore& store() { return store_; }

 private:
  const Jwt& jwt_;
  rooms::ReportStore store_;
};

}  // namespace jobcast::backoffice
