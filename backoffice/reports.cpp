#include "backoffice/reports.h"

#include <xlsxwriter.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "rooms/access.h"
#include "rooms/model.h"
#include "signaling/auth.h"
#include "signaling/rooms_api.h"

namespace jobcast::backoffice {

using rooms::QuarterlyReport;
using rooms::Region;
using rooms::ReportFigures;
using rooms::YearlyReport;

namespace {

// One line of the table: who, which period, then the figures.
struct Line {
  Region region;
  std::string period;
  const ReportFigures* figures;
};

std::vector<Line> linesOf(const QuarterlyReport& report) {
  std::string q = report.quarter.str();
  std::string ytd =
      std::to_string(report.quarter.year) + "Q1-Q" + std::to_string(report.quarter.quarter);
  std::vector<Line> lines = {{report.total.region, q, &report.total.quarter},
                             {report.total.region, ytd, &report.total.year_to_date}};
  for (const auto& row : report.regions) {
    lines.push_back({row.region, q, &row.quarter});
    lines.push_back({row.region, ytd, &row.year_to_date});
  }
  return lines;
}

std::vector<Line> linesOf(const YearlyReport& report) {
  std::string year = std::to_string(report.year);
  std::vector<Line> lines;
  for (size_t i = 0; i < report.quarters.size(); ++i)
    lines.push_back({report.region, year + "Q" + std::to_string(i + 1), &report.quarters[i]});
  lines.push_back({report.region, year, &report.total});
  for (const auto& [r, f] : report.regions)
    lines.push_back({r, year, &f});
  return lines;
}

std::string number(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v)))
    return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// RFC 4180: quote a field that holds a comma, quote or line break.
std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos)
    return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"')
      out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv(const std::vector<Line>& lines) {
  std::string out = "\xEF\xBB\xBF";  // the byte order mark spreadsheet programs read UTF-8 by
  out += "region_code,region_zh,region_en,period";
  for (const auto& c : rooms::reportColumns())
    out += "," + c.key;
  out += "\r\n";
  for (const auto& line : lines) {
    out += csvField(line.region.code.empty() ? "all" : line.region.code) + "," +
           csvField(line.region.zh) + "," + csvField(line.region.en) + "," + line.period;
    for (const auto& c : rooms::reportColumns())
      out += "," + number(rooms::reportValue(*line.figures, c.key));
    out += "\r\n";
  }
  return out;
}

// libxlsxwriter 1.1 writes only to files: a private temporary file, read back
// and removed.
std::string xlsx(const std::string& sheet_name, const std::string& title,
                 const std::vector<Line>& lines) {
  char path[] = "/tmp/jobcast-report-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0)
    return "";
  close(fd);
  std::string out;
  lxw_workbook* book = workbook_new(path);
  if (book != nullptr) {
    lxw_worksheet* sheet = workbook_add_worksheet(book, sheet_name.c_str());
    lxw_format* bold = workbook_add_format(book);
    format_set_bold(bold);
    worksheet_write_string(sheet, 0, 0, title.c_str(), bold);
    const auto& columns = rooms::reportColumns();
    // Row 2: the headings in Chinese; row 3: the machine-readable keys.
    const std::vector<std::pair<std::string, std::string>> fixed = {{"地区代码", "region_code"},
                                                                    {"地区", "region_zh"},
                                                                    {"Region", "region_en"},
                                                                    {"时期", "period"}};
    lxw_col_t col = 0;
    for (const auto& [zh, key] : fixed) {
      worksheet_write_string(sheet, 1, col, zh.c_str(), bold);
      worksheet_write_string(sheet, 2, col, key.c_str(), nullptr);
      ++col;
    }
    for (const auto& c : columns) {
      worksheet_write_string(sheet, 1, col, c.zh.c_str(), bold);
      worksheet_write_string(sheet, 2, col, c.key.c_str(), nullptr);
      ++col;
    }
    lxw_row_t row = 3;
    for (const auto& line : lines) {
      worksheet_write_string(sheet, row, 0,
                             line.region.code.empty() ? "all" : line.region.code.c_str(), nullptr);
      worksheet_write_string(sheet, row, 1, line.region.zh.c_str(), nullptr);
      worksheet_write_string(sheet, row, 2, line.region.en.c_str(), nullptr);
      worksheet_write_string(sheet, row, 3, line.period.c_str(), nullptr);
      lxw_col_t c = 4;
      for (const auto& column : columns)
        worksheet_write_number(sheet, row, c++, rooms::reportValue(*line.figures, column.key),
                               nullptr);
      ++row;
    }
    worksheet_set_column(sheet, 0, 3, 14, nullptr);
    if (workbook_close(book) == LXW_NO_ERROR) {
      std::ifstream in(path, std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      out = bytes.str();
    }
  }
  std::remove(path);
  return out;
}

std::string regionLabel(const Region& r) {
  return r.code.empty() ? std::string("all") : r.code;
}

// Parses a whole number within [lo, hi] from the query; nullopt for an absent one.
Result<std::optional<int>> intParam(const http::Request& q, const char* name, int lo, int hi) {
  auto v = q.queryParam(name);
  if (!v)
    return std::optional<int>{};
  char* end = nullptr;
  long n = std::strtol(v->c_str(), &end, 10);
  if (v->empty() || end == nullptr || *end != '\0' || n < lo || n > hi)
    return rooms::invalidField(
        name, "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  return std::optional<int>{static_cast<int>(n)};
}

http::Response file(std::string bytes, const std::string& type, const std::string& name) {
  auto r = http::Response::text(200, std::move(bytes), type);
  r.header("content-disposition", "attachment; filename=\"" + name + "\"");
  r.header("cache-control", "no-store");
  return r;
}

// A report as asked (`format`: json, csv or xlsx), its files named `name`.
// Both routes answer this way: the quarterly table and the yearly summary.
template <typename Report>
void sendReport(const http::Responder& r, const std::string& format, const std::string& name,
                const Report& report, std::string (*to_csv)(const Report&),
                std::string (*to_xlsx)(const Report&)) {
  if (format == "csv")
    return r.send(file(to_csv(report), "text/csv; charset=utf-8", name + ".csv"));
  if (format == "xlsx") {
    std::string bytes = to_xlsx(report);
    if (bytes.empty())
      return r.send(errorResponse(Error{"internal", "the workbook could not be written"}));
    return r.send(file(std::move(bytes),
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       name + ".xlsx"));
  }
  r.json(200, report.toJson());
}

}  // namespace

std::string quarterlyCsv(const QuarterlyReport& report) {
  return csv(linesOf(report));
}
std::string yearlyCsv(const YearlyReport& report) {
  return csv(linesOf(report));
}
std::string quarterlyXlsx(const QuarterlyReport& report) {
  std::string title = std::to_string(report.quarter.year) + "年第" +
                      std::to_string(report.quarter.quarter) +
                      "季度促进重点群体就业直播招聘实施情况表 · " + report.total.region.zh +
                      " · Quarterly implementation table " + report.quarter.str();
  return xlsx(report.quarter.str(), title, linesOf(report));
}
std::string yearlyXlsx(const YearlyReport& report) {
  std::string title = std::to_string(report.year) + "年度促进重点群体就业直播招聘工作总结 · " +
                      report.region.zh + " · Yearly summary " + std::to_string(report.year);
  return xlsx(std::to_string(report.year), title, linesOf(report));
}

ReportsApi::ReportsApi(http::Router& router, RedisClient& redis, const Jwt& jwt)
    : jwt_(jwt), store_(redis) {
  struct Ask {
    int year = 0;
    int quarter = 0;
    std::string region;
    std::string format;
  };
  // The admin check and the query's parameters, common to both routes.
  auto read = [this](const http::Request& q, const http::Responder& r) -> std::optional<Ask> {
    auto who = http::authenticate(q, jwt_, http::epochSeconds());
    if (!who.ok()) {
      r.send(errorResponse(who.error()));
      return std::nullopt;
    }
    if (auto e = rooms::mayReadReports(who.value())) {
      r.send(errorResponse(*e));
      return std::nullopt;
    }
    rooms::Quarter now = rooms::Quarter::of(http::epochSeconds());
    Ask ask{now.year, now.quarter, "", "json"};
    auto year = intParam(q, "year", 2000, 2100);
    auto quarter = intParam(q, "quarter", 1, 4);
    for (const auto* p : {&year, &quarter}) {
      if (!p->ok()) {
        r.send(errorResponse(p->error()));
        return std::nullopt;
      }
    }
    if (year.value())
      ask.year = *year.value();
    if (quarter.value())
      ask.quarter = *quarter.value();
    else if (ask.year != now.year)
      ask.quarter = 4;  // a past year's table: its last quarter, i.e. the whole year to date
    ask.region = q.queryParam("region").value_or("");
    if (!rooms::validRegionCode(ask.region)) {
      r.send(errorResponse(rooms::invalidField(
          "region", "must be 2, 4 or 6 digits (administrative division code)")));
      return std::nullopt;
    }
    ask.format = q.queryParam("format").value_or("json");
    if (ask.format != "json" && ask.format != "csv" && ask.format != "xlsx") {
      r.send(errorResponse(rooms::invalidField("format", "must be json, csv or xlsx")));
      return std::nullopt;
    }
    return ask;
  };

  router.add(http::Method::Get, "/api/v1/reports/quarterly",
             [this, read](const http::Request& q, const http::Responder& r) {
               auto ask = read(q, r);
               if (!ask)
                 return;
               store_.quarterly(ask->region, rooms::Quarter{ask->year, ask->quarter},
                                [r, format = ask->format](Result<QuarterlyReport> report) {
                                  if (!report.ok())
                                    return r.send(errorResponse(report.error()));
                                  std::string name = "jobcast-" + report->quarter.str() + "-" +
                                                     regionLabel(report->total.region);
                                  sendReport(r, format, name, report.value(), &quarterlyCsv,
                                             &quarterlyXlsx);
                                });
             });

  router.add(http::Method::Get, "/api/v1/reports/yearly",
             [this, read](const http::Request& q, const http::Responder& r) {
               auto ask = read(q, r);
               if (!ask)
                 return;
               store_.yearly(ask->region, ask->year,
                             [r, format = ask->format](Result<YearlyReport> report) {
                               if (!report.ok())
                                 return r.send(errorResponse(report.error()));
                               std::string name = "jobcast-" + std::to_string(report->year) + "-" +
                                                  regionLabel(report->region);
                               sendReport(r, format, name, report.value(), &yearlyCsv, &yearlyXlsx);
                             });
             });
}

}  // namespace jobcast::backoffice
