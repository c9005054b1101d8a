#pragma once
// The egress engine: every WHEP viewer of a node on one UDP socket. Its own
// thread answers ICE-lite connectivity checks (and learns the viewer's
// address from the first valid check with USE-CANDIDATE), runs the DTLS
// server and reads RTCP; sender threads (Options::send_threads, each owning
// a share of the viewers, by id) protect outgoing RTP with SRTP and send it
// in sendmmsg batches. No GLib and no GStreamer here.
//
// RTCP from a viewer is SRTCP-unprotected and read here (media/egress/rtcp.h);
// what it asks for (retransmissions, keyframes) goes to the viewer's
// ViewerSpec::on_rtcp on the engine's thread. Our own RTCP to a viewer (its
// sender reports, from ViewerSpec::reports) is protected (SrtcpSender) and
// sent from the engine's thread too.
//
// Threads: addViewer/removeViewer/state run on the control thread; send() on
// any thread (the programme's streaming threads, the engine's for
// retransmissions). A mutex guards the viewer table; each sender has its
// own queue, lock and wake-up. A viewer's outbound SRTP context is made on
// the engine's thread before the viewer is Connected and used afterwards
// only by its sender.

#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "media/egress/dtls.h"
#include "media/egress/rtcp.h"
#include "media/egress/srtp.h"
#include "media/egress/srtp_sender.h"

namespace jobcast::media::egress {

class EgressEngine {
 public:
  struct Options {
    std::string bind_address = "0.0.0.0";
    uint16_t port = 0;  // 0: any free port
    // Nothing from a viewer for this long that authenticates (a valid
    // check; RTCP under its SRTCP key), or no check since it was added: it
    // is gone (consent freshness, RFC 7675, relaxed for libnice, which sends
    // no checks once connected, only RTCP and unauthenticated indications).
    std::chrono::milliseconds consent_timeout{30000};
    // Threads that protect and send RTP (viewers are shared out by id).
    int send_threads = 1;
    // Fault injection (tests of players on lossy networks): this share of
    // outgoing RTP, retransmissions included, is dropped at random.
    double fault_loss = 0;
    // Generic segmentation offload: the datagrams of one frame to one viewer
    // in one send (UDP_SEGMENT). Turned off by itself where the kernel or
    // the device refuses it.
    bool gso = true;
  };
  struct ViewerSpec {
    std::string local_ufrag;         // ours, in the answer; checks arrive as "local:remote"
    std::string local_pwd;           // ours, keys MESSAGE-INTEGRITY
    std::string remote_fingerprint;  // a=fingerprint:sha-256 of the viewer's offer
    // The viewer's RTCP once it authenticates, on the engine's thread, with
    // no lock of the engine held (it may call send()), with the viewer's id.
    std::function<void(uint64_t viewer, const rtcp::Feedback&)> on_rtcp;
    // What the viewer is to be told in RTCP (sender reports), plain, on the
    // engine's thread with no lock held, about once a second (0.5-1.5 s at
    // random, RFC 3550 6.2) while it is connected; empty: nothing yet, asked
    // again shortly. The engine protects it with SRTCP and sends it.
    std::function<std::vector<uint8_t>(uint64_t viewer)> reports;
  };
  enum class ViewerState { Checking, Handshaking, Connected, Failed, Gone };
  struct Stats {
    uint64_t checks_answered = 0;
    uint64_t checks_rejected = 0;
    uint64_t packets_sent = 0;
    uint64_t send_batches = 0;       // sendmmsg calls
    uint64_t packets_segmented = 0;  // of packets_sent, those sent in GSO runs
    uint64_t queue_drops = 0;        // packets refused because the send queue was full
    uint64_t rtcp_received = 0;      // compound packets that authenticated
    uint64_t rtcp_rejected = 0;      // SRTCP that did not (or came before DTLS was up)
    uint64_t reports_sent = 0;       // our compound RTCP packets (sender reports)
  };

  static Result<std::unique_ptr<EgressEngine>> start(Options options,
                                                     std::shared_ptr<DtlsCertificate> certificate);
  ~EgressEngine();  // stops and joins the engine thread
  EgressEngine(const EgressEngine&) = delete;
  EgressEngine& operator=(const EgressEngine&) = delete;

  uint16_t port() const { return port_; }
  const DtlsCertificate& certificate() const { return *certificate_; }

  uint64_t addViewer(ViewerSpec spec);
  void removeViewer(uint64_t viewer);
  ViewerState state(uint64_t viewer) const;
  std::string failure(uint64_t viewer) const;
  Stats stats() const;

  // An RTP packet as the packetizer made it, shared (not copied) by every
  // viewer it goes to; the engine writes each viewer's payload type,
  // sequence number and SSRC into its own copy while it protects it.
  using Packet = std::shared_ptr<const std::vector<uint8_t>>;
  struct Send {
    uint64_t viewer = 0;
    Packet packet;
    bool rewrite = false;  // false: sent as it is
    uint8_t payload_type = 0;
    uint16_t seq = 0;
    uint32_t ssrc = 0;
  };

  // Queues one RTP packet for a viewer, sent as it is; SRTP-protected once
  // its DTLS is up, dropped before that.
  void send(uint64_t viewer, std::vector<uint8_t> rtp);
  // Many at once: one lock and one wake-up per batch (a programme packet
  // fanned out to every viewer of a rendition).
  void send(std::vector<Send> packets);
  // Packets queued now (for tests and benches).
  size_t queued() const;

 private:
  struct Viewer;
  struct Outgoing {
    sockaddr_storage to;
    std::vector<uint8_t> bytes;  // reused from batch to batch
    size_t length = 0;           // of bytes, what is sent
    void take(std::vector<uint8_t> datagram) {
      bytes = std::move(datagram);
      length = bytes.size();
    }
  };
  // Datagrams waiting for the next sendmmsg (the first `used`; the buffers
  // stay allocated between batches). One per thread that sends.
  struct Batch {
    std::vector<Outgoing> items;
    size_t used = 0;
    Outgoing& next(const sockaddr_storage& to);
  };
  struct Sender;
  // A viewer as a thread works on it outside mutex_: held by shared_ptr (one
  // removed meanwhile is released afterwards), its address copied.
  struct Target {
    uint64_t id;
    std::shared_ptr<Viewer> viewer;
    sockaddr_storage address;
  };
  EgressEngine();
  void run();
  void receiveAll();
  void handle(const uint8_t* data, size_t size, const sockaddr_storage& from);
  void handleRtcp(const uint8_t* data, size_t size, const sockaddr_storage& from);
  void handleStun(const uint8_t* data, size_t size, const sockaddr_storage& from);
  void drainSendQueue(Sender& sender, std::vector<Send>& queue);
  void tick(std::chrono::steady_clock::time_point now);
  void tickLocked(std::chrono::steady_clock::time_point now);
  void sendReports(const std::vector<Target>& due, std::chrono::steady_clock::time_point now);
  void flushDtls(Viewer& viewer);
  void flush(Batch& batch);
  static bool sameDestination(const sockaddr_storage& a, const sockaddr_storage& b);
  static std::string addressKey(const sockaddr_storage& address);

  Options options_;
  std::shared_ptr<DtlsCertificate> certificate_;
  int socket_ = -1;
  int wake_ = -1;  // eventfd
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> gso_{true};  // Options::gso, until a send refuses it

  mutable std::mutex mutex_;  // guards everything below
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::shared_ptr<Viewer>> viewers_;
  std::map<std::string, uint64_t> by_ufrag_;
  std::map<std::string, uint64_t> by_address_;
  Stats stats_;

  std::vector<std::unique_ptr<Sender>> senders_;
  // Engine thread only: check answers and DTLS flights, and when memory
  // freed by handshakes was last given back.
  Batch batch_;
  std::vector<std::string> connecting_;  // ufrags through DTLS, flight not yet out
  uint64_t handshakes_since_trim_ = 0;
  uint64_t report_random_ = 0x2545f4914f6cdd1d;  // spreads report times (xorshift)
  std::chrono::steady_clock::time_point last_trim_{};
};

const char* stateName(EgressEngine::ViewerState state);

}  // namespace jobcast::media::egress
