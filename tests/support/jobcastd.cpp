#include "tests/support/jobcastd.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/tokens.h"

#ifndef JOBCAST_BINARY
#error "JOBCAST_BINARY must name the jobcastd under test"
#endif

namespace jobcast::test {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path,
            const std::map<std::string, std::string>& env) {
  pid_t pid = ::fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    for (const auto& [k, v] : env)
      ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

std::string Jobcastd::binary() {
  return JOBCAST_BINARY;
}

Jobcastd::Jobcastd(Options options) : options_(std::move(options)) {
  data_dir_ = dir_.path() + "/data";
  log_path_ = dir_.path() + "/jobcastd.log";
}

Jobcastd::~Jobcastd() {
  if (pid_ > 0)
    stop(SIGKILL);
}

void Jobcastd::start() {
  std::vector<std::string> argv = options_.wrapper;
  argv.insert(argv.end(),
              {binary(), "--listen", "127.0.0.1:0", "--data-dir", data_dir_, "--log-format", "json",
               "--tls-listen", options_.tls ? "127.0.0.1:0" : "off"});
  // A list of nodes (RedisServer::address() in cluster mode) is a Redis Cluster.
  bool cluster = options_.redis.find(',') != std::string::npos;
  if (!options_.redis.empty() && !cluster)
    argv.insert(argv.end(), {"--redis", options_.redis});
  argv.insert(argv.end(), options_.args.begin(), options_.args.end());
  std::map<std::string, std::string> env = {
      {"JOBCAST_JWT_SECRET", kJwtSecret},
      {"JOBCAST_DATA_KEY", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}};
  if (cluster)
    env["JOBCAST_REDIS_CLUSTER"] = options_.redis;
  for (const auto& [k, v] : options_.env)
    env[k] = v;
  pid_ = spawn(argv, log_path_, env);
  ASSERT_GT(pid_, 0);

  auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = readFile(log_path_);
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("msg", "") == "jobcastd ready") {
        http_port_ = j.value("http_port", -1);
        https_port_ = j.value("https_port", -1);
        // One Redis answers before the test's first request; a cluster's slot
        // map and its masters take a moment longer. Wait for them as a load
        // balancer would (bounded, not failing: a test may start the node
        // with Redis down on purpose).
        if (cluster && http_port_ > 0)
          eventually([&] { return httpGet(url("/readyz")).status == 200; },
                     std::chrono::seconds(5));
        return;
      }
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "jobcastd exited during start:\n" << text;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "jobcastd not ready in time:\n" << readFile(log_path_);
}

int Jobcastd::stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, sig);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_)
      break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

void Jobcastd::signal(int sig) {
  if (pid_ > 0)
    ::kill(pid_, sig);
}

int Jobcastd::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0)
    return -1;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline)
      return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

bool Jobcastd::running() {
  if (pid_ <= 0)
    return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string Jobcastd::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(http_port_) + path;
}

std::string Jobcastd::httpsUrl(const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(https_port_) + path;
}

std::string Jobcastd::log() const {
  return readFile(log_path_);
}

int Jobcastd::runToExit(const std::vector<std::string>& args, std::string* output,
                        const std::map<std::string, std::string>& env) {
  TempDir dir("jobcastd-run");
  std::string log_path = dir.path() + "/out.log";
  std::vector<std::string> argv = {binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = spawn(argv, log_path, env);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (output)
    *output = readFile(log_path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool eventually(const std::function<bool()>& fn, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fn();
}

}  // namespace jobcast::test
