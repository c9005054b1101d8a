// run() and everything it calls execute on the engine's own thread; the
// public methods on other threads only touch state under mutex_.

#include "media/egress/engine.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <optional>

#include "media/egress/packet_kind.h"
#include "media/egress/stun.h"

namespace jobcast::media::egress {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr size_t kMaxBatch = 64;
constexpr size_t kMaxDatagram = 1500;
// GSO limits: the kernel's UDP_MAX_SEGMENTS and a UDP payload's 64 KB.
constexpr size_t kMaxSegments = 64;
constexpr size_t kMaxGsoBytes = 65000;
// Datagrams a sender gathers before it sends (up to kMaxBatch messages per
// sendmmsg, several datagrams each with GSO); their buffers (~420 KB per
// sender) are made when the sender starts and kept.
constexpr size_t kMaxPending = 256;
// Packets waiting for the engine thread; past this, sends are refused rather
// than let memory grow when the thread falls behind.
constexpr size_t kMaxQueued = 1 << 16;

// xorshift64: cheap, good enough to spread report times and to pick the
// packets fault injection drops.
uint64_t nextRandom(uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

socklen_t lengthOf(const sockaddr_storage& address) {
  return address.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

}  // namespace

struct EgressEngine::Viewer {
  ViewerSpec spec;
  ViewerState state = ViewerState::Checking;
  std::string failure;
  bool has_address = false;
  sockaddr_storage address{};
  SteadyClock::time_point added = SteadyClock::now();
  SteadyClock::time_point last_check{};
  std::unique_ptr<DtlsTransport> dtls;
  std::unique_ptr<SrtpSender> srtp_out;    // our RTP, on OpenSSL
  std::unique_ptr<SrtpSession> srtp_in;    // the viewer's SRTCP
  std::unique_ptr<SrtcpSender> srtcp_out;  // our RTCP, on OpenSSL (engine thread only)
  SteadyClock::time_point next_report{};
};

struct EgressEngine::Sender {
  size_t index = 0;                      // serves the viewers whose id % senders_.size() == index
  uint64_t random = 0x9e3779b97f4a7c15;  // fault injection's xorshift state
  std::thread thread;
  std::mutex mutex;
  std::condition_variable wake;
  std::vector<Send> queue;  // guarded by mutex
  bool stopping = false;    // guarded by mutex
  Batch batch;              // its thread only
};

EgressEngine::EgressEngine() = default;

const char* stateName(EgressEngine::ViewerState state) {
  switch (state) {
    case EgressEngine::ViewerState::Checking:
      return "checking";
    case EgressEngine::ViewerState::Handshaking:
      return "handshaking";
    case EgressEngine::ViewerState::Connected:
      return "connected";
    case EgressEngine::ViewerState::Failed:
      return "failed";
    case EgressEngine::ViewerState::Gone:
      return "gone";
  }
  return "?";
}

Result<std::unique_ptr<EgressEngine>> EgressEngine::start(
    Options options, std::shared_ptr<DtlsCertificate> certificate) {
  std::unique_ptr<EgressEngine> engine(new EgressEngine());
  engine->options_ = std::move(options);
  engine->gso_ = engine->options_.gso;
  engine->certificate_ = std::move(certificate);
  sockaddr_storage bind_to{};
  auto* in = reinterpret_cast<sockaddr_in*>(&bind_to);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&bind_to);
  if (inet_pton(AF_INET, engine->options_.bind_address.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(engine->options_.port);
  } else if (inet_pton(AF_INET6, engine->options_.bind_address.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(engine->options_.port);
  } else {
    return Error{"bad_config", "not an IP address: " + engine->options_.bind_address};
  }
  engine->socket_ = socket(bind_to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (engine->socket_ < 0 ||
      bind(engine->socket_, reinterpret_cast<sockaddr*>(&bind_to), lengthOf(bind_to)) != 0) {
    return Error{"egress_unavailable",
                 std::string("cannot bind the UDP socket: ") + std::strerror(errno)};
  }
  // Room for bursts of keyframes to many viewers.
  int buffer = 4 << 20;
  setsockopt(engine->socket_, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  setsockopt(engine->socket_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  getsockname(engine->socket_, reinterpret_cast<sockaddr*>(&bound), &length);
  engine->port_ =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  engine->wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (engine->wake_ < 0)
    return Error{"egress_unavailable", "cannot make an eventfd"};
  int senders = std::max(1, engine->options_.send_threads);
  for (int i = 0; i < senders; ++i) {
    engine->senders_.push_back(std::make_unique<Sender>());
    engine->senders_.back()->index = static_cast<size_t>(i);
  }
  for (auto& sender : engine->senders_) {
    sender->batch.items.resize(kMaxPending);
    for (auto& item : sender->batch.items)
      item.bytes.resize(kMaxDatagram + kSrtpMaxTrailer);
    sender->thread = std::thread([raw = engine.get(), sender = sender.get()] {
      std::vector<Send> queue;
      for (;;) {
        {
          std::unique_lock lock(sender->mutex);
          sender->wake.wait(lock, [&] { return sender->stopping || !sender->queue.empty(); });
          if (sender->stopping)
            return;
          queue.swap(sender->queue);
        }
        raw->drainSendQueue(*sender, queue);
        queue.clear();
      }
    });
  }
  engine->thread_ = std::thread([raw = engine.get()] { raw->run(); });
  return engine;
}

EgressEngine::~EgressEngine() {
  stopping_ = true;
  if (wake_ >= 0) {
    uint64_t one = 1;
    (void)!write(wake_, &one, sizeof one);
  }
  if (thread_.joinable())
    thread_.join();
  for (auto& sender : senders_) {
    {
      std::lock_guard lock(sender->mutex);
      sender->stopping = true;
    }
    sender->wake.notify_one();
    if (sender->thread.joinable())
      sender->thread.join();
  }
  if (socket_ >= 0)
    close(socket_);
  if (wake_ >= 0)
    close(wake_);
}

uint64_t EgressEngine::addViewer(ViewerSpec spec) {
  auto viewer = std::make_shared<Viewer>();
  viewer->spec = std::move(spec);
  auto dtls = DtlsTransport::server(certificate_, viewer->spec.remote_fingerprint);
  std::lock_guard lock(mutex_);
  uint64_t id = next_id_++;
  if (dtls) {
    viewer->dtls = std::move(dtls).value();
  } else {
    viewer->state = ViewerState::Failed;
    viewer->failure = dtls.error().message;
  }
  by_ufrag_[viewer->spec.local_ufrag] = id;
  viewers_[id] = std::move(viewer);
  return id;
}

void EgressEngine::removeViewer(uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = viewers_.find(id);
  if (it == viewers_.end())
    return;
  by_ufrag_.erase(it->second->spec.local_ufrag);
  if (it->second->has_address)
    by_address_.erase(addressKey(it->second->address));
  viewers_.erase(it);
}

EgressEngine::ViewerState EgressEngine::state(uint64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = viewers_.find(id);
  return it == viewers_.end() ? ViewerState::Gone : it->second->state;
}

std::string EgressEngine::failure(uint64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = viewers_.find(id);
  return it == viewers_.end() ? "" : it->second->failure;
}

EgressEngine::Stats EgressEngine::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void EgressEngine::send(uint64_t viewer, std::vector<uint8_t> rtp) {
  std::vector<Send> one;
  one.push_back({viewer, std::make_shared<const std::vector<uint8_t>>(std::move(rtp))});
  send(std::move(one));
}

size_t EgressEngine::queued() const {
  size_t total = 0;
  for (const auto& sender : senders_) {
    std::lock_guard lock(sender->mutex);
    total += sender->queue.size();
  }
  return total;
}

void EgressEngine::send(std::vector<Send> packets) {
  if (packets.empty())
    return;
  const size_t cap = kMaxQueued / senders_.size();
  uint64_t dropped = 0;
  auto deliver = [&](Sender& sender, std::vector<Send>& part) {
    bool was_empty = false;
    {
      std::lock_guard lock(sender.mutex);
      if (sender.queue.size() >= cap) {
        dropped += part.size();
        return;
      }
      was_empty = sender.queue.empty();
      if (was_empty)
        sender.queue.swap(part);
      else
        sender.queue.insert(sender.queue.end(), std::make_move_iterator(part.begin()),
                            std::make_move_iterator(part.end()));
    }
    if (was_empty)
      sender.wake.notify_one();
  };
  if (senders_.size() == 1) {
    deliver(*senders_[0], packets);
  } else {
    std::vector<std::vector<Send>> parts(senders_.size());
    for (auto& packet : packets)
      parts[packet.viewer % senders_.size()].push_back(std::move(packet));
    for (size_t i = 0; i < parts.size(); ++i) {
      if (!parts[i].empty())
        deliver(*senders_[i], parts[i]);
    }
  }
  if (dropped) {
    std::lock_guard lock(mutex_);
    stats_.queue_drops += dropped;
  }
}

std::string EgressEngine::addressKey(const sockaddr_storage& address) {
  return std::string(reinterpret_cast<const char*>(&address), lengthOf(address));
}

void EgressEngine::run() {
  pollfd fds[2] = {{socket_, POLLIN, 0}, {wake_, POLLIN, 0}};
  while (!stopping_) {
    int timeout_ms = 100;  // DTLS retransmits and consent checks
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, viewer] : viewers_) {
        if (viewer->dtls && viewer->state == ViewerState::Handshaking) {
          if (auto due = viewer->dtls->timeout())
            timeout_ms = std::min<int>(timeout_ms, static_cast<int>(due->count()));
        }
      }
    }
    poll(fds, 2, std::max(timeout_ms, 1));
    if (fds[1].revents & POLLIN) {
      uint64_t count = 0;
      (void)!read(wake_, &count, sizeof count);
    }
    if (fds[0].revents & POLLIN)
      receiveAll();
    tick(SteadyClock::now());
    flush(batch_);
    if (!connecting_.empty()) {
      std::lock_guard lock(mutex_);
      for (const auto& ufrag : connecting_) {
        auto id = by_ufrag_.find(ufrag);
        auto it = id == by_ufrag_.end() ? viewers_.end() : viewers_.find(id->second);
        if (it != viewers_.end() && it->second->state == ViewerState::Handshaking &&
            it->second->srtp_out)
          it->second->state = ViewerState::Connected;
      }
      connecting_.clear();
    }
  }
}

void EgressEngine::receiveAll() {
  uint8_t data[kMaxDatagram];
  for (int i = 0; i < 256; ++i) {
    sockaddr_storage from{};
    socklen_t from_length = sizeof from;
    ssize_t size =
        recvfrom(socket_, data, sizeof data, 0, reinterpret_cast<sockaddr*>(&from), &from_length);
    if (size < 0)
      return;  // EAGAIN: drained
    handle(data, static_cast<size_t>(size), from);
  }
}

void EgressEngine::handle(const uint8_t* data, size_t size, const sockaddr_storage& from) {
  switch (classify(data, size)) {
    case PacketKind::Stun:
      handleStun(data, size, from);
      return;
    case PacketKind::Dtls: {
      std::lock_guard lock(mutex_);
      auto it = by_address_.find(addressKey(from));
      if (it == by_address_.end())
        return;  // DTLS only from an address a valid check nominated
      Viewer& viewer = *viewers_.at(it->second);
      if (!viewer.dtls || viewer.state == ViewerState::Failed)
        return;
      viewer.dtls->receive(data, size);
      flushDtls(viewer);
      return;
    }
    case PacketKind::Rtp:
      // Viewers only receive: what they send in this range is RTCP.
      if (rtcp::isRtcp(data, size))
        handleRtcp(data, size, from);
      return;
    case PacketKind::Unknown:
      return;
  }
}

// RTCP that authenticates with the viewer's SRTCP key shows it is there
// (libnice, in webrtcbin, sends no consent checks once connected, only RTCP
// and STUN indications); its feedback goes to the viewer's on_rtcp, called
// without mutex_ so that it may queue retransmissions.
void EgressEngine::handleRtcp(const uint8_t* data, size_t size, const sockaddr_storage& from) {
  std::shared_ptr<Viewer> viewer;
  uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = by_address_.find(addressKey(from));
    if (it == by_address_.end())
      return;
    id = it->second;
    viewer = viewers_.at(id);
    if (viewer->state != ViewerState::Connected || !viewer->srtp_in) {
      ++stats_.rtcp_rejected;
      return;
    }
  }
  // srtp_in is only touched on this thread.
  uint8_t plain[kMaxDatagram];
  std::memcpy(plain, data, size);
  size_t plain_size = size;
  bool valid = viewer->srtp_in->unprotectRtcp(plain, &plain_size);
  std::optional<rtcp::Feedback> feedback;
  if (valid)
    feedback = rtcp::parse(plain, plain_size);
  {
    std::lock_guard lock(mutex_);
    if (!valid || !feedback) {
      ++stats_.rtcp_rejected;
      return;
    }
    ++stats_.rtcp_received;
    viewer->last_check = SteadyClock::now();
    if (feedback->bye && viewer->state == ViewerState::Connected) {
      // The viewer closed: no need to wait out the consent timeout.
      viewer->state = ViewerState::Gone;
      viewer->failure = "bye";
    }
  }
  if (viewer->spec.on_rtcp)
    viewer->spec.on_rtcp(id, *feedback);
}

void EgressEngine::handleStun(const uint8_t* data, size_t size, const sockaddr_storage& from) {
  auto message = stun::parse(data, size);
  std::lock_guard lock(mutex_);
  if (message && message->type == stun::kBindingIndication) {
    // A keepalive (RFC 8445 11): it keeps NAT bindings open, but carries no
    // integrity, so it is no proof that the viewer is still there.
    return;
  }
  if (!message || message->type != stun::kBindingRequest || !message->has_integrity) {
    ++stats_.checks_rejected;
    return;
  }
  auto it = by_ufrag_.find(std::string(stun::localUfrag(message->username)));
  if (it == by_ufrag_.end()) {
    ++stats_.checks_rejected;
    return;
  }
  Viewer& viewer = *viewers_.at(it->second);
  if (!stun::checkIntegrity(data, size, viewer.spec.local_pwd)) {
    ++stats_.checks_rejected;
    return;
  }
  ++stats_.checks_answered;
  batch_.next(from).take(stun::bindingSuccess(message->transaction, from, viewer.spec.local_pwd));
  // A check from the address in use keeps consent; a nominating check
  // (USE-CANDIDATE) from a new address moves the viewer there.
  bool same = viewer.has_address && addressKey(viewer.address) == addressKey(from);
  if (same) {
    viewer.last_check = SteadyClock::now();
  } else if (message->use_candidate) {
    if (viewer.has_address)
      by_address_.erase(addressKey(viewer.address));
    viewer.address = from;
    viewer.has_address = true;
    viewer.last_check = SteadyClock::now();
    by_address_[addressKey(from)] = it->second;
    if (viewer.state == ViewerState::Checking)
      viewer.state = ViewerState::Handshaking;
  }
}

void EgressEngine::flushDtls(Viewer& viewer) {
  for (auto& datagram : viewer.dtls->takeOutgoing())
    batch_.next(viewer.address).take(std::move(datagram));
  if (viewer.dtls->state() == DtlsTransport::State::Failed && viewer.state != ViewerState::Failed) {
    viewer.state = ViewerState::Failed;
    viewer.failure = viewer.dtls->failure();
  } else if (viewer.dtls->state() == DtlsTransport::State::Connected && !viewer.srtp_out) {
    const SrtpKeys& keys = viewer.dtls->keys();
    auto srtp = SrtpSender::create(keys.profile, keys.local);
    auto srtcp = SrtpSession::create(keys.profile, SrtpSession::Direction::Inbound, keys.remote);
    Result<std::unique_ptr<SrtcpSender>> srtcp_out = std::unique_ptr<SrtcpSender>();
    if (viewer.spec.reports)
      srtcp_out = SrtcpSender::create(keys.profile, keys.local);
    ++handshakes_since_trim_;
    if (srtp && srtcp && srtcp_out) {
      viewer.srtp_out = std::move(srtp).value();
      viewer.srtp_in = std::move(srtcp).value();
      viewer.srtcp_out = std::move(srtcp_out).value();
      viewer.next_report = SteadyClock::now();
      // Connected once our final flight is out (run(), after flush): media
      // sent before it would reach a viewer that cannot open it yet.
      connecting_.push_back(viewer.spec.local_ufrag);
    } else {
      viewer.state = ViewerState::Failed;
      viewer.failure = !srtp    ? srtp.error().message
                       : !srtcp ? srtcp.error().message
                                : srtcp_out.error().message;
    }
  }
}

// A sender's queue, taken from it under its lock: protecting and sending
// happen outside every lock, so senders never wait for SRTP. Viewers are
// held by shared_ptr: one removed meanwhile is only released afterwards.
// Only this sender touches its viewers' outbound SRTP sessions.
void EgressEngine::drainSendQueue(Sender& sender, std::vector<Send>& queue) {
  std::vector<Target> connected;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, viewer] : viewers_) {
      if (viewer->state == ViewerState::Connected && id % senders_.size() == sender.index)
        connected.push_back({id, viewer, viewer->address});
    }
  }
  Batch& batch = sender.batch;
  for (const Send& send : queue) {
    auto it = std::lower_bound(connected.begin(), connected.end(), send.viewer,
                               [](const Target& entry, uint64_t key) { return entry.id < key; });
    if (it == connected.end() || it->id != send.viewer || !send.packet)
      continue;
    const std::vector<uint8_t>& rtp = *send.packet;
    if (rtp.size() < 12 || rtp.size() > kMaxDatagram)
      continue;
    if (options_.fault_loss > 0) {
      if (static_cast<double>(nextRandom(sender.random) % 1000000) < options_.fault_loss * 1e6)
        continue;
    }
    // The header is copied and rewritten; SRTP reads the payload from the
    // shared packet as it encrypts it into the datagram.
    size_t header = SrtpSender::headerLength(rtp.data(), rtp.size());
    if (header == 0)
      continue;
    Outgoing& out = batch.next(it->address);
    if (out.bytes.size() < rtp.size() + kSrtpMaxTrailer)
      out.bytes.resize(kMaxDatagram + kSrtpMaxTrailer);
    uint8_t* p = out.bytes.data();
    std::memcpy(p, rtp.data(), header);
    if (send.rewrite) {
      p[1] = static_cast<uint8_t>((p[1] & 0x80) | (send.payload_type & 0x7f));
      p[2] = static_cast<uint8_t>(send.seq >> 8);
      p[3] = static_cast<uint8_t>(send.seq);
      p[8] = static_cast<uint8_t>(send.ssrc >> 24);
      p[9] = static_cast<uint8_t>(send.ssrc >> 16);
      p[10] = static_cast<uint8_t>(send.ssrc >> 8);
      p[11] = static_cast<uint8_t>(send.ssrc);
    }
    size_t size = rtp.size();
    if (!it->viewer->srtp_out->protect(p, &size, out.bytes.size(), rtp.data())) {
      --batch.used;
      continue;
    }
    out.length = size;
    if (batch.used >= kMaxPending)
      flush(batch);
  }
  flush(batch);
}

EgressEngine::Outgoing& EgressEngine::Batch::next(const sockaddr_storage& to) {
  if (used == items.size())
    items.emplace_back();
  Outgoing& out = items[used++];
  out.to = to;
  return out;
}

void EgressEngine::tick(SteadyClock::time_point now) {
  bool handshaking = false;
  std::vector<Target> reports_due;
  {
    std::lock_guard lock(mutex_);
    tickLocked(now);
    for (const auto& [id, viewer] : viewers_) {
      handshaking = handshaking || viewer->state == ViewerState::Handshaking;
      if (viewer->state == ViewerState::Connected && viewer->srtcp_out &&
          now >= viewer->next_report)
        reports_due.push_back({id, viewer, viewer->address});
    }
  }
  sendReports(reports_due, now);
  // A DTLS handshake holds ~100 KB of OpenSSL state that is freed once the
  // keys are out; after a wave of joins the freed memory stays in malloc's
  // arenas as the process's high-water mark. Once the wave is over, hand it
  // back to the system (at most once a second, outside the lock).
  if (handshakes_since_trim_ > 0 && !handshaking && now - last_trim_ >= std::chrono::seconds(1)) {
    handshakes_since_trim_ = 0;
    last_trim_ = now;
    malloc_trim(0);
  }
}

// The RTCP of each connected viewer whose report is due (tick() picks them):
// asked for and protected outside mutex_ (the viewer is held by shared_ptr;
// srtcp_out is only used on this thread), batched with the check answers
// and DTLS flights.
void EgressEngine::sendReports(const std::vector<Target>& due, SteadyClock::time_point now) {
  uint64_t sent = 0;
  for (const Target& d : due) {
    std::vector<uint8_t> plain = d.viewer->spec.reports(d.id);
    if (plain.empty() || plain.size() > kMaxDatagram) {
      d.viewer->next_report = now + std::chrono::milliseconds(100);
      continue;
    }
    d.viewer->next_report =
        now + std::chrono::milliseconds(500 + nextRandom(report_random_) % 1000);
    size_t size = plain.size();
    plain.resize(size + kSrtpMaxTrailer);
    if (!d.viewer->srtcp_out->protect(plain.data(), &size, plain.size()))
      continue;
    plain.resize(size);
    batch_.next(d.address).take(std::move(plain));
    ++sent;
  }
  if (sent > 0) {
    std::lock_guard lock(mutex_);
    stats_.reports_sent += sent;
  }
}

void EgressEngine::tickLocked(SteadyClock::time_point now) {
  for (auto& [id, viewer] : viewers_) {
    if (viewer->state == ViewerState::Handshaking && viewer->dtls->timeout() &&
        viewer->dtls->timeout()->count() == 0) {
      viewer->dtls->handleTimeout();
      flushDtls(*viewer);
    }
    if ((viewer->state == ViewerState::Handshaking || viewer->state == ViewerState::Connected) &&
        now - viewer->last_check > options_.consent_timeout) {
      viewer->state = ViewerState::Gone;
      viewer->failure = "consent_expired";
    } else if (viewer->state == ViewerState::Checking &&
               now - viewer->added > options_.consent_timeout) {
      viewer->state = ViewerState::Gone;
      viewer->failure = "never_checked";
    }
  }
}

// Sends what is batched with as few sendmmsg calls as it takes (up to 64
// datagrams each), on the thread that owns `batch`, without mutex_ held.
bool EgressEngine::sameDestination(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family)
    return false;
  if (a.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  return std::memcmp(&a, &b, lengthOf(a)) == 0;
}

// Datagrams leave in sendmmsg calls of up to kMaxBatch messages. With GSO,
// a run of datagrams to one viewer of one size (the last may be shorter:
// the packets of one video frame) is one message with a UDP_SEGMENT control
// message: the kernel routes it and builds the headers once, and cuts it
// into the same datagrams (in the NIC where it can). A kernel or device that
// refuses GSO turns it off for good and the run goes out datagram by
// datagram.
void EgressEngine::flush(Batch& batch) {
  size_t sent = 0;
  uint64_t batches = 0;
  uint64_t segmented = 0;
  mmsghdr messages[kMaxBatch];
  iovec iov[kMaxPending];
  size_t datagrams[kMaxBatch];  // in each message
  alignas(cmsghdr) char control[kMaxBatch][CMSG_SPACE(sizeof(uint16_t))];
  while (sent < batch.used) {
    const bool gso = gso_.load(std::memory_order_relaxed);
    size_t count = 0;
    size_t next = sent;
    while (count < kMaxBatch && next < batch.used && next - sent < kMaxPending) {
      Outgoing& first = batch.items[next];
      size_t run = 1;
      size_t bytes = first.length;
      while (gso && run < kMaxSegments && next + run < batch.used &&
             next + run - sent < kMaxPending) {
        const Outgoing& more = batch.items[next + run];
        // Every datagram but the last of a run has the first one's size.
        if (batch.items[next + run - 1].length != first.length || more.length > first.length ||
            more.length == 0 || bytes + more.length > kMaxGsoBytes ||
            !sameDestination(more.to, first.to))
          break;
        bytes += more.length;
        ++run;
      }
      mmsghdr& message = messages[count];
      std::memset(&message, 0, sizeof message);
      for (size_t i = 0; i < run; ++i)
        iov[next - sent + i] = {batch.items[next + i].bytes.data(), batch.items[next + i].length};
      message.msg_hdr.msg_name = &first.to;
      message.msg_hdr.msg_namelen = lengthOf(first.to);
      message.msg_hdr.msg_iov = &iov[next - sent];
      message.msg_hdr.msg_iovlen = run;
      if (run > 1) {
        message.msg_hdr.msg_control = control[count];
        message.msg_hdr.msg_controllen = sizeof control[count];
        cmsghdr* header = CMSG_FIRSTHDR(&message.msg_hdr);
        header->cmsg_level = SOL_UDP;
        header->cmsg_type = UDP_SEGMENT;
        header->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        auto size = static_cast<uint16_t>(first.length);
        std::memcpy(CMSG_DATA(header), &size, sizeof size);
      }
      datagrams[count++] = run;
      next += run;
    }
    int rc = sendmmsg(socket_, messages, static_cast<unsigned>(count), 0);
    ++batches;
    if (rc < 0 && datagrams[0] > 1 &&
        (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOPROTOOPT)) {
      // No GSO on this path (no checksum offload, an old kernel): send the
      // same datagrams again one by one.
      gso_.store(false, std::memory_order_relaxed);
      continue;
    }
    if (rc <= 0) {
      // A full socket buffer drops the rest of this batch, as a lossy link
      // would; the viewer's NACK/PLI recovers.
      break;
    }
    for (int i = 0; i < rc; ++i) {
      sent += datagrams[i];
      if (datagrams[i] > 1)
        segmented += datagrams[i];
    }
    if (static_cast<size_t>(rc) < count)
      break;
  }
  batch.used = 0;
  // DTLS flights and bursts can grow a batch past a round; keep the
  // buffers of one, let the rest go.
  if (batch.items.size() > kMaxPending)
    batch.items.resize(kMaxPending);
  if (batches) {
    std::lock_guard lock(mutex_);
    stats_.send_batches += batches;
    stats_.packets_sent += sent;
    stats_.packets_segmented += segmented;
  }
}

}  // namespace jobcast::media::egress
