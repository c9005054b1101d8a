#include "core/address_set.h"

#include <gtest/gtest.h>

namespace jobcast {
namespace {

TEST(AddressSet, MatchesAddressesAndRangesOfBothFamilies) {
  auto set = AddressSet::parse({"127.0.0.1", "10.0.0.0/8", "fd00::/8", "2001:db8::1"});
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->contains("127.0.0.1"));
  EXPECT_FALSE(set->contains("127.0.0.2"));
  EXPECT_TRUE(set->contains("10.200.3.4"));
  EXPECT_TRUE(set->contains("::ffff:10.1.1.1"));  // IPv4-mapped, as dual-stack sockets report it
  EXPECT_FALSE(set->contains("11.0.0.1"));
  EXPECT_TRUE(set->contains("fd12::5"));
  EXPECT_TRUE(set->contains("2001:db8::1"));
  EXPECT_FALSE(set->contains("2001:db8::2"));
  EXPECT_FALSE(set->contains("nginx"));
  EXPECT_FALSE(AddressSet::parse({"10.0.0.0/33"}));
  EXPECT_FALSE(AddressSet::parse({"nginx"}));
  EXPECT_FALSE(AddressSet::parse({"10.0.0.0/"}));
  EXPECT_TRUE(AddressSet{}.empty());
}

TEST(AddressSet, ClientKeysGroupAnIpv6SubscriberByItsSlash64) {
  EXPECT_EQ(AddressSet::canonical("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(AddressSet::clientKey("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(AddressSet::clientKey("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(AddressSet::clientKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(AddressSet::clientKey("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
  EXPECT_NE(AddressSet::clientKey("2001:db8:1:3::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(AddressSet::clientKey("not an address"), "not an address");
}

}  // namespace
}  // namespace jobcast
