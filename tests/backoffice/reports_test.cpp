// The quarterly implementation table through the real jobcastd and
// redis-server: rooms in two leagues run, jobseekers watch and apply through
// the API (one with a consented key group, one who stated none, one who
// consented to another group), the employer moves applications to interview
// and hire, and the report, its CSV and its XLSX (read back with openpyxl)
// hold exactly those numbers, per region at every level. Only admins read it.

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tokens.h"
#include "tests/support/ws_client.h"

namespace jobcast::test {
namespace {

using nlohmann::json;

HttpResponse call(Jobcastd& node, const std::string& method, const std::string& path,
                  const std::string& bearer, const json& body = nullptr) {
  HttpRequest request;
  request.method = method;
  request.url = node.url("/api/v1" + path);
  if (!body.is_null()) {
    request.body = body.dump();
    request.headers.emplace_back("content-type", "application/json");
  }
  if (!bearer.empty())
    request.headers.emplace_back("authorization", "Bearer " + bearer);
  return http(request);
}

// The quarter of now in China Standard Time, as the node reports it.
std::pair<int, int> quarterNow() {
  time_t local = std::time(nullptr) + 8 * 3600;
  std::tm tm{};
  gmtime_r(&local, &tm);
  return {tm.tm_year + 1900, tm.tm_mon / 3 + 1};
}

std::string runPython(const std::string& script, const std::string& path) {
  // Debian's python3-openpyxl lives with the system interpreter.
  std::string command = "/usr/bin/python3 -c '" + script + "' " + path + " 2>&1";
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr)
    return "popen failed";
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  pclose(p);
  return out;
}

class Reports : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(config) << "live:\n  heartbeat_ms: 100\n  viewer_ttl_ms: 1000\n";
    node.start();
  }

  void employer(const std::string& id) {
    ASSERT_EQ(call(node, "POST", "/employers", admin, {{"id", id}, {"name", id}}).status, 201);
    ASSERT_EQ(call(node, "POST", "/employers/" + id + "/verify", admin).status, 200);
  }

  // A room of `boss` in `region` with jobs of these headcounts; answers room and job ids.
  std::pair<std::string, std::vector<std::string>> room(const std::string& boss,
                                                        const std::string& region,
                                                        std::vector<int> headcounts) {
    auto r = call(node, "POST", "/rooms", boss,
                  {{"title", "Fair"}, {"scheduled_at", 1767225600}, {"region_code", region}});
    EXPECT_EQ(r.status, 201) << r.body;
    std::string id = r.json().value("id", "");
    std::vector<std::string> jobs;
    for (int n : headcounts) {
      auto j = call(node, "POST", "/rooms/" + id + "/jobs", boss,
                    {{"title", "Driller"},
                     {"wage_min", 6000},
                     {"wage_max", 9000},
                     {"wage_unit", "month"},
                     {"hours", "8h"},
                     {"location", "Baotou"},
                     {"headcount", n}});
      EXPECT_EQ(j.status, 201) << j.body;
      jobs.push_back(j.json().value("id", ""));
    }
    EXPECT_EQ(call(node, "POST", "/rooms/" + id + "/start", boss).status, 200);
    return {id, jobs};
  }

  std::string apply(const std::string& seeker, const std::string& room, const std::string& job) {
    auto a = call(node, "POST", "/rooms/" + room + "/jobs/" + job + "/apply", seeker);
    EXPECT_EQ(a.status, 201) << a.body;
    return a.json().value("id", "");
  }

  void move(const std::string& boss, const std::string& app,
            const std::vector<std::string>& steps) {
    for (const auto& s : steps) {
      auto r = call(node, "PATCH", "/applications/" + app, boss, {{"status", s}});
      ASSERT_EQ(r.status, 200) << s << ": " << r.body;
    }
  }

  json report(const std::string& query) {
    auto r = call(node, "GET", "/reports/quarterly?" + query, admin);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }

  RedisServer redis;
  TempDir dir{"jobcast-reports"};
  std::string config = dir.path() + "/jobcast.yaml";
  Jobcastd node{{.args = {"--config", config}, .redis = redis.address()}};
  std::string admin = signToken(Role::Admin, "root", {"*"});
};

TEST_F(Reports, QuarterlyTableHoldsExactlyWhatHappenedPerRegion) {
  const auto [year, quarter] = quarterNow();
  const std::string acme = signToken(Role::Employer, "acme", {"*"});
  const std::string beta = signToken(Role::Employer, "beta", {"*"});
  employer("acme");
  employer("beta");
  const std::string s1 = signToken(Role::Jobseeker, "seeker-1", {"*"});
  const std::string s2 = signToken(Role::Jobseeker, "seeker-2", {"*"});
  const std::string s3 = signToken(Role::Jobseeker, "seeker-3", {"*"});
  ASSERT_EQ(call(node, "PUT", "/me/profile", s1,
                 {{"name", "Bayar"},
                  {"phone", "13800138001"},
                  {"cv", "herder"},
                  {"key_group", "rural_migrant_worker"},
                  {"key_group_consent", true}})
                .status,
            200);
  ASSERT_EQ(call(node, "PUT", "/me/profile", s2,
                 {{"name", "Wang"}, {"phone", "13800138002"}, {"cv", "welder"}})
                .status,
            200);
  ASSERT_EQ(call(node, "PUT", "/me/profile", s3,
                 {{"name", "Saruul"},
                  {"phone", "13800138003"},
                  {"cv", "graduate"},
                  {"key_group", "graduate"},
                  {"key_group_consent", true}})
                .status,
            200);

  // Room A: Acme in Kundulun (Baotou), two jobs, watched by seekers 1 and 2.
  auto [a, a_jobs] = room(acme, "150203", {3, 2});
  std::vector<std::unique_ptr<WsClient>> tabs;
  for (const auto* t : {&s1, &s2}) {
    tabs.push_back(WsClient::connect(node.httpPort()));
    ASSERT_TRUE(tabs.back());
    ASSERT_EQ(tabs.back()->hello(a, *t)["type"], "welcome");
  }
  ASSERT_TRUE(eventually([&] {
    return call(node, "GET", "/rooms/" + a + "/figures", admin).json().value("unique_viewers", 0) ==
           2;
  }));
  const std::string a1 = apply(s1, a, a_jobs[0]);
  apply(s2, a, a_jobs[0]);
  const std::string a3 = apply(s3, a, a_jobs[0]);
  apply(s3, a, a_jobs[1]);
  // The same application again: the same one back, counted once.
  EXPECT_EQ(call(node, "POST", "/rooms/" + a + "/jobs/" + a_jobs[1] + "/apply", s3).status, 200);
  move(acme, a1, {"viewed", "contacted", "interview", "hired"});
  move(acme, a3, {"viewed", "contacted", "interview"});
  tabs.clear();
  ASSERT_EQ(call(node, "POST", "/rooms/" + a + "/end", acme).status, 200);

  // Room B: Beta in Xincheng (Hohhot), one job, watched and applied to by seeker 1.
  auto [b, b_jobs] = room(beta, "150102", {5});
  tabs.push_back(WsClient::connect(node.httpPort()));
  ASSERT_EQ(tabs.back()->hello(b, s1)["type"], "welcome");
  ASSERT_TRUE(eventually([&] {
    return call(node, "GET", "/rooms/" + b + "/figures", admin).json().value("unique_viewers", 0) ==
           1;
  }));
  apply(s1, b, b_jobs[0]);
  tabs.clear();
  ASSERT_EQ(call(node, "POST", "/rooms/" + b + "/end", beta).status, 200);

  // Room C: Acme in Baotou, still live: its application counts, it is no session yet.
  auto [c, c_jobs] = room(acme, "150200", {7});
  apply(s2, c, c_jobs[0]);

  const std::string period = "year=" + std::to_string(year) + "&quarter=" + std::to_string(quarter);
  json all = report(period);
  EXPECT_EQ(all["period"], std::to_string(year) + "Q" + std::to_string(quarter));
  EXPECT_TRUE(all["region"]["code"].is_null());
  const json& f = all["figures"];
  EXPECT_EQ(f["sessions"], 2);
  EXPECT_EQ(f["employers"], 2);
  EXPECT_EQ(f["jobs"], 3);
  EXPECT_EQ(f["headcount"], 10);
  EXPECT_EQ(f["unique_viewers"], 2);
  EXPECT_EQ(f["applications"], 6);
  EXPECT_EQ(f["applications_by_key_group"]["rural_migrant_worker"], 2);
  EXPECT_EQ(f["applications_by_key_group"]["graduate"], 2);
  EXPECT_EQ(f["applications_by_key_group"]["veteran"], 0);
  EXPECT_EQ(f["interviews"], 2);
  EXPECT_EQ(f["hires"], 1);
  EXPECT_EQ(f["recommendations"], 0);
  EXPECT_EQ(f["people_recommended"], 0);
  EXPECT_EQ(all["year_to_date"], f);     // nothing happened earlier in the year
  ASSERT_EQ(all["regions"].size(), 1u);  // the province
  EXPECT_EQ(all["regions"][0]["region"]["code"], "150000");
  EXPECT_EQ(all["regions"][0]["quarter"], f);

  // The league: Baotou holds room A (and C's application), Kundulun the same without C.
  json baotou = report(period + "&region=1502");
  EXPECT_EQ(baotou["region"]["code"], "150200");
  EXPECT_EQ(baotou["region"]["name"]["zh"], "包头市");
  const json& bf = baotou["figures"];
  EXPECT_EQ(bf["sessions"], 1);
  EXPECT_EQ(bf["employers"], 1);
  EXPECT_EQ(bf["jobs"], 2);
  EXPECT_EQ(bf["headcount"], 5);
  EXPECT_EQ(bf["unique_viewers"], 2);
  EXPECT_EQ(bf["applications"], 5);
  EXPECT_EQ(bf["applications_by_key_group"]["rural_migrant_worker"], 1);
  EXPECT_EQ(bf["applications_by_key_group"]["graduate"], 2);
  EXPECT_EQ(bf["interviews"], 2);
  EXPECT_EQ(bf["hires"], 1);
  json kundulun;
  for (const auto& row : baotou["regions"]) {
    if (row["region"]["code"] == "150203")
      kundulun = row["quarter"];
    else
      EXPECT_EQ(row["quarter"]["applications"], 0) << row.dump();
  }
  ASSERT_FALSE(kundulun.is_null()) << baotou.dump();
  EXPECT_EQ(kundulun["sessions"], 1);
  EXPECT_EQ(kundulun["applications"], 4);

  json hohhot = report(period + "&region=150100");
  EXPECT_EQ(hohhot["figures"]["sessions"], 1);
  EXPECT_EQ(hohhot["figures"]["headcount"], 5);
  EXPECT_EQ(hohhot["figures"]["unique_viewers"], 1);
  EXPECT_EQ(hohhot["figures"]["applications"], 1);
  EXPECT_EQ(hohhot["figures"]["applications_by_key_group"]["rural_migrant_worker"], 1);
  EXPECT_EQ(hohhot["figures"]["hires"], 0);

  // Another quarter of the year holds none of it.
  json other = report("year=" + std::to_string(year) + "&quarter=" +
                      std::to_string(quarter == 4 ? 1 : quarter + 1) + "&region=150200");
  EXPECT_EQ(other["figures"]["applications"], 0);
  EXPECT_EQ(other["figures"]["sessions"], 0);

  // The yearly summary: this quarter's figures, and the year's total.
  auto yearly = call(node, "GET", "/reports/yearly?year=" + std::to_string(year), admin);
  ASSERT_EQ(yearly.status, 200) << yearly.body;
  EXPECT_EQ(yearly.json()["quarters"][quarter - 1], f);
  EXPECT_EQ(yearly.json()["total"]["applications"], 6);

  // CSV: a header, then the region (quarter, year to date) and the leagues below it.
  auto csv = call(node, "GET", "/reports/quarterly?" + period + "&region=150200&format=csv", admin);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_NE(csv.headers["content-type"].find("text/csv"), std::string::npos);
  std::istringstream lines(csv.body.substr(3));  // after the byte order mark
  std::string header, first;
  std::getline(lines, header);
  std::getline(lines, first);
  EXPECT_EQ(header.rfind("region_code,region_zh,region_en,period,sessions,employers,jobs,"
                         "headcount,unique_viewers,applications,applications_graduate,",
                         0),
            0u)
      << header;
  EXPECT_EQ(first.rfind("150200,包头市,Baotou," + std::to_string(year) + "Q" +
                            std::to_string(quarter) + ",1,1,2,5,2,5,2,",
                        0),
            0u)
      << first;

  // XLSX, read back as a spreadsheet program would.
  auto xlsx =
      call(node, "GET", "/reports/quarterly?" + period + "&region=150200&format=xlsx", admin);
  ASSERT_EQ(xlsx.status, 200) << xlsx.body.substr(0, 200);
  EXPECT_NE(xlsx.headers["content-disposition"].find(".xlsx"), std::string::npos);
  const std::string path = dir.path() + "/report.xlsx";
  std::ofstream(path, std::ios::binary) << xlsx.body;
  const std::string dump = runPython(
      "import sys, json, openpyxl\n"
      "ws = openpyxl.load_workbook(sys.argv[1]).active\n"
      "rows = [list(r) for r in ws.iter_rows(values_only=True)]\n"
      "keys = rows[2]\n"
      "print(json.dumps([dict(zip(keys, r)) for r in rows[3:]]))\n",
      path);
  json sheet = json::parse(dump, nullptr, false);
  ASSERT_TRUE(sheet.is_array()) << dump;
  ASSERT_GE(sheet.size(), 2u);
  const json& row = sheet[0];
  EXPECT_EQ(row["region_code"], "150200");
  EXPECT_EQ(row["sessions"], 1);
  EXPECT_EQ(row["employers"], 1);
  EXPECT_EQ(row["jobs"], 2);
  EXPECT_EQ(row["headcount"], 5);
  EXPECT_EQ(row["unique_viewers"], 2);
  EXPECT_EQ(row["applications"], 5);
  EXPECT_EQ(row["applications_rural_migrant_worker"], 1);
  EXPECT_EQ(row["applications_graduate"], 2);
  EXPECT_EQ(row["interviews"], 2);
  EXPECT_EQ(row["hires"], 1);
  EXPECT_EQ(row["recommendations"], 0);
  EXPECT_EQ(sheet[1]["period"],
            std::to_string(year) + "Q1-Q" + std::to_string(quarter));  // year to date
}

TEST_F(Reports, OnlyAdminsReadTheReportAndBadQueriesAreRefused) {
  for (const auto& token :
       {signToken(Role::Employer, "acme", {"*"}), signToken(Role::Counsellor, "coach", {"*"}),
        signToken(Role::Jobseeker, "seeker", {"*"})}) {
    EXPECT_EQ(call(node, "GET", "/reports/quarterly", token).status, 403);
    EXPECT_EQ(call(node, "GET", "/reports/yearly?format=xlsx", token).status, 403);
  }
  EXPECT_EQ(call(node, "GET", "/reports/quarterly", "").status, 401);
  for (const char* q : {"quarter=5", "quarter=x", "year=1999", "region=15a", "region=150",
                        "format=pdf", "year=2026&quarter=0"}) {
    auto r = call(node, "GET", std::string("/reports/quarterly?") + q, admin);
    EXPECT_EQ(r.status, 400) << q << ": " << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "invalid_field") << q;
  }
  // An empty quarter still has every column, all zero.
  auto empty = call(node, "GET", "/reports/quarterly?year=2025&quarter=1&region=152900", admin);
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(empty.json()["figures"]["sessions"], 0);
  EXPECT_EQ(empty.json()["figures"]["applications_by_key_group"].size(), 8u);
  EXPECT_EQ(empty.json()["regions"].size(), 3u);  // Alxa Left, Alxa Right, Ejin
}

}  // namespace
}  // namespace jobcast::test
