#pragma once
// Staff accounts and their sign-in without a terminal (docs/access.md):
// admins create accounts (employer users, counsellors, captioners,
// interpreters, admins) and issue one-time sign-in codes; redeeming a code
// (POST /api/v1/signin) yields the role's token. Revoking or disabling an
// account raises its gate, the lowest token version (claim "av") accepted.
//
// Every node keeps all gates in memory (AccountGates), loaded at start and
// after each reconnect of its subscriber, and kept current by the gate
// channel, so checking a token costs no Redis round trip on REST or per
// WebSocket frame. All on the control thread.

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/jwt.h"
#include "core/loop.h"
#include "core/redis.h"
#include "core/redis_subscriber.h"
#include "signaling/http.h"
#include "signaling/rate_limiter.h"

namespace jobcast::backoffice {

// What an account is for. Interpreters sign in with a captioner's token: the
// room lists them as its interpreters (rooms/access.h).
enum class AccountKind { Admin, Employer, Counsellor, Captioner, Interpreter };
std::optional<AccountKind> parseAccountKind(std::string_view name);
const char* accountKindName(AccountKind kind);
Role tokenRoleOf(AccountKind kind);

// The gates of every account, on this node.
class AccountGates {
 public:
  AccountGates(Loop& loop, RedisClient& redis, const RedisAddress& address);
  ~AccountGates();
  AccountGates(const AccountGates&) = delete;
  AccountGates& operator=(const AccountGates&) = delete;

  // Subscribes to the gate channel; (re)loads every gate once subscribed.
  void start();
  // token_revoked when the token's account is disabled or the token older
  // than its gate; nothing for tokens without an account (av = 0).
  std::optional<Error> check(const Claims& claims) const;
  // Records a gate (from the channel, a load, or this node's own change) and
  // tells the listeners when tokens of the account stop being accepted.
  void set(const std::string& account, int64_t gate);
  // Called with the account and its new gate whenever tokens were revoked.
  void onRevoked(std::function<void(const std::string&, int64_t)> cb) {
    listeners_.push_back(std::move(cb));
  }
  size_t size() const { return gates_.size(); }

 private:
  void load();
  RedisClient& redis_;
  RedisSubscriber subscriber_;
  std::unordered_map<std::string, int64_t> gates_;
  std::vector<std::function<void(const std::string&, int64_t)>> listeners_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// A newly issued sign-in code and where to open it.
struct SigninLink {
  std::string account;
  std::string code;  // shown once: only its SHA-256 is kept
  std::string path;  // "/admin#signin=CODE"
  int64_t expires_at = 0;
};

class AccountsApi {
 public:
  struct Options {
    int64_t link_ttl_s = 3600;           // default lifetime of a sign-in code
    int64_t max_link_ttl_s = 7 * 86400;  // the most an admin may ask for
    int64_t token_ttl_s = 12 * 3600;     // lifetime of a token from a code
    int64_t audit_maxlen = 100000;
    // Redemptions per client address: codes are 128 random bits, this keeps
    // guessing slow and loud.
    RateLimiter::Options redeem_rate{.per_second = 0.2, .burst = 10};
  };
  AccountsApi(http::Router& router, Loop& loop, RedisClient& redis, const Jwt& jwt,
              AccountGates& gates, Options options);

  // Creates an account and issues its first sign-in code: the first admin
  // (`jobcastd --first-admin NAME`) comes this way. `actor` is audited.
  void createWithLink(AccountKind kind, const std::string& name, const std::string& employer_id,
                      const std::string& actor, std::function<void(Result<SigninLink>)> done);

 private:
  void routes(http::Router& router);
  void create(AccountKind kind, const std::string& name, const std::string& employer_id,
              const std::string& actor, std::function<void(Result<nlohmann::json>)> done);
  void issueLink(const std::string& account, int64_t ttl_s, const std::string& actor,
                 std::function<void(Result<SigninLink>)> done);

  RedisClient& redis_;
  const Jwt& jwt_;
  AccountGates& gates_;
  Options options_;
  RateLimiter redeem_limiter_;
};

}  // namespace jobcast::backoffice
