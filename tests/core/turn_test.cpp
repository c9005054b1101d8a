#include "core/turn.h"

#include <gtest/gtest.h>

#include "core/config.h"

namespace jobcast {
namespace {

// coturn's use-auth-secret: the password is base64(HMAC-SHA1(secret, username)).
// The expected value was computed with Python's hmac + base64; the relay-only
// browser test (tests/web/interview.mjs --relay) has coturn itself accept it.
TEST(TurnCredential, CoturnRestForm) {
  auto c = turnCredential("interview-test-turn-secret", "call-00112233aabbccdd", 1700000000);
  EXPECT_EQ(c.username, "1700000000:call-00112233aabbccdd");
  EXPECT_EQ(c.password, "rMzsXyv4kuiePg0JR3hUb6sxU/4=");
  EXPECT_EQ(c.expires_at, 1700000000);
}

TEST(TurnCredential, EachCallAndExpiryHasItsOwn) {
  auto a = turnCredential("s3cret-s3cret-s3cret", "call-a", 1700000000);
  EXPECT_NE(a.password, turnCredential("s3cret-s3cret-s3cret", "call-b", 1700000000).password);
  EXPECT_NE(a.password, turnCredential("s3cret-s3cret-s3cret", "call-a", 1700000001).password);
  EXPECT_NE(a.password, turnCredential("another-secret-here", "call-a", 1700000000).password);
}

TEST(TurnConfig, UrlsNeedASecret) {
  Config ok = Config::loadText(
      "turn:\n  urls: [\"turn:127.0.0.1:3478?transport=udp\"]\n  secret: "
      "\"0123456789abcdef\"\n  ttl_s: 600\n");
  ok.validate();
  EXPECT_EQ(ok.turn_urls.size(), 1u);
  EXPECT_EQ(ok.turn_ttl_s, 600);
  Config no_secret = Config::loadText("turn:\n  urls: [\"turn:127.0.0.1:3478\"]\n");
  try {
    no_secret.validate();
    FAIL() << "turn.urls without a secret was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "turn.secret");
  }
  try {
    Config::loadText("turn:\n  urls: [\"stun:127.0.0.1:3478\"]\n");
    FAIL() << "a stun: URL was accepted as TURN";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "turn.urls");
  }
}

}  // namespace
}  // namespace jobcast
