// DTLS-SRTP of the egress engine against a real OpenSSL DTLS client: the
// handshake completes over datagrams, both ends export the same SRTP keys,
// the preferred profile is chosen, and what one end protects the other opens.

#include "media/egress/dtls.h"

#include <gtest/gtest.h>

#include <cstring>

#include "media/egress/packet_kind.h"
#include "media/egress/srtp.h"
#include "tests/media/egress_dtls_client.h"

namespace jobcast::media::egress {
namespace {

// Carries datagrams both ways until neither side has anything to say.
void handshake(DtlsClient& client, DtlsTransport& server) {
  auto to_server = client.step();
  for (int round = 0; round < 20 && !to_server.empty(); ++round) {
    for (const auto& datagram : to_server) {
      EXPECT_EQ(classify(datagram.data(), datagram.size()), PacketKind::Dtls);
      server.receive(datagram.data(), datagram.size());
    }
    to_server.clear();
    for (const auto& datagram : server.takeOutgoing())
      client.receive(datagram);
    to_server = client.step();
  }
}

TEST(EgressDtls, HandshakeWithARealClientYieldsTheSameGcmKeysOnBothEnds) {
  auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate) << certificate.error().message;
  EXPECT_EQ(certificate.value()->fingerprint().size(), 32u * 3 - 1);
  DtlsClient client;
  // The offer's fingerprint arrives in lower case from some browsers.
  std::string offered = client.fingerprint();
  for (auto& c : offered)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto server = DtlsTransport::server(certificate.value(), offered);
  ASSERT_TRUE(server) << server.error().message;
  handshake(client, *server.value());
  ASSERT_EQ(server.value()->state(), DtlsTransport::State::Connected) << server.value()->failure();
  ASSERT_TRUE(client.done());
  // The client sees the certificate whose fingerprint the answer states.
  EXPECT_EQ(client.peerFingerprint(), certificate.value()->fingerprint());

  const SrtpKeys& keys = server.value()->keys();
  EXPECT_EQ(keys.profile, SrtpProfile::AeadAes128Gcm);
  // RFC 5764 4.2 layout, 16-byte keys and 12-byte salts for GCM.
  auto material = client.material(2 * (16 + 12));
  auto client_write = keyAndSalt(material, 0, 32, 12);
  auto server_write = keyAndSalt(material, 16, 44, 12);
  EXPECT_EQ(keys.local, server_write);
  EXPECT_EQ(keys.remote, client_write);

  // What the engine protects with its keys, the viewer opens with its own.
  auto sender = SrtpSession::create(keys.profile, SrtpSession::Direction::Outbound, keys.local);
  auto receiver = SrtpSession::create(keys.profile, SrtpSession::Direction::Inbound, server_write);
  ASSERT_TRUE(sender) << sender.error().message;
  ASSERT_TRUE(receiver) << receiver.error().message;
  uint8_t packet[1500] = {0x80, 102, 0x12, 0x34, 0, 0, 0x10, 0, 0xca, 0xfe, 0xba, 0xbe};
  const char payload[] = "one slice of a keyframe";
  std::memcpy(packet + 12, payload, sizeof payload);
  size_t size = 12 + sizeof payload;
  ASSERT_TRUE(sender.value()->protectRtp(packet, &size, sizeof packet));
  EXPECT_EQ(size, 12 + sizeof payload + 16);  // the GCM tag
  EXPECT_NE(std::memcmp(packet + 12, payload, sizeof payload), 0);
  ASSERT_TRUE(receiver.value()->unprotectRtp(packet, &size));
  ASSERT_EQ(size, 12 + sizeof payload);
  EXPECT_EQ(std::memcmp(packet + 12, payload, sizeof payload), 0);
}

TEST(EgressDtls, FallsBackToAesCmWhenTheViewerOffersOnlyThat) {
  auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate);
  DtlsClient client("SRTP_AES128_CM_SHA1_80");
  auto server = DtlsTransport::server(certificate.value(), client.fingerprint());
  ASSERT_TRUE(server);
  handshake(client, *server.value());
  ASSERT_EQ(server.value()->state(), DtlsTransport::State::Connected) << server.value()->failure();
  const SrtpKeys& keys = server.value()->keys();
  EXPECT_EQ(keys.profile, SrtpProfile::AesCm128HmacSha1_80);
  auto material = client.material(2 * (16 + 14));
  auto server_write = keyAndSalt(material, 16, 46, 14);
  EXPECT_EQ(keys.local, server_write);

  auto sender = SrtpSession::create(keys.profile, SrtpSession::Direction::Outbound, keys.local);
  auto receiver = SrtpSession::create(keys.profile, SrtpSession::Direction::Inbound, server_write);
  ASSERT_TRUE(sender && receiver);
  uint8_t packet[1500] = {0x80, 102, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 'x', 'y'};
  size_t size = 14;
  ASSERT_TRUE(sender.value()->protectRtp(packet, &size, sizeof packet));
  EXPECT_EQ(size, 14u + 10);  // the 80-bit HMAC-SHA1 tag
  ASSERT_TRUE(receiver.value()->unprotectRtp(packet, &size));
  EXPECT_EQ(size, 14u);
  // A packet opened twice is a replay.
  uint8_t again[1500] = {0x80, 102, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 'x', 'y'};
  size = 14;
  auto second_sender =
      SrtpSession::create(keys.profile, SrtpSession::Direction::Outbound, keys.local);
  ASSERT_TRUE(second_sender.value()->protectRtp(again, &size, sizeof again));
  EXPECT_FALSE(receiver.value()->unprotectRtp(again, &size));
}

TEST(EgressDtls, RefusesAViewerWhoseCertificateIsNotTheOffered) {
  auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate);
  DtlsClient client;
  DtlsClient someone_else;
  auto server = DtlsTransport::server(certificate.value(), someone_else.fingerprint());
  ASSERT_TRUE(server);
  handshake(client, *server.value());
  EXPECT_EQ(server.value()->state(), DtlsTransport::State::Failed);
  EXPECT_NE(server.value()->failure().find("fingerprint"), std::string::npos);
}

TEST(EgressDtls, SurvivesGarbage) {
  auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate);
  auto server = DtlsTransport::server(certificate.value(), "00");
  ASSERT_TRUE(server);
  const uint8_t junk[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3};
  server.value()->receive(junk, sizeof junk);
  EXPECT_NE(server.value()->state(), DtlsTransport::State::Connected);
}

// Once the keys are out the server keeps no OpenSSL session: a viewer that
// repeats its final flight (ours was lost) gets ours again, and its
// close_notify still ends the session.
TEST(EgressDtls, AfterTheKeysALostFinalFlightIsResentAndCloseNotifyEndsTheSession) {
  auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate);
  DtlsClient client;
  auto made = DtlsTransport::server(certificate.value(), client.fingerprint());
  ASSERT_TRUE(made);
  DtlsTransport& server = *made.value();
  // ClientHello, then the server's flight, then the client's final flight.
  for (const auto& datagram : client.step())
    server.receive(datagram.data(), datagram.size());
  for (const auto& datagram : server.takeOutgoing())
    client.receive(datagram);
  auto final_flight = client.step();
  ASSERT_FALSE(final_flight.empty());
  for (const auto& datagram : final_flight)
    server.receive(datagram.data(), datagram.size());
  ASSERT_EQ(server.state(), DtlsTransport::State::Connected) << server.failure();
  auto lost = server.takeOutgoing();
  ASSERT_FALSE(lost.empty());
  EXPECT_TRUE(client.step().empty());
  EXPECT_FALSE(client.done());

  // The viewer repeats its flight; our answer completes its handshake.
  for (const auto& datagram : final_flight)
    server.receive(datagram.data(), datagram.size());
  auto resent = server.takeOutgoing();
  ASSERT_FALSE(resent.empty());
  EXPECT_EQ(resent.front(), lost.front());
  client.receive(resent.front());
  client.step();
  ASSERT_TRUE(client.done());
  auto material = client.material(2 * (16 + 12));
  EXPECT_EQ(server.keys().local, keyAndSalt(material, 16, 44, 12));
  EXPECT_EQ(server.state(), DtlsTransport::State::Connected);

  auto bye = client.closeNotify();
  ASSERT_FALSE(bye.empty());
  server.receive(bye.data(), bye.size());
  EXPECT_EQ(server.state(), DtlsTransport::State::Failed);
  EXPECT_EQ(server.failure(), "closed by the viewer");
}

}  // namespace
}  // namespace jobcast::media::egress
