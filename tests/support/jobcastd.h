#pragma once
// The real jobcastd binary, started for one test on a free port with its own data
// directory; stderr goes to a file the test can read.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace jobcast::test {

// Forks and execs argv (found on PATH) with stdout and stderr to `log_path`
// and `env` added; the child dies with the test process.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path,
            const std::map<std::string, std::string>& env = {});

class Jobcastd {
 public:
  struct Options {
    std::vector<std::string> args;           // extra command-line arguments
    std::map<std::string, std::string> env;  // extra environment
    // --redis; a comma-separated list of nodes is a Redis Cluster
    // (JOBCAST_REDIS_CLUSTER); empty = embedded child.
    std::string redis;
    bool tls = false;                  // also listen for HTTPS on a free port
    std::vector<std::string> wrapper;  // e.g. {"valgrind", "--leak-check=full"}
    std::chrono::milliseconds ready_timeout{15000};
  };

  Jobcastd() : Jobcastd(Options{}) {}
  explicit Jobcastd(Options options);
  ~Jobcastd();

  // Starts the process and waits for its "jobcastd ready" log line.
  void start();
  // Sends `sig` and waits; returns the exit code (or 128+signal). -1 on timeout.
  int stop(int sig = 15, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool running();
  // Sends `sig` and returns at once (the process may take its time: a drain).
  void signal(int sig);
  // Waits for the process to exit by itself; its exit code (or 128+signal),
  // -1 when it still runs after `timeout` (it is left running).
  int wait(std::chrono::milliseconds timeout);

  pid_t pid() const { return pid_; }
  int httpPort() const { return http_port_; }
  int httpsPort() const { return https_port_; }
  std::string url(const std::string& path = "") const;
  std::string httpsUrl(const std::string& path = "") const;
  const std::string& dataDir() const { return data_dir_; }
  std::string log() const;  // everything it wrote to stderr so far

  // Path of the jobcastd binary under test.
  static std::string binary();
  // Runs jobcastd to completion with these arguments; returns exit code, fills output.
  static int runToExit(const std::vector<std::string>& args, std::string* output,
                       const std::map<std::string, std::string>& env = {});

 private:
  Options options_;
  TempDir dir_{"jobcastd"};
  std::string data_dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  int http_port_ = -1;
  int https_port_ = -1;
};

// Polls `fn` every 20 ms until it returns true or `timeout` passes.
bool eventually(const std::function<bool()>& fn,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace jobcast::test
