// jobcastd as a process: endpoints, Redis loss and return, shutdown, config errors.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

namespace jobcast::test {
namespace {

long statusOf(const std::string& url) {
  return httpGet(url).status;
}

bool processExists(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

pid_t embeddedRedisPid(const Jobcastd& node) {
  std::smatch m;
  std::string log = node.log();
  std::regex started(R"re("msg":"redis child started","pid":(\d+))re");
  pid_t last = -1;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), started);
       it != std::sregex_iterator(); ++it) {
    last = std::stoi((*it)[1]);
  }
  return last;
}

TEST(Node, ServesHealthReadinessAndMetrics) {
  RedisServer redis;
  Jobcastd node({.redis = redis.address()});
  node.start();

  auto health = httpGet(node.url("/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json()["status"], "ok");
  ASSERT_TRUE(eventually([&] { return statusOf(node.url("/readyz")) == 200; }));

  auto metrics = httpGet(node.url("/metrics"));
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.header("content-type").find("text/plain; version=0.0.4"), std::string::npos);
  // Every sample line is NAME{LABELS} VALUE or NAME VALUE; every family typed.
  std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.e+-]+$)");
  std::istringstream lines(metrics.body);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("# ", 0) == 0)
      continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
    ++samples;
  }
  EXPECT_GT(samples, 4);
  EXPECT_NE(metrics.body.find("jobcast_build_info{version=\"0.1.0\""), std::string::npos);
  EXPECT_NE(metrics.body.find("jobcast_redis_up 1"), std::string::npos);
  EXPECT_NE(metrics.body.find("jobcast_uptime_seconds "), std::string::npos);
  EXPECT_NE(metrics.body.find(
                "jobcast_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1"),
            std::string::npos);
}

TEST(Node, ErrorsAreJson) {
  RedisServer redis;
  Jobcastd node({.redis = redis.address()});
  node.start();
  auto missing = httpGet(node.url("/no/such/thing"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json()["error"]["code"], "not_found");

  HttpRequest post;
  post.method = "POST";
  post.url = node.url("/healthz");
  post.body = "{}";
  auto wrong_method = http(post);
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("allow"), "GET");
  EXPECT_EQ(wrong_method.json()["error"]["code"], "method_not_allowed");

  post.body = std::string(2 << 20, 'x');
  auto too_big = http(post);
  EXPECT_EQ(too_big.status, 413);
  EXPECT_EQ(too_big.json()["error"]["code"], "payload_too_large");
  // The node carries on.
  EXPECT_EQ(statusOf(node.url("/healthz")), 200);
}

TEST(Node, ReadyzFollowsAnExternalRedisDownAndBackUp) {
  RedisServer redis;
  Jobcastd node({.redis = redis.address()});
  node.start();
  ASSERT_TRUE(eventually([&] { return statusOf(node.url("/readyz")) == 200; }));

  redis.kill();
  auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      eventually([&] { return statusOf(node.url("/readyz")) == 503; }, std::chrono::seconds(2)));
  EXPECT_LT(std::chrono::steady_clock::now() - killed, std::chrono::seconds(2));
  auto down = httpGet(node.url("/readyz"));
  EXPECT_EQ(down.json()["error"]["code"], "not_ready");
  EXPECT_EQ(down.json()["checks"]["redis"], "down");
  EXPECT_EQ(statusOf(node.url("/healthz")), 200);  // alive, just not ready

  redis.start();
  ASSERT_TRUE(
      eventually([&] { return statusOf(node.url("/readyz")) == 200; }, std::chrono::seconds(5)));
  EXPECT_TRUE(node.running());
}

// A machine without one plugin: jobcastd runs on a GStreamer registry built
// from every installed plugin but x264 (really missing, not simulated).
// /readyz names the element and the Debian package that installs it, and
// --demo says so in one line.
TEST(Node, ReadyzNamesAMissingGStreamerElementAndItsPackage) {
  RedisServer redis;
  TempDir gst("jobcast-gst");
  std::string plugins = gst.path() + "/plugins";
  std::filesystem::create_directories(plugins);
  int linked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(JOBCAST_GST_PLUGINS_DIR)) {
    std::string name = entry.path().filename().string();
    if (name == "libgstx264.so" || entry.path().extension() != ".so")
      continue;
    std::filesystem::create_symlink(entry.path(), plugins + "/" + name);
    ++linked;
  }
  ASSERT_GT(linked, 20);
  Jobcastd node({.args = {"--demo"},
                 .env = {{"GST_PLUGIN_SYSTEM_PATH_1_0", plugins},
                         {"GST_PLUGIN_PATH_1_0", ""},
                         {"GST_REGISTRY_1_0", gst.path() + "/registry.bin"}},
                 .redis = redis.address()});
  node.start();
  HttpResponse ready;
  // Redis connects on its own; the missing element keeps the node unready.
  ASSERT_TRUE(eventually([&] {
    ready = httpGet(node.url("/readyz"));
    return ready.json()["checks"]["redis"] == "up";
  }));
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ready.json()["checks"]["gstreamer"], "missing");
  EXPECT_EQ(
      ready.json()["missing"],
      nlohmann::json::parse(R"([{"element": "x264enc", "package": "gstreamer1.0-plugins-ugly"}])"));
  std::string message = ready.json()["error"]["message"];
  EXPECT_NE(message.find("x264enc (gstreamer1.0-plugins-ugly)"), std::string::npos) << message;
  EXPECT_NE(node.log().find("demo: the room cannot stream: GStreamer elements missing: x264enc "
                            "(gstreamer1.0-plugins-ugly)\n"),
            std::string::npos)
      << node.log();
  EXPECT_EQ(statusOf(node.url("/healthz")), 200);  // alive, not ready
}

TEST(Node, EmbeddedRedisIsStartedSupervisedAndStoppedWithTheNode) {
  Jobcastd node;  // no --redis: the node starts its own
  node.start();
  ASSERT_TRUE(eventually([&] { return statusOf(node.url("/readyz")) == 200; }));
  pid_t first = embeddedRedisPid(node);
  ASSERT_TRUE(processExists(first));
  EXPECT_TRUE(std::ifstream(node.dataDir() + "/redis/appendonlydir").good() ||
              std::ifstream(node.dataDir() + "/redis/redis.log").good());

  ::kill(first, SIGKILL);
  ASSERT_TRUE(
      eventually([&] { return statusOf(node.url("/readyz")) == 503; }, std::chrono::seconds(2)));
  ASSERT_TRUE(
      eventually([&] { return statusOf(node.url("/readyz")) == 200; }, std::chrono::seconds(5)));
  pid_t second = embeddedRedisPid(node);
  EXPECT_NE(second, first);

  EXPECT_EQ(node.stop(SIGTERM), 0);
  EXPECT_TRUE(eventually([&] { return !processExists(second); }, std::chrono::seconds(2)));
}

TEST(Node, SigtermAndSigintStopWithinFiveSecondsWithExitZero) {
  for (int sig : {SIGTERM, SIGINT}) {
    RedisServer redis;
    Jobcastd node({.redis = redis.address()});
    node.start();
    auto before = std::chrono::steady_clock::now();
    EXPECT_EQ(node.stop(sig, std::chrono::seconds(5)), 0) << node.log();
    EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
    EXPECT_NE(node.log().find("\"msg\":\"stopped\""), std::string::npos);
    // The listener is gone.
    EXPECT_EQ(statusOf(node.url("/healthz")), 0);
  }
}

TEST(Node, HttpsWithAGeneratedSelfSignedCertificate) {
  RedisServer redis;
  Jobcastd node({.redis = redis.address(), .tls = true});
  node.start();
  ASSERT_GT(node.httpsPort(), 0);
  auto r = httpGet(node.httpsUrl("/healthz"));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_TRUE(std::ifstream(node.dataDir() + "/tls/self-signed.crt").good());
}

TEST(Node, BadConfigStopsStartWithExitTwoNamingTheKey) {
  TempDir dir;
  std::string path = dir.path() + "/bad.yaml";
  std::ofstream(path) << "server:\n  listen: \"0.0.0.0:99999\"\n";
  std::string out;
  EXPECT_EQ(Jobcastd::runToExit({"--config", path}, &out), 2);
  EXPECT_NE(out.find("server.listen"), std::string::npos) << out;

  std::ofstream(path) << "server:\n  tls_cert: /nonexistent.pem\n  tls_key: /nonexistent.key\n";
  EXPECT_EQ(Jobcastd::runToExit({"--config", path}, &out), 2);
  EXPECT_NE(out.find("server.tls_cert"), std::string::npos) << out;

  std::ofstream(path) << "surprise: 1\n";
  EXPECT_EQ(Jobcastd::runToExit({"--config", path}, &out), 2);
  EXPECT_NE(out.find("surprise"), std::string::npos) << out;

  EXPECT_EQ(Jobcastd::runToExit({"--listen", "localhost:abc"}, &out), 2);
  EXPECT_NE(out.find("--listen"), std::string::npos) << out;
  EXPECT_EQ(Jobcastd::runToExit({"--bogus"}, &out), 2);

  EXPECT_EQ(Jobcastd::runToExit({"--version"}, &out), 0);
  EXPECT_NE(out.find("jobcastd 0.1.0"), std::string::npos);
  EXPECT_EQ(Jobcastd::runToExit({"--help"}, &out), 0);
  EXPECT_NE(out.find("--data-dir"), std::string::npos);
}

TEST(Node, LogsAreOneJsonObjectPerLineAndHoldNoSecrets) {
  RedisServer redis;
  Jobcastd node({.redis = redis.address()});
  node.start();
  httpGet(node.url("/healthz"), {{"Authorization", "Bearer super-secret-token-value"}});
  node.stop();
  std::istringstream lines(node.log());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << line;
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    ++n;
  }
  EXPECT_GT(n, 2);
  EXPECT_EQ(node.log().find("test-secret-0123456789abcdef-0123456789"), std::string::npos);
  EXPECT_EQ(node.log().find("super-secret-token-value"), std::string::npos);
}

}  // namespace
}  // namespace jobcast::test
