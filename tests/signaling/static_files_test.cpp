#include "signaling/static_files.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace jobcast::http {
namespace {

struct Captured : Responder::Sink {
  std::optional<Response> response;
  void deliver(Response r) override { response = std::move(r); }
};

std::string header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name)
      return v;
  }
  return {};
}

std::string gunzip(const std::string& data) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir.path() + "/js");
    std::ofstream(dir.path() + "/index.html") << "<!doctype html><title>x</title>";
    page = std::string(4000, 'a') + "console.log('hello');";
    std::ofstream(dir.path() + "/js/app.js") << page;
    std::ofstream(dir.path() + "/.secret") << "no";
  }
  Response get(const std::string& path, std::map<std::string, std::string> headers = {}) {
    Request req;
    req.method = Method::Get;
    req.path = path;
    req.headers = std::move(headers);
    auto sink = std::make_shared<Captured>();
    files.serve(req, Responder(sink));
    EXPECT_TRUE(sink->response.has_value());
    return *sink->response;
  }
  test::TempDir dir;
  StaticFiles files{dir.path()};
  std::string page;
};

TEST_F(StaticFilesTest, ServesIndexWithTypeAndRevalidation) {
  auto r = get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(r, "cache-control"), "no-cache");
  EXPECT_EQ(r.bodyBytes(), "<!doctype html><title>x</title>");
  auto again = get("/index.html", {{"if-none-match", header(r, "etag")}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.bodyBytes().empty());
}

TEST_F(StaticFilesTest, GzipsTextForClientsThatAcceptIt) {
  auto plain = get("/js/app.js");
  EXPECT_EQ(plain.bodyBytes(), page);
  EXPECT_EQ(header(plain, "content-encoding"), "");
  auto zipped = get("/js/app.js", {{"accept-encoding", "gzip, deflate, br"}});
  EXPECT_EQ(header(zipped, "content-encoding"), "gzip");
  EXPECT_LT(zipped.bodyBytes().size(), page.size() / 10);
  EXPECT_EQ(gunzip(zipped.bodyBytes()), page);
  EXPECT_EQ(zipped.content_type, "text/javascript; charset=utf-8");
}

TEST_F(StaticFilesTest, RefusesTraversalHiddenAndMissingFiles) {
  EXPECT_EQ(get("/../etc/passwd").status, 404);
  EXPECT_EQ(get("/js/../../etc/passwd").status, 404);
  EXPECT_EQ(get("/.secret").status, 404);
  EXPECT_EQ(get("/nope.html").status, 404);
  EXPECT_EQ(get("/js").status, 404);
}

TEST_F(StaticFilesTest, PicksUpChangedFiles) {
  EXPECT_EQ(get("/index.html").bodyBytes().size(), 31u);
  std::ofstream(dir.path() + "/index.html") << "<!doctype html><title>changed</title>";
  EXPECT_NE(get("/index.html").bodyBytes().find("changed"), std::string::npos);
}

}  // namespace
}  // namespace jobcast::http
