#include "core/jwt.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace jobcast {
namespace {

const int64_t kNow = 1'800'000'000;

Claims sample() {
  Claims c;
  c.sub = "u1";
  c.name = "Sarangerel";
  c.role = Role::Employer;
  c.rooms = {"r1", "r2"};
  c.exp = kNow + 60;
  return c;
}

std::string forge(const std::string& header, const std::string& payload, const std::string& sig) {
  return base64UrlEncode(header) + "." + base64UrlEncode(payload) + "." + sig;
}

TEST(Jwt, SignedTokensVerifyWithTheirClaims) {
  Jwt jwt("secret-secret-secret");
  auto r = jwt.verify(jwt.sign(sample()), kNow);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->sub, "u1");
  EXPECT_EQ(r->name, "Sarangerel");
  EXPECT_EQ(r->role, Role::Employer);
  EXPECT_TRUE(r->allowsRoom("r2"));
  EXPECT_FALSE(r->allowsRoom("r3"));
  EXPECT_EQ(r->employerId(), "u1");
}

TEST(Jwt, RefusesExpiredTamperedAndForeignTokens) {
  Jwt jwt("secret-secret-secret");
  Claims expired = sample();
  expired.exp = kNow;
  EXPECT_EQ(jwt.verify(jwt.sign(expired), kNow).error().code, "token_expired");

  std::string good = jwt.sign(sample());
  EXPECT_EQ(Jwt("another-secret-entirely").verify(good, kNow).error().code, "invalid_token");

  // Payload swapped for an admin one, signature kept.
  auto dot1 = good.find('.');
  auto dot2 = good.rfind('.');
  std::string admin_payload =
      base64UrlEncode(R"({"sub":"u1","role":"admin","rooms":["*"],"exp":1800000600})");
  std::string tampered = good.substr(0, dot1 + 1) + admin_payload + good.substr(dot2);
  EXPECT_FALSE(jwt.verify(tampered, kNow).ok());

  std::string payload = R"({"sub":"u1","role":"admin","exp":1800000600})";
  EXPECT_FALSE(jwt.verify(forge(R"({"alg":"none"})", payload, ""), kNow).ok());
  EXPECT_FALSE(jwt.verify(forge(R"({"alg":"none"})", payload, "") + "", kNow).ok());
  EXPECT_EQ(jwt.verify(forge(R"({"alg":"RS256"})", payload, "c2ln"), kNow).error().message,
            "unsupported algorithm");
  EXPECT_FALSE(jwt.verify("", kNow).ok());
  EXPECT_FALSE(jwt.verify("a.b", kNow).ok());
  EXPECT_FALSE(jwt.verify("a.b.c.d", kNow).ok());
  EXPECT_FALSE(jwt.verify("!!!.???.***", kNow).ok());
  EXPECT_FALSE(jwt.verify(good + "x", kNow).ok());
}

TEST(Jwt, RequiresSubjectKnownRoleAndExpiry) {
  const std::string secret = "k-k-k-k-k-k-k-k";
  auto signedWith = [&](const std::string& payload) {
    std::string input =
        base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64UrlEncode(payload);
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    return input + "." + base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len));
  };
  Jwt jwt(secret);
  EXPECT_TRUE(jwt.verify(signedWith(R"({"sub":"a","role":"admin","exp":1800000600})"), kNow).ok());
  EXPECT_FALSE(jwt.verify(signedWith(R"({"role":"admin","exp":1800000600})"), kNow).ok());
  EXPECT_FALSE(jwt.verify(signedWith(R"({"sub":"a","role":"root","exp":1800000600})"), kNow).ok());
  EXPECT_FALSE(jwt.verify(signedWith(R"({"sub":"a","role":"admin"})"), kNow).ok());
  EXPECT_FALSE(jwt.verify(signedWith(R"({"sub":"a","role":"admin","exp":"soon"})"), kNow).ok());
  EXPECT_FALSE(
      jwt.verify(signedWith(R"({"sub":"a","role":"admin","exp":1800000600,"rooms":[1]})"), kNow)
          .ok());
  EXPECT_FALSE(jwt.verify(signedWith(R"([1,2,3])"), kNow).ok());
}

TEST(Jwt, HonoursNotBeforeAndIssuedAtWithASmallSkew) {
  Jwt jwt("secret-secret-secret");
  Claims c = sample();
  c.iat = kNow + 30;  // clocks differ a little
  EXPECT_TRUE(jwt.verify(jwt.sign(c), kNow).ok());
  c.iat = kNow + 3600;  // issued an hour from now
  c.exp = kNow + 7200;
  EXPECT_EQ(jwt.verify(jwt.sign(c), kNow).error().message, "token issued in the future");

  const std::string secret = "secret-secret-secret";
  auto signedWith = [&](const std::string& payload) {
    std::string input =
        base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64UrlEncode(payload);
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    return input + "." + base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len));
  };
  EXPECT_EQ(
      jwt.verify(signedWith(R"({"sub":"a","role":"admin","exp":1800000600,"nbf":1800000300})"),
                 kNow)
          .error()
          .message,
      "token not valid yet");
  EXPECT_TRUE(
      jwt.verify(signedWith(R"({"sub":"a","role":"admin","exp":1800000600,"nbf":1800000030})"),
                 kNow)
          .ok());
  EXPECT_FALSE(
      jwt.verify(signedWith(R"({"sub":"a","role":"admin","exp":1800000600,"nbf":"later"})"), kNow)
          .ok());
  EXPECT_FALSE(
      jwt.verify(signedWith(R"({"sub":"a","role":"admin","exp":1800000600,"iat":1.5})"), kNow)
          .ok());
}

TEST(Jwt, RefusesLifetimesOverTheCap) {
  Jwt jwt("secret-secret-secret", {.max_lifetime_s = 30 * 24 * 3600});
  Claims c = sample();
  c.iat = kNow;
  c.exp = kNow + 30 * 24 * 3600;
  EXPECT_TRUE(jwt.verify(jwt.sign(c), kNow).ok());
  c.exp = kNow + 31 * 24 * 3600;
  EXPECT_EQ(jwt.verify(jwt.sign(c), kNow).error().message, "token lifetime over the maximum");
  c.iat = 0;             // no iat: measured from now
  c.exp = 253402300799;  // 9999-12-31
  EXPECT_EQ(jwt.verify(jwt.sign(c), kNow).error().message, "token lifetime over the maximum");
  c.iat = kNow - 40 * 24 * 3600;  // an old iat cannot stretch it either
  c.exp = kNow + 3600;
  EXPECT_FALSE(jwt.verify(jwt.sign(c), kNow).ok());
}

TEST(Jwt, RefusesNonCanonicalBase64) {
  Jwt jwt("secret-secret-secret");
  std::string good = jwt.sign(sample());
  ASSERT_TRUE(jwt.verify(good, kNow).ok());
  // A 32-byte HMAC is 43 characters: the last one carries 2 spare bits. Setting
  // one gives another text for the same signature bytes.
  std::string sig = good.substr(good.rfind('.') + 1);
  ASSERT_EQ(sig.size(), 43u);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  auto last = alphabet.find(sig.back());
  std::string twin = good.substr(0, good.size() - 1) + alphabet[last ^ 1];
  EXPECT_FALSE(jwt.verify(twin, kNow).ok());
  EXPECT_FALSE(jwt.verify(good + "=", kNow).ok());  // padding
}

TEST(Base64Url, RoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(base64UrlDecode(base64UrlEncode(data)).value(), data);
    data += static_cast<char>(i * 37);
  }
  EXPECT_FALSE(base64UrlDecode("a").has_value());
  EXPECT_FALSE(base64UrlDecode("ab=").has_value());
  EXPECT_EQ(base64UrlDecode("QQ").value(), "A");
  EXPECT_FALSE(base64UrlDecode("QR").has_value());   // spare bits set
  EXPECT_FALSE(base64UrlDecode("QUF").has_value());  // "AA" is QUE
  EXPECT_FALSE(base64UrlDecode("QQ==").has_value());
}

}  // namespace
}  // namespace jobcast
