#include "core/crypto.h"

#include <gtest/gtest.h>

namespace jobcast {
namespace {

const std::string kKeyA = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const std::string kKeyB = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

TEST(DataCipher, SealsAndOpensWithTheSameOwner) {
  auto cipher = DataCipher::fromHex(kKeyA).value();
  auto sealed = cipher.seal("13800138000", "user-1").value();
  EXPECT_EQ(sealed.find("13800138000"), std::string::npos);
  EXPECT_EQ(sealed.rfind("v1." + cipher.currentKeyId() + ".", 0), 0u);
  EXPECT_EQ(cipher.open(sealed, "user-1").value(), "13800138000");
  // Same text twice: different ciphertexts (random IV).
  EXPECT_NE(cipher.seal("13800138000", "user-1").value(), sealed);
}

TEST(DataCipher, RefusesAnotherOwnerTamperingAndUnknownKeys) {
  auto cipher = DataCipher::fromHex(kKeyA).value();
  auto sealed = cipher.seal("secret", "user-1").value();
  EXPECT_EQ(cipher.open(sealed, "user-2").error().code, "decrypt_failed");
  std::string tampered = sealed;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(cipher.open(tampered, "user-1").error().code, "decrypt_failed");
  EXPECT_EQ(cipher.open("v1.", "user-1").error().code, "decrypt_failed");
  EXPECT_EQ(cipher.open("plain text", "user-1").error().code, "decrypt_failed");
  auto other = DataCipher::fromHex(kKeyB).value();
  EXPECT_EQ(other.open(sealed, "user-1").error().code, "unknown_key");
}

TEST(DataCipher, RotatedKeysStillOpenOldValues) {
  auto old_cipher = DataCipher::fromHex(kKeyA).value();
  auto sealed_old = old_cipher.seal("old", "u").value();
  auto ring = DataCipher::fromRing({{old_cipher.currentKeyId(), kKeyA}, {"k2", kKeyB}}, "k2");
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ(ring->open(sealed_old, "u").value(), "old");
  auto sealed_new = ring->seal("new", "u").value();
  EXPECT_EQ(sealed_new.rfind("v1.k2.", 0), 0u);
  EXPECT_EQ(ring->open(sealed_new, "u").value(), "new");
}

TEST(DataCipher, RejectsBadKeys) {
  EXPECT_FALSE(DataCipher::fromHex("abc").ok());
  EXPECT_FALSE(DataCipher::fromHex(std::string(64, 'z')).ok());
  EXPECT_FALSE(DataCipher::fromRing({{"a", kKeyA}}, "b").ok());
}

}  // namespace
}  // namespace jobcast
