// STUN for the egress engine's ICE-lite, against RFC 5769's sample messages
// (short-term credentials, MESSAGE-INTEGRITY, FINGERPRINT, XOR-MAPPED-ADDRESS).

#include "media/egress/stun.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <sstream>

#include "media/egress/packet_kind.h"

namespace jobcast::media::egress {
namespace {

std::vector<uint8_t> hex(const std::string& text) {
  std::istringstream in(text);
  std::vector<uint8_t> out;
  std::string byte;
  while (in >> byte)
    out.push_back(static_cast<uint8_t>(std::stoul(byte, nullptr, 16)));
  return out;
}

const char kPassword[] = "VOkJxbRl1RmTxUk/WvJxBt";

// RFC 5769 section 2.1.
const std::vector<uint8_t> kRequest =
    hex("00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae "
        "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74 "
        "00 24 00 04 6e 00 01 ff 80 29 00 08 93 2f f9 b1 51 26 3b 36 "
        "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20 "
        "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2 "
        "80 28 00 04 e5 7a 3b cf");

// RFC 5769 section 2.2: the mapped address is 192.0.2.1 port 32853.
const std::vector<uint8_t> kResponse =
    hex("01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae "
        "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20 "
        "00 20 00 08 00 01 a1 47 e1 12 a6 43 "
        "00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7 "
        "80 28 00 04 c0 7d 4c 96");

TEST(EgressStun, ParsesAndChecksTheRfc5769Request) {
  EXPECT_EQ(classify(kRequest.data(), kRequest.size()), PacketKind::Stun);
  auto message = stun::parse(kRequest.data(), kRequest.size());
  ASSERT_TRUE(message) << message.error().message;
  EXPECT_EQ(message->type, stun::kBindingRequest);
  EXPECT_EQ(message->username, "evtj:h6vY");
  EXPECT_EQ(stun::localUfrag(message->username), "evtj");
  EXPECT_EQ(message->priority, 0x6e0001ffu);
  EXPECT_TRUE(message->has_integrity);
  EXPECT_TRUE(message->has_fingerprint);
  EXPECT_FALSE(message->use_candidate);
  EXPECT_TRUE(stun::checkIntegrity(kRequest.data(), kRequest.size(), kPassword));
  EXPECT_FALSE(stun::checkIntegrity(kRequest.data(), kRequest.size(), "wrong password"));
}

TEST(EgressStun, RejectsATamperedRequest) {
  auto tampered = kRequest;
  tampered[45] ^= 1;  // inside PRIORITY: the FINGERPRINT no longer matches
  auto message = stun::parse(tampered.data(), tampered.size());
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error().code, "stun_fingerprint");
  auto truncated = kRequest;
  truncated.resize(40);
  EXPECT_FALSE(stun::parse(truncated.data(), truncated.size()));
}

TEST(EgressStun, ParsesAndChecksTheRfc5769Response) {
  auto message = stun::parse(kResponse.data(), kResponse.size());
  ASSERT_TRUE(message) << message.error().message;
  EXPECT_EQ(message->type, stun::kBindingSuccess);
  EXPECT_TRUE(stun::checkIntegrity(kResponse.data(), kResponse.size(), kPassword));
  ASSERT_TRUE(message->xor_mapped);
  const auto* in = reinterpret_cast<const sockaddr_in*>(&*message->xor_mapped);
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
  EXPECT_STREQ(text, "192.0.2.1");
  EXPECT_EQ(ntohs(in->sin_port), 32853);
}

TEST(EgressStun, ItsSuccessResponseCarriesTheSourceAddressAndChecksOut) {
  auto request = stun::parse(kRequest.data(), kRequest.size());
  ASSERT_TRUE(request);
  sockaddr_storage from{};
  auto* in = reinterpret_cast<sockaddr_in*>(&from);
  in->sin_family = AF_INET;
  in->sin_port = htons(32853);
  inet_pton(AF_INET, "192.0.2.1", &in->sin_addr);
  auto response = stun::bindingSuccess(request->transaction, from, kPassword);
  // The RFC's response without its optional SOFTWARE attribute: the same
  // XOR-MAPPED-ADDRESS bytes.
  const std::vector<uint8_t> xor_mapped = hex("00 20 00 08 00 01 a1 47 e1 12 a6 43");
  ASSERT_GE(response.size(), 32u);
  EXPECT_EQ(std::vector<uint8_t>(response.begin() + 20, response.begin() + 32), xor_mapped);
  auto parsed = stun::parse(response.data(), response.size());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(parsed->has_fingerprint);
  EXPECT_EQ(parsed->transaction, request->transaction);
  EXPECT_TRUE(stun::checkIntegrity(response.data(), response.size(), kPassword));
}

TEST(EgressStun, ARequestItBuildsChecksOutWithUseCandidate) {
  stun::TransactionId id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  auto request = stun::bindingRequest(id, "ours:theirs", "secret-pwd", true);
  auto parsed = stun::parse(request.data(), request.size());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(parsed->use_candidate);
  EXPECT_EQ(parsed->username, "ours:theirs");
  EXPECT_TRUE(stun::checkIntegrity(request.data(), request.size(), "secret-pwd"));
}

TEST(EgressStun, ClassifiesByFirstByte) {
  const uint8_t dtls[] = {22, 0xfe, 0xfd};
  const uint8_t rtp[] = {0x80, 96};
  const uint8_t other[] = {70};
  EXPECT_EQ(classify(dtls, sizeof dtls), PacketKind::Dtls);
  EXPECT_EQ(classify(rtp, sizeof rtp), PacketKind::Rtp);
  EXPECT_EQ(classify(other, sizeof other), PacketKind::Unknown);
  EXPECT_EQ(classify(other, 0), PacketKind::Unknown);
}

}  // namespace
}  // namespace jobcast::media::egress
