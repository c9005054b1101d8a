// Signed webhooks through a real jobcastd and redis-server to a real HTTP
// receiver in this process: every event once with a valid signature, retries
// of a failing receiver across a node that dies mid-delivery, dead letters and
// their replay, and who may manage endpoints.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tokens.h"

namespace jobcast::test {
namespace {

using nlohmann::json;

// One request the receiver got, and what it answered.
struct Delivery {
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  int status = 0;
  json payload() const { return json::parse(body, nullptr, false); }
};

// A plain HTTP/1.1 server on 127.0.0.1: one request per connection, answered
// with what `answer` returns for it (called on the receiver's thread).
class Receiver {
 public:
  using Answer = std::function<int(const Delivery&, int nth_for_event)>;
  explicit Receiver(Answer answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

  // Waits until `pred` holds over everything received so far.
  bool waitFor(const std::function<bool(const std::vector<Delivery>&)>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return pred(got_); });
  }
  std::vector<Delivery> got() {
    std::lock_guard lock(mutex_);
    return got_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0)
        continue;
      handle(c);
      ::close(c);
    }
  }

  void handle(int c) {
    std::string in;
    char buf[4096];
    size_t header_end = std::string::npos;
    size_t want = 0;
    while (true) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0)
        return;
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0)
        return;
      in.append(buf, static_cast<size_t>(n));
      if (header_end == std::string::npos) {
        header_end = in.find("\r\n\r\n");
        if (header_end == std::string::npos)
          continue;
      }
      Delivery d;
      std::istringstream lines(in.substr(0, header_end));
      std::string line;
      std::getline(lines, line);  // request line
      while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r')
          line.pop_back();
        auto colon = line.find(':');
        if (colon == std::string::npos)
          continue;
        std::string name = line.substr(0, colon);
        for (auto& ch : name)
          ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        d.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      }
      want = std::stoul(d.headers.count("content-length") ? d.headers["content-length"] : "0");
      if (in.size() < header_end + 4 + want)
        continue;
      d.body = in.substr(header_end + 4, want);
      int nth = ++seen_[d.headers["jobcast-event-id"]];
      d.status = answer_(d, nth);
      std::string out = "HTTP/1.1 " + std::to_string(d.status) +
                        " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!::write(c, out.data(), out.size());
      std::lock_guard lock(mutex_);
      got_.push_back(std::move(d));
      changed_.notify_all();
      return;
    }
  }

  Answer answer_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::map<std::string, int> seen_;  // receiver thread only
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Delivery> got_;
  std::thread thread_;
};

// The receiver's own check of "t=SECONDS,v1=HEX" over "SECONDS.BODY".
bool validSignature(const Delivery& d, const std::string& secret) {
  auto it = d.headers.find("jobcast-signature");
  if (it == d.headers.end())
    return false;
  const std::string& sig = it->second;
  auto comma = sig.find(",v1=");
  if (sig.rfind("t=", 0) != 0 || comma == std::string::npos)
    return false;
  std::string t = sig.substr(2, comma - 2);
  std::string text = t + "." + d.body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned int i = 0; i < len; ++i)
    snprintf(hex + 2 * i, 3, "%02x", mac[i]);
  return sig.substr(comma + 4) == std::string(hex, 2 * len);
}

int countAccepted(const std::vector<Delivery>& got, const std::string& type = "") {
  int n = 0;
  for (const auto& d : got)
    if (d.status == 200 && (type.empty() || d.payload().value("type", "") == type))
      ++n;
  return n;
}

class Webhooks : public ::testing::Test {
 protected:
  void startNode(const std::string& extra_config = "") {
    std::ofstream(config) << "webhooks:\n  backoff_ms: 20\n  backoff_max_ms: 100\n"
                             "  claim_idle_ms: 1000\n  timeout_ms: 3000\n  sweep_ms: 20\n"
                          << extra_config;
    node = std::make_unique<Jobcastd>(
        Jobcastd::Options{.args = {"--config", config}, .redis = redis.address()});
    node->start();
  }

  HttpResponse call(const std::string& method, const std::string& path, const std::string& bearer,
                    const json& body = nullptr) {
    HttpRequest request;
    request.method = method;
    request.url = node->url("/api/v1" + path);
    if (!body.is_null()) {
      request.body = body.dump();
      request.headers.emplace_back("content-type", "application/json");
    }
    request.headers.emplace_back("authorization", "Bearer " + bearer);
    return http(request);
  }

  // Registers `url` for every event type; returns the signing secret.
  std::string registerEndpoint(const std::string& url) {
    auto r = call("POST", "/admin/webhooks", admin,
                  {{"url", url},
                   {"events",
                    {"application.created", "application.status_changed", "room.scheduled",
                     "room.started", "room.ended"}}});
    EXPECT_EQ(r.status, 201) << r.body;
    endpoint_id = r.json().value("id", "");
    return r.json().value("secret", "");
  }

  // A verified employer and a room with one job; answers the room id.
  std::string seedRoom() {
    call("POST", "/employers", admin, {{"id", "acme"}, {"name", "Acme"}});
    call("POST", "/employers/acme/verify", admin);
    auto room =
        call("POST", "/rooms", acme,
             {{"title", "Spring fair"}, {"region_code", "150200"}, {"scheduled_at", 1767225600}});
    EXPECT_EQ(room.status, 201) << room.body;
    room_id = room.json().value("id", "");
    auto job = call("POST", "/rooms/" + room_id + "/jobs", acme,
                    {{"title", "Driller"},
                     {"wage_min", 6000},
                     {"wage_max", 9000},
                     {"wage_unit", "month"},
                     {"hours", "8h"},
                     {"location", "Baotou"},
                     {"headcount", 1}});
    EXPECT_EQ(job.status, 201) << job.body;
    job_id = job.json().value("id", "");
    return room_id;
  }

  // Nothing is left to deliver: no room outbox entry, no delivery queued,
  // read or waiting for a retry.
  bool drained() {
    return redis.command({"XLEN", "jc:{r:" + room_id + "}:outbox"}) == "0" &&
           redis.command({"XLEN", "jc:{webhooks}:deliveries"}) == "0" &&
           redis.command({"ZCARD", "jc:{webhooks}:retries"}) == "0";
  }

  RedisServer redis;
  TempDir dir{"jobcast-webhooks"};
  std::string config = dir.path() + "/jobcast.yaml";
  std::unique_ptr<Jobcastd> node;
  std::string admin = signToken(Role::Admin, "root", {"*"});
  std::string acme = signToken(Role::Employer, "acme", {"*"});
  std::string seeker = signToken(Role::Jobseeker, "seeker-1", {"*"});
  std::string endpoint_id, room_id, job_id;
};

TEST_F(Webhooks, EveryEventArrivesOnceWithAValidSignature) {
  startNode();
  Receiver receiver([](const Delivery&, int) { return 200; });
  const std::string secret = registerEndpoint(receiver.url());
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u);
  // At rest the secret is sealed: its text is nowhere in Redis.
  EXPECT_EQ(redis.command({"HGET", "jc:{webhooks}:secrets", endpoint_id}).find(secret),
            std::string::npos);

  seedRoom();
  ASSERT_EQ(call("POST", "/rooms/" + room_id + "/start", acme).status, 200);
  ASSERT_EQ(call("PUT", "/me/profile", seeker,
                 {{"name", "Bayar"}, {"phone", "13800138000"}, {"cv", "CV"}})
                .status,
            200);
  auto app = call("POST", "/rooms/" + room_id + "/jobs/" + job_id + "/apply", seeker);
  ASSERT_EQ(app.status, 201) << app.body;
  ASSERT_EQ(
      call("PATCH", "/applications/" + app.json().value("id", ""), acme, {{"status", "viewed"}})
          .status,
      200);
  ASSERT_EQ(call("POST", "/rooms/" + room_id + "/end", acme).status, 200);

  ASSERT_TRUE(receiver.waitFor([](const auto& got) { return countAccepted(got) >= 5; }))
      << node->log();
  ASSERT_TRUE(eventually([&] { return drained(); }));
  auto got = receiver.got();
  ASSERT_EQ(got.size(), 5u);
  std::set<std::string> ids;
  std::vector<std::string> types;
  for (const auto& d : got) {
    EXPECT_TRUE(validSignature(d, secret)) << d.headers.at("jobcast-signature");
    EXPECT_FALSE(validSignature(d, secret + "x"));
    json p = d.payload();
    ASSERT_FALSE(p.is_discarded()) << d.body;
    EXPECT_EQ(p["id"], d.headers.at("jobcast-event-id"));
    EXPECT_EQ(p["type"], d.headers.at("jobcast-event-type"));
    ids.insert(p["id"].get<std::string>());
    types.push_back(p["type"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), 5u);  // each event once
  EXPECT_EQ(types,
            (std::vector<std::string>{"room.scheduled", "room.started", "application.created",
                                      "application.status_changed", "room.ended"}));
  EXPECT_EQ(got[2].payload()["data"]["application"]["job_id"], job_id);
  EXPECT_EQ(got[3].payload()["data"]["status"], "viewed");
}

TEST_F(Webhooks, AReceiverFailingTwiceGetsTheEventOnceAcrossANodeThatDied) {
  startNode();
  // The first request is held until the node that sent it is gone, then
  // answered 500; the second is 500 too; the third 200.
  std::mutex gate_mutex;
  std::condition_variable gate_cv;
  bool first_arrived = false, release = false;
  Receiver receiver([&](const Delivery&, int nth) {
    if (nth == 1) {
      std::unique_lock lock(gate_mutex);
      first_arrived = true;
      gate_cv.notify_all();
      gate_cv.wait(lock, [&] { return release; });
    }
    return nth <= 2 ? 500 : 200;
  });
  const std::string secret = registerEndpoint(receiver.url());
  seedRoom();  // room.scheduled
  {
    std::unique_lock lock(gate_mutex);
    ASSERT_TRUE(gate_cv.wait_for(lock, std::chrono::seconds(20), [&] { return first_arrived; }));
  }
  // The node dies with the delivery read but not settled.
  node->stop(SIGKILL);
  {
    std::lock_guard lock(gate_mutex);
    release = true;
  }
  gate_cv.notify_all();
  startNode();  // another node (its own consumer name) takes the delivery over

  ASSERT_TRUE(receiver.waitFor([](const auto& got) { return countAccepted(got) == 1; }))
      << node->log();
  ASSERT_TRUE(eventually([&] { return drained(); }));
  auto got = receiver.got();
  ASSERT_EQ(got.size(), 3u);
  for (const auto& d : got) {
    EXPECT_EQ(d.headers.at("jobcast-event-id"), got[0].headers.at("jobcast-event-id"));
    EXPECT_TRUE(validSignature(d, secret));
  }
  EXPECT_EQ(got[2].status, 200);
  EXPECT_EQ(got[2].payload()["type"], "room.scheduled");
}

TEST_F(Webhooks, DeadLetteredAfterMaxAttemptsAndReplayedByAnAdmin) {
  startNode("  max_attempts: 3\n");
  std::atomic<bool> healthy{false};
  Receiver receiver([&](const Delivery&, int) { return healthy ? 200 : 503; });
  const std::string secret = registerEndpoint(receiver.url());
  seedRoom();

  json dead;
  ASSERT_TRUE(eventually(
      [&] {
        dead = call("GET", "/admin/webhooks/dead", admin).json();
        return dead["deliveries"].size() == 1;
      },
      std::chrono::seconds(20)))
      << dead.dump();
  const json entry = dead["deliveries"][0];
  EXPECT_EQ(entry["attempts"], 3);
  EXPECT_EQ(entry["type"], "room.scheduled");
  EXPECT_EQ(entry["endpoint"], endpoint_id);
  EXPECT_EQ(entry["error"], "HTTP 503");
  EXPECT_EQ(receiver.got().size(), 3u);
  EXPECT_EQ(call("GET", "/admin/webhooks/dead", acme).status, 403);
  EXPECT_EQ(call("POST", "/admin/webhooks/dead/1-1/replay", admin).status, 404);

  healthy = true;
  auto replay =
      call("POST", "/admin/webhooks/dead/" + entry["id"].get<std::string>() + "/replay", admin);
  ASSERT_EQ(replay.status, 200) << replay.body;
  ASSERT_TRUE(receiver.waitFor([](const auto& got) { return countAccepted(got) == 1; }));
  ASSERT_TRUE(eventually([&] { return drained(); }));
  EXPECT_EQ(receiver.got().size(), 4u);
  EXPECT_TRUE(validSignature(receiver.got().back(), secret));
  EXPECT_EQ(receiver.got().back().headers.at("jobcast-event-id"), entry["event"]);
  EXPECT_TRUE(call("GET", "/admin/webhooks/dead", admin).json()["deliveries"].empty());
}

TEST_F(Webhooks, OnlyAdminsManageEndpointsAndBadOnesAreRefused) {
  startNode();
  json good = {{"url", "http://127.0.0.1:9/x"}, {"events", {"room.started"}}};
  EXPECT_EQ(call("POST", "/admin/webhooks", acme, good).status, 403);
  EXPECT_EQ(call("POST", "/admin/webhooks", seeker, good).status, 403);
  EXPECT_EQ(call("GET", "/admin/webhooks", acme).status, 403);
  auto bad_type = call("POST", "/admin/webhooks", admin,
                       {{"url", "http://x.example/"}, {"events", {"room.x"}}});
  EXPECT_EQ(bad_type.status, 400);
  EXPECT_EQ(bad_type.json()["error"]["code"], "invalid_field") << bad_type.body;
  auto bad_url = call("POST", "/admin/webhooks", admin,
                      {{"url", "ftp://x.example/"}, {"events", {"room.started"}}});
  EXPECT_EQ(bad_url.status, 400);
  EXPECT_EQ(bad_url.json()["error"]["code"], "invalid_field");

  auto created = call("POST", "/admin/webhooks", admin, good);
  ASSERT_EQ(created.status, 201);
  auto list = call("GET", "/admin/webhooks", admin).json();
  ASSERT_EQ(list["webhooks"].size(), 1u);
  EXPECT_FALSE(list["webhooks"][0].contains("secret"));  // shown once, at registration
  std::string id = created.json()["id"];
  EXPECT_EQ(call("DELETE", "/admin/webhooks/" + id, admin).status, 200);
  EXPECT_EQ(call("DELETE", "/admin/webhooks/" + id, admin).status, 404);
  EXPECT_TRUE(call("GET", "/admin/webhooks", admin).json()["webhooks"].empty());
}

}  // namespace
}  // namespace jobcast::test
