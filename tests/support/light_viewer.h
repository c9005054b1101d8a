#pragma once
// A light WHEP viewer for load and soak runs against the egress engine (or
// any ICE/DTLS server): one UDP socket, ICE checks with USE-CANDIDATE, an
// OpenSSL DTLS client on memory BIOs, and then only counting the SRTP that
// arrives, without decrypting or decoding it. Many of them run on one
// thread through pumpLightViewers().

#include <netinet/in.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "media/egress/dtls.h"
#include "media/egress/rtcp.h"
#include "media/egress/srtp.h"

namespace jobcast::test {

// The value of the first "a=NAME:" line of an SDP; empty when there is none.
std::string sdpAttribute(const std::string& sdp, const std::string& name);

struct LightViewerOptions {
  std::string ufrag = "light";  // ours, as our SDP states it
  std::string pwd = "lightlightlightlightlight";
  bool nack = false;           // the offer asks for NACK and PLI feedback on video
  int receive_buffer = 0;      // SO_RCVBUF of the socket; 0: the system's default
  bool answer_checks = false;  // answer the server's checks as a controlled agent
  // Decrypt what arrives (SRTP and SRTCP, with the keys of the handshake)
  // and keep the RTP headers and sender reports; else only count.
  bool decrypt = false;
};

// What a decrypting light viewer kept of one RTP packet or sender report,
// with when it arrived (CLOCK_REALTIME, nanoseconds).
struct LightRtp {
  uint32_t ssrc = 0;
  uint32_t timestamp = 0;
  uint16_t seq = 0;
  uint8_t payload_type = 0;
  int64_t arrived_ns = 0;
};
struct LightReport {
  media::egress::rtcp::SenderInfo sender;
  int64_t arrived_ns = 0;
};

class LightViewer {
 public:
  LightViewer(const media::egress::DtlsCertificate& certificate, LightViewerOptions options);
  ~LightViewer();
  LightViewer(const LightViewer&) = delete;
  LightViewer& operator=(const LightViewer&) = delete;

  // Our recvonly offer: H.264 video and Opus audio, bundled, rtcp-mux.
  std::string offer() const;
  // The server's ICE credentials and its first IPv4 host candidate, from its
  // SDP; false when it has no IPv4 candidate.
  bool readServer(const std::string& sdp);
  // POSTs the offer to a WHEP URL, reads the answer and sends the first
  // check. False (and why) when the server refuses or cannot be reached.
  bool joinWhep(const std::string& url, std::string* why);

  // One nominating check to the server.
  void check();
  // Reads every datagram waiting: checks are answered (when asked to), DTLS
  // goes to OpenSSL, SRTP is counted once the handshake is done.
  void receiveAll();
  // Resends a lost DTLS flight when its timer has run out (a full ICE agent
  // such as Janus drops DTLS until its own checks have succeeded).
  void retransmit();

  int fd() const { return fd_; }
  const sockaddr_in& server() const { return server_; }
  const LightViewerOptions& local() const { return options_; }
  void setLocalUfrag(std::string ufrag) { options_.ufrag = std::move(ufrag); }
  const std::string& location() const { return location_; }
  bool connected() const { return connected_; }
  uint64_t packets() const { return packets_; }
  uint64_t bytes() const { return bytes_; }
  // With LightViewerOptions::decrypt: RTP that did not authenticate, the RTP
  // kept (at most the latest 20,000) and the sender reports.
  uint64_t undecryptable() const { return undecryptable_; }
  const std::vector<LightRtp>& rtp() const { return rtp_; }
  const std::vector<LightReport>& reports() const { return reports_; }

 private:
  void send(const uint8_t* data, size_t size);
  void step();

  const media::egress::DtlsCertificate& certificate_;
  LightViewerOptions options_;
  int fd_ = -1;
  sockaddr_in server_{};
  std::string server_ufrag_, server_pwd_, location_;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;
  BIO* out_ = nullptr;
  bool connected_ = false;
  uint64_t packets_ = 0;
  uint64_t bytes_ = 0;
  uint8_t seed_ = 0;
  std::unique_ptr<media::egress::SrtpSession> srtp_;  // the server's SRTP and SRTCP
  uint64_t undecryptable_ = 0;
  std::vector<LightRtp> rtp_;
  std::vector<LightReport> reports_;
  void decrypt(uint8_t* data, size_t size);
};

// Waits up to timeout_ms for datagrams on any of the viewers, reads them and
// resends the DTLS flights whose timers ran out.
void pumpLightViewers(std::vector<std::unique_ptr<LightViewer>>& viewers, int timeout_ms);

}  // namespace jobcast::test
