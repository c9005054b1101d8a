#include "backoffice/accounts.h"

#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "backoffice/guarded_route.h"
#include "backoffice/webhook_scripts.h"
#include "core/address_set.h"
#include "core/log.h"
#include "core/secrets.h"
#include "rooms/access.h"
#include "rooms/keys.h"
#include "signaling/auth.h"
#include "signaling/rooms_api.h"
#include "signaling/wire.h"

namespace jobcast::backoffice {
namespace {

namespace keys = rooms::keys;
using http::Method;
using http::Request;
using http::Responder;
using nlohmann::json;

constexpr std::array kKinds = {"admin", "employer", "counsellor", "captioner", "interpreter"};

void fail(const Responder& r, const Error& e) {
  r.send(errorResponse(e));
}

const RedisScript& createScript() {
  static const RedisScript s{std::string(scripts::kAccountCreateLua)};
  return s;
}
const RedisScript& linkScript() {
  static const RedisScript s{std::string(scripts::kAccountLinkLua)};
  return s;
}
const RedisScript& redeemScript() {
  static const RedisScript s{std::string(scripts::kAccountRedeemLua)};
  return s;
}
const RedisScript& gateScript() {
  static const RedisScript s{std::string(scripts::kAccountGateLua)};
  return s;
}

std::string sha256Hex(const std::string& text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// A script's answer: {"ok", ...} or {"err", CODE}; transport and script
// failures become the client's error.
Result<RedisReply> scriptOutcome(Result<RedisReply> reply) {
  if (!reply.ok())
    return Error{"redis_unavailable", "the data store is not reachable"};
  const RedisReply& v = reply.value();
  if (v.isError() || v.elements.empty())
    return Error{"internal", "the data store refused the request"};
  if (v.elements[0].str == "err") {
    std::string code = v.elements.size() > 1 ? v.elements[1].str : "internal";
    static const std::map<std::string, std::string> kMessages = {
        {"conflict", "an account with this id exists already"},
        {"not_found", "no such account"},
        {"account_disabled", "the account is disabled"},
        {"invalid_signin_code", "the sign-in code is unknown, used already or expired"},
    };
    auto it = kMessages.find(code);
    return Error{code, it == kMessages.end() ? "the request failed" : it->second};
  }
  return reply;
}

// The account as admins see it (signaling/schema/out/defs.json#account).
json accountView(const json& stored, std::optional<int64_t> gate = std::nullopt) {
  json out = {{"id", stored.value("id", "")},
              {"kind", stored.value("kind", "")},
              {"role", stored.value("role", "")},
              {"name", stored.value("name", "")},
              {"status", stored.value("status", "active")},
              {"created_at", stored.value("created_at", int64_t{0})},
              {"created_by", stored.value("created_by", "")}};
  if (stored.contains("employer_id") && stored["employer_id"].is_string())
    out["employer_id"] = stored["employer_id"];
  if (gate && *gate < 0)
    out["status"] = "disabled";
  return out;
}

std::string fingerprint(const std::string& code_hash) {
  return code_hash.substr(0, 8);
}

}  // namespace

std::optional<AccountKind> parseAccountKind(std::string_view name) {
  for (size_t i = 0; i < kKinds.size(); ++i) {
    if (name == kKinds[i])
      return static_cast<AccountKind>(i);
  }
  return std::nullopt;
}

const char* accountKindName(AccountKind kind) {
  return kKinds[static_cast<size_t>(kind)];
}

Role tokenRoleOf(AccountKind kind) {
  switch (kind) {
    case AccountKind::Admin:
      return Role::Admin;
    case AccountKind::Employer:
      return Role::Employer;
    case AccountKind::Counsellor:
      return Role::Counsellor;
    case AccountKind::Captioner:
    case AccountKind::Interpreter:
      return Role::Captioner;
  }
  return Role::Captioner;
}

// ---- AccountGates ----

AccountGates::AccountGates(Loop& loop, RedisClient& redis, const RedisAddress& address)
    : redis_(redis),
      subscriber_(loop,
                  redis.clustered() ? redis.nodeAddresses() : std::vector<RedisAddress>{address}) {
  subscriber_.addPattern(keys::accountGateChannel());
  subscriber_.onMessage([this](const std::string&, const std::string& payload) {
    auto space = payload.find(' ');
    if (space == std::string::npos)
      return;
    char* end = nullptr;
    long long gate = std::strtoll(payload.c_str() + space + 1, &end, 10);
    if (*end != '\0')
      return;
    set(payload.substr(0, space), gate);
  });
  // Whatever changed while the subscriber was away is in the hash.
  subscriber_.onSubscribed([this] { load(); });
}

AccountGates::~AccountGates() {
  *alive_ = false;
}

void AccountGates::start() {
  subscriber_.start();
}

void AccountGates::load() {
  redis_.command({"HGETALL", keys::accountGates()},
                 [this, alive = alive_](Result<RedisReply> reply) {
                   if (!*alive)
                     return;
                   if (!reply.ok() || reply.value().isError()) {
                     log::warn("account gates not loaded", {{"error", "redis"}});
                     return;
                   }
                   const auto& e = reply.value().elements;
                   for (size_t i = 0; i + 1 < e.size(); i += 2)
                     set(e[i].str, std::strtoll(e[i + 1].str.c_str(), nullptr, 10));
                 });
}

void AccountGates::set(const std::string& account, int64_t gate) {
  auto [it, fresh] = gates_.try_emplace(account, gate);
  // A gate's magnitude only grows: an older value (a load that crossed a
  // message) is stale and must not accept revoked tokens again.
  if (!fresh && std::llabs(gate) < std::llabs(it->second))
    return;
  int64_t before = fresh ? 1 : it->second;
  it->second = gate;
  // Tokens stop being accepted when the gate rises or the account is disabled.
  bool revoked = gate < 0 ? before >= 0 || gate != before : gate > before;
  if (revoked) {
    for (const auto& listener : listeners_)
      listener(account, gate);
  }
}

std::optional<Error> AccountGates::check(const Claims& claims) const {
  if (claims.av == 0)
    return std::nullopt;
  auto it = gates_.find(claims.sub);
  // An account this node has not heard of yet was created a moment ago on
  // another node: nothing of it can have been revoked.
  if (it == gates_.end())
    return std::nullopt;
  if (it->second < 0)
    return Error{"token_revoked", "the account is disabled"};
  if (claims.av < it->second)
    return Error{"token_revoked", "the token was revoked; sign in again"};
  return std::nullopt;
}

// ---- AccountsApi ----

AccountsApi::AccountsApi(http::Router& router, Loop& loop, RedisClient& redis, const Jwt& jwt,
                         AccountGates& gates, Options options)
    : redis_(redis),
      jwt_(jwt),
      gates_(gates),
      options_(options),
      redeem_limiter_(options.redeem_rate, loop.clock()) {
  routes(router);
}

void AccountsApi::create(AccountKind kind, const std::string& name, const std::string& employer_id,
                         const std::string& actor, std::function<void(Result<json>)> done) {
  const std::string id = "acct_" + randomHex(6);
  json stored = {{"id", id},
                 {"kind", accountKindName(kind)},
                 {"role", roleName(tokenRoleOf(kind))},
                 {"name", name},
                 {"status", "active"},
                 {"created_at", http::epochSeconds()},
                 {"created_by", actor}};
  if (kind == AccountKind::Employer)
    stored["employer_id"] = employer_id;
  createScript().run(redis_, {keys::accounts(), keys::accountGates(), keys::accountAudit()},
                     {id, stored.dump(), actor, std::to_string(http::epochSeconds()),
                      std::to_string(options_.audit_maxlen)},
                     [this, id, stored, done](Result<RedisReply> reply) {
                       auto outcome = scriptOutcome(std::move(reply));
                       if (!outcome.ok())
                         return done(outcome.error());
                       gates_.set(id, 1);
                       done(stored);
                     });
}

void AccountsApi::issueLink(const std::string& account, int64_t ttl_s, const std::string& actor,
                            std::function<void(Result<SigninLink>)> done) {
  SigninLink link;
  link.account = account;
  link.code = randomHex(16);
  link.path = "/admin#signin=" + link.code;
  link.expires_at = http::epochSeconds() + ttl_s;
  const std::string hash = sha256Hex(link.code);
  linkScript().run(
      redis_,
      {keys::accounts(), keys::accountGates(), keys::signinCode(hash), keys::accountAudit()},
      {account, std::to_string(ttl_s), actor, std::to_string(http::epochSeconds()),
       std::to_string(options_.audit_maxlen), fingerprint(hash)},
      [link, done](Result<RedisReply> reply) {
        auto outcome = scriptOutcome(std::move(reply));
        if (!outcome.ok())
          return done(outcome.error());
        done(link);
      });
}

void AccountsApi::createWithLink(AccountKind kind, const std::string& name,
                                 const std::string& employer_id, const std::string& actor,
                                 std::function<void(Result<SigninLink>)> done) {
  create(kind, name, employer_id, actor, [this, actor, done](Result<json> account) {
    if (!account.ok())
      return done(account.error());
    issueLink(account.value()["id"].get<std::string>(), options_.link_ttl_s, actor, done);
  });
}

void AccountsApi::routes(http::Router& router) {
  const std::string base = "/api/v1/admin/accounts";
  // Every admin route: an admin token, or the error says why not.
  auto admin = [this](auto handler) {
    return guardedRoute(jwt_, rooms::mayManageAccounts, std::move(handler));
  };

  router.add(
      Method::Post, base, admin([this](const Request& q, const Responder& r, const Claims& who) {
        auto body = wire::parseBody(q.routeKey(), q.body);
        if (!body.ok())
          return fail(r, body.error());
        const json& b = body.value();
        auto kind = parseAccountKind(b.at("kind").get<std::string>());
        if (!kind)
          return fail(r, Error{"invalid_field",
                               "kind: must be admin, employer, counsellor, captioner or "
                               "interpreter"});
        std::string name = b.at("name").get<std::string>();
        std::string employer = b.value("employer_id", "");
        auto made = [this, r, who, kind = *kind, name, employer] {
          create(kind, name, employer, who.sub, [r](Result<json> account) {
            if (!account.ok())
              return fail(r, account.error());
            r.json(201, accountView(account.value()));
          });
        };
        if (*kind != AccountKind::Employer)
          return made();
        if (employer.empty())
          return fail(r, Error{"invalid_field", "employer_id: is required for employers"});
        // The employer's hash lives on its own slot: checked before the script.
        redis_.command({"EXISTS", keys::employer(employer)}, [r, made](Result<RedisReply> reply) {
          if (!reply.ok())
            return fail(r, Error{"redis_unavailable", "the data store is not reachable"});
          if (reply.value().integer == 0)
            return fail(r, Error{"invalid_field", "employer_id: no such employer"});
          made();
        });
      }));

  router.add(Method::Get, base, admin([this](const Request&, const Responder& r, const Claims&) {
               redis_.command({"HVALS", keys::accounts()}, [r](Result<RedisReply> reply) {
                 if (!reply.ok() || reply.value().isError())
                   return fail(r, Error{"redis_unavailable", "the data store is not reachable"});
                 json items = json::array();
                 for (const auto& v : reply.value().elements) {
                   auto stored = json::parse(v.str, nullptr, false);
                   if (stored.is_object())
                     items.push_back(accountView(stored));
                 }
                 std::sort(items.begin(), items.end(), [](const json& a, const json& b) {
                   return a["created_at"].get<int64_t>() > b["created_at"].get<int64_t>();
                 });
                 r.json(200, {{"items", items}});
               });
             }));

  router.add(Method::Post, base + "/{id}/links",
             admin([this](const Request& q, const Responder& r, const Claims& who) {
               auto body = wire::parseBody(q.routeKey(), q.body, true);
               if (!body.ok())
                 return fail(r, body.error());
               int64_t ttl = body.value().value("ttl_s", options_.link_ttl_s);
               if (ttl < 60 || ttl > options_.max_link_ttl_s)
                 return fail(r,
                             Error{"invalid_field", "ttl_s: must be from 60 to " +
                                                        std::to_string(options_.max_link_ttl_s)});
               issueLink(q.param("id"), ttl, who.sub, [r](Result<SigninLink> link) {
                 if (!link.ok())
                   return fail(r, link.error());
                 r.json(201, {{"account", link->account},
                              {"code", link->code},
                              {"path", link->path},
                              {"expires_at", link->expires_at}});
               });
             }));

  for (const char* action : {"revoke", "disable", "enable"}) {
    std::string act = action;
    router.add(Method::Post, base + "/{id}/" + act,
               admin([this, act](const Request& q, const Responder& r, const Claims& who) {
                 std::string id = q.param("id");
                 gateScript().run(
                     redis_, {keys::accounts(), keys::accountGates(), keys::accountAudit()},
                     {id, act, who.sub, std::to_string(http::epochSeconds()),
                      std::to_string(options_.audit_maxlen), keys::accountGateChannel()},
                     [this, r, id](Result<RedisReply> reply) {
                       auto outcome = scriptOutcome(std::move(reply));
                       if (!outcome.ok())
                         return fail(r, outcome.error());
                       const auto& e = outcome.value().elements;
                       int64_t gate = std::strtoll(e.at(2).str.c_str(), nullptr, 10);
                       // This node closes the account's connections now, not
                       // when its own message comes back.
                       gates_.set(id, gate);
                       json account = json::parse(e.at(1).str, nullptr, false);
                       if (!account.is_object())
                         return fail(r, Error{"internal", "the account is malformed"});
                       r.json(200, accountView(account, gate));
                     });
               }));
  }

  // Redeeming a code: no token; rate-limited per client address.
  router.add(Method::Post, "/api/v1/signin", [this](const Request& q, const Responder& r) {
    std::string client = "ip:" + AddressSet::clientKey(q.client);
    if (!redeem_limiter_.allow(client)) {
      auto response = errorResponse(Error{"rate_limited", "too many sign-in attempts; slow down"});
      response.header("retry-after", std::to_string(redeem_limiter_.retryAfterSeconds(client)));
      return r.send(std::move(response));
    }
    auto body = wire::parseBody(q.routeKey(), q.body);
    if (!body.ok())
      return fail(r, body.error());
    const std::string hash = sha256Hex(body.value().at("code").get<std::string>());
    redeemScript().run(
        redis_,
        {keys::signinCode(hash), keys::accounts(), keys::accountGates(), keys::accountAudit()},
        {std::to_string(http::epochSeconds()), std::to_string(options_.audit_maxlen),
         fingerprint(hash)},
        [this, r](Result<RedisReply> reply) {
          auto outcome = scriptOutcome(std::move(reply));
          if (!outcome.ok())
            return fail(r, outcome.error());
          const auto& e = outcome.value().elements;
          json account = json::parse(e.at(1).str, nullptr, false);
          auto kind =
              account.is_object() ? parseAccountKind(account.value("kind", "")) : std::nullopt;
          if (!kind)
            return fail(r, Error{"internal", "the account is malformed"});
          Claims c;
          c.sub = account.value("id", "");
          c.name = account.value("name", "");
          c.role = tokenRoleOf(*kind);
          c.rooms = {"*"};
          c.employer = account.value("employer_id", "");
          c.av = std::strtoll(e.at(2).str.c_str(), nullptr, 10);
          c.iat = http::epochSeconds();
          c.exp = c.iat + options_.token_ttl_s;
          gates_.set(c.sub, c.av);
          r.json(
              200,
              {{"token", jwt_.sign(c)}, {"expires_at", c.exp}, {"account", accountView(account)}});
        });
  });
}

}  // namespace jobcast::backoffice
