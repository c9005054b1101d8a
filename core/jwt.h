#pragma once
// Access tokens: JWT signed with HS256 (HMAC-SHA256), nothing else accepted.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace jobcast {

enum class Role { Admin, Employer, Counsellor, Captioner, Jobseeker };

std::optional<Role> parseRole(std::string_view name);
const char* roleName(Role role);

struct Claims {
  std::string sub;   // subject: the user id
  std::string name;  // display name (may be empty)
  Role role = Role::Jobseeker;
  std::vector<std::string> rooms;  // room ids this token acts in; "*" = all
  std::string employer;            // for employer staff: the employer they act for
  int64_t exp = 0;                 // expiry, seconds since the epoch
  int64_t iat = 0;
  // Tokens of a staff account (backoffice/accounts.h) carry the account's
  // version when issued; revoking the account raises the version the node
  // accepts. 0: no account behind the token (e.g. `jobcastd token`).
  int64_t av = 0;

  bool allowsRoom(const std::string& room_id) const;
  // The employer this token acts for: `employer` claim, else `sub` for employers.
  std::string employerId() const;
};

class Jwt {
 public:
  struct Options {
    int64_t max_lifetime_s = 30 * 24 * 3600;  // exp at most this far after iat / now
    int64_t clock_skew_s = 60;                // nbf and iat may be this far ahead of us
  };
  explicit Jwt(std::string secret) : secret_(std::move(secret)) {}
  Jwt(std::string secret, Options options) : secret_(std::move(secret)), options_(options) {}

  // Asked after a token verified: an error refuses it (e.g. token_revoked).
  // Runs on the control thread, with no I/O: it reads what the node knows.
  using RevocationCheck = std::function<std::optional<Error>(const Claims&)>;
  void setRevocationCheck(RevocationCheck check) { revoked_ = std::move(check); }

  std::string sign(const Claims& claims) const;
  // Checks structure (canonical base64url), algorithm (HS256 only), signature
  // (constant time), expiry, nbf and iat against `now` (seconds since the
  // epoch) and the lifetime cap. Errors: code "invalid_token" or
  // "token_expired", with a message that never echoes the token.
  Result<Claims> verify(std::string_view token, int64_t now) const;

 private:
  std::string secret_;
  Options options_;
  RevocationCheck revoked_;
};

std::string base64UrlEncode(std::string_view data);
// Decodes unpadded base64url; nullopt for anything else, including padding and
// a last character with bits set beyond the data (one string per value).
std::optional<std::string> base64UrlDecode(std::string_view text);

}  // namespace jobcast
