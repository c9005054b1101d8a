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
      base64UrlEncode(R"({"sub":"u1","role":"admin","rooms":["*"],"exp":1900000000})");
  std::string tampered = good.substr(0, dot1 + 1) + admin_payload + good.substr(dot2);
  EXPECT_FALSE(jwt.verify(tampered, kNow).ok());

  std::string payload = R"({"sub":"u1","role":"admin","exp":1900000000})";
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
  EXPECT_TRUE(jwt.verify(signedWith(R"({"sub":"a","role":"admin","exp":1900000000})"), kNow).ok());
  EXPECT_FALSE(jwt.verify(signedWith(R"({"role":"admin","exp":1900000000})"), kNow).ok());
  EXPECT_FALSE(jwt.verify(signedWith(R"({"sub":"a","role":"root","exp":1900000000})"), kNow).ok());
  EXPECT_FALSE(jwt.verify(signedWith(R"({"sub":"a","role":"admin"})"), kNow).ok());
  EXPECT_FALSE(jwt.verify(signedWith(R"({"sub":"a","role":"admin","exp":"soon"})"), kNow).ok());
  EXPECT_FALSE(
      jwt.verify(signedWith(R"({"sub":"a","role":"admin","exp":1900000000,"rooms":[1]})"), kNow)
          .ok());
  EXPECT_FALSE(jwt.verify(signedWith(R"([1,2,3])"), kNow).ok());
}

TEST(Base64Url, RoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(base64UrlDecode(base64UrlEncode(data)).value(), data);
    data += static_cast<char>(i * 37);
  }
  EXPECT_FALSE(base64UrlDecode("a").has_value());
  EXPECT_FALSE(base64UrlDecode("ab=").has_value());
}

}  // namespace
}  // namespace jobcast
