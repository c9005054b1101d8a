// jobcastd under valgrind: a run through the node's endpoints must end with no
// definite leak and no invalid memory access in our code.

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>

#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"

namespace jobcast::test {
namespace {

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Leak, NodeUnderValgrindHasNoDefiniteLeaksOrErrors) {
  TempDir dir("jobcast-valgrind");
  std::string vlog = dir.path() + "/valgrind.log";
  std::string suppressions = std::string(JOBCAST_SOURCE_DIR) + "/tests/server/valgrind.supp";
  Jobcastd::Options options;
  options.tls = true;  // exercises the self-signed certificate path and TLS
  options.wrapper = {"valgrind",
                     "--leak-check=full",
                     "--errors-for-leak-kinds=definite",
                     "--show-leak-kinds=definite",
                     "--error-exitcode=99",
                     "--suppressions=" + suppressions,
                     "--log-file=" + vlog};
  options.ready_timeout = std::chrono::seconds(90);
  Jobcastd node(options);
  node.start();

  ASSERT_TRUE(eventually([&] { return httpGet(node.url("/readyz")).status == 200; },
                         std::chrono::seconds(30)));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(httpGet(node.url("/healthz")).status, 200);
    EXPECT_EQ(httpGet(node.url("/metrics")).status, 200);
    EXPECT_EQ(httpGet(node.url("/nowhere")).status, 404);
    EXPECT_EQ(httpGet(node.httpsUrl("/readyz")).status, 200);
  }
  HttpRequest big;
  big.method = "POST";
  big.url = node.url("/healthz");
  big.body = std::string(3 << 20, 'x');
  EXPECT_EQ(http(big).status, 413);

  int code = node.stop(SIGTERM, std::chrono::seconds(60));
  std::string report = readAll(vlog);
  EXPECT_EQ(code, 0) << "exit 99 means valgrind found errors or definite leaks:\n" << report;
  EXPECT_EQ(report.find("Invalid read"), std::string::npos) << report;
  EXPECT_EQ(report.find("Invalid write"), std::string::npos) << report;
  EXPECT_NE(report.find("definitely lost: 0 bytes"), std::string::npos)
      << "no clean leak summary:\n"
      << report;
}

}  // namespace
}  // namespace jobcast::test
