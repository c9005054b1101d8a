#include "signaling/live_channel.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <unordered_set>

#include "core/guard.h"
#include "core/log.h"
#include "core/secrets.h"
#include "rooms/access.h"
#include "rooms/keys.h"
#include "signaling/live_rooms_port.h"

namespace jobcast::ws {

using nlohmann::json;
using Frame = std::shared_ptr<const std::string>;
using Clock = std::chrono::steady_clock;

namespace {

// A frame's bytes with LWS_PRE bytes of headroom in front, shared by every
// connection it is queued to. lws_write() writes the WebSocket header into the
// headroom: that is safe to share because writes happen one at a time on the
// control thread and the header of an unmasked, uncompressed server frame
// depends only on the payload length.
// The header of an unmasked, final text frame of `len` payload bytes (RFC 6455
// 5.2), as lws_write writes it.
size_t headerSize(size_t len) {
  return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

// The header is written into the headroom here too, so that the frame can be
// sent whole with send() (LiveChannel::sendAll) as well as with lws_write().
Frame makeFrame(std::string_view payload) {
  auto s = std::make_shared<std::string>();
  s->reserve(LWS_PRE + payload.size());
  s->append(LWS_PRE, '\0');
  s->append(payload);
  size_t len = payload.size();
  size_t h = headerSize(len);
  auto* p = reinterpret_cast<unsigned char*>(s->data()) + LWS_PRE - h;
  p[0] = 0x81;  // FIN, text
  if (h == 2) {
    p[1] = static_cast<unsigned char>(len);
  } else if (h == 4) {
    p[1] = 126;
    p[2] = static_cast<unsigned char>(len >> 8);
    p[3] = static_cast<unsigned char>(len);
  } else {
    p[1] = 127;
    for (int i = 0; i < 8; ++i)
      p[2 + i] = static_cast<unsigned char>(static_cast<uint64_t>(len) >> (56 - 8 * i));
  }
  return s;
}

size_t payloadSize(const Frame& f) {
  return f->size() - LWS_PRE;
}

// The frame as it goes on the wire: header and payload.
std::string_view wireBytes(const Frame& f) {
  size_t h = headerSize(payloadSize(f));
  return {f->data() + LWS_PRE - h, h + payloadSize(f)};
}

int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// GLib blocks a source while dispatching it: it takes the source's fds out of
// the context's poll list and inserts them back afterwards, into a list sorted
// by fd, linear in the sockets open. With lws's one source per connection, at
// 10,000 viewers every delivery walked 10,000 records (most of the node's CPU).
// A connection's source is never dispatched recursively (nothing on the
// control thread runs a nested loop), so it may skip that blocking.
void letSourceRecurse() {
  GSource* source = g_main_current_source();
  if (source && !g_source_get_can_recurse(source))
    g_source_set_can_recurse(source, TRUE);
}

// Per-session storage lws keeps for us: just the connection's id.
struct Session {
  uint64_t id;
};

}  // namespace

struct LiveChannel::Conn {
  enum class State { AwaitHello, Joining, CatchingUp, Live, Closing };
  uint64_t id = 0;
  lws* wsi = nullptr;
  State state = State::AwaitHello;
  std::string room;
  rooms::Actor actor;
  bool in_feed = false;
  std::deque<Frame> out;
  size_t out_bytes = 0;
  live::StreamId last_sent;
  std::optional<std::string> since;  // the hello's resume point, until joined
  std::string rx;
  bool rx_overflow = false;
  bool rx_binary = false;
  int strikes = 0;
  double tokens = 0;
  Clock::time_point refill = Clock::now();
  uint16_t close_code = 0;
  std::string close_reason;
  std::optional<Clock::time_point> over_since;  // send queue over its bound since
  Clock::time_point opened = Clock::now();      // hello due hello_timeout_s after
  // Frames may be written at once, outside the writable callback (see enqueue).
  bool direct = false;
  // ... and also with send() on the socket (plain TCP), from any thread of
  // the fan-out while the control thread waits for them (see sendAll).
  bool raw = false;
};

// A fan-out's frames for one connection, and what send() made of them.
struct LiveChannel::RawSend {
  Conn* conn;
  int fd;                            // the connection's socket, as lws has it now
  const std::vector<Frame>* frames;  // in order
  size_t whole = 0;                  // frames the kernel took whole
  ssize_t sent = 0;                  // of the next one: bytes taken, or -1
  int err = 0;
};

// One stream entry, serialised once for the whole node.
struct LiveChannel::Event {
  live::StreamId id;
  std::string kind;
  enum class Audience { All, Staff, User } audience = Audience::All;
  std::string user;     // for Audience::User
  std::string payload;  // its event frame (docs/websocket.md)
  // room.updated: who the room lists now; the standing of every connection
  // in the room is worked out again, so an assigned or unassigned staff
  // member gains or loses their powers without joining again.
  std::optional<rooms::Membership> members;
  std::string close_sub;  // user.banned, user.kicked: whose connections close
  uint16_t close_code = 0;
  const char* close_reason = "";
};

struct LiveChannel::Feed {
  std::string room;
  std::unordered_map<uint64_t, Conn*> conns;
  live::StreamId cursor;
  bool cursor_known = false;
  bool reading = false;
  bool again = false;
  Timer presence_soon;
  // Events read but not yet sent: they go out together on the next tick.
  std::vector<Event> pending;
  Timer tick;
  // The shared frames of the last flush, while connections still queue them:
  // the next flush waits until (nearly) all are written, so that a node
  // behind on its writes sends more events per frame, not more frames.
  std::vector<Frame> sent;
  int held_ticks = 0;
  // Subjects already counted in the room's unique-viewer figure by this node.
  std::unordered_set<std::string> counted;
};

LiveOptions LiveOptions::fromConfig(const Config& c) {
  LiveOptions o;
  o.max_frame_bytes = static_cast<size_t>(c.live_max_frame_bytes);
  o.send_queue_frames = static_cast<size_t>(c.live_send_queue_frames);
  o.send_queue_bytes = static_cast<size_t>(c.live_send_queue_bytes);
  o.slow_grace_ms = c.live_slow_grace_ms;
  o.hello_timeout_s = static_cast<int>(c.live_hello_timeout_s);
  o.abuse_limit = static_cast<int>(c.live_abuse_limit);
  o.frames_per_s = static_cast<double>(c.live_frames_per_s);
  o.heartbeat_ms = c.live_heartbeat_ms;
  o.viewer_ttl_ms = c.live_viewer_ttl_ms;
  o.queue_grace_ms = c.live_queue_grace_ms;
  o.coalesce_ms = c.live_coalesce_ms;
  o.max_connections = static_cast<size_t>(c.live_max_connections);
  o.fanout_threads = static_cast<int>(c.live_fanout_threads);
  o.limits.chat_max_chars = static_cast<size_t>(c.live_chat_max_chars);
  o.limits.chat_rate_count = static_cast<int>(c.live_chat_rate_count);
  o.limits.chat_rate_window_ms = static_cast<int>(c.live_chat_rate_window_ms);
  o.limits.blocked_words = c.live_blocked_words;
  o.limits.events_maxlen = c.redis_events_maxlen;
  o.limits.calls = {c.turn_urls, c.turn_secret, c.turn_ttl_s, c.live_call_ring_ms};
  return o;
}

LiveChannel::LiveChannel(Loop& loop, RedisClient& redis, const RedisAddress& address,
                         const Jwt& jwt, Metrics& metrics, LiveOptions options,
                         rooms::RoomStore* store)
    : loop_(loop),
      redis_(redis),
      jwt_(jwt),
      metrics_(metrics),
      options_(std::move(options)),
      own_rooms_port_(live::makeRoomHashPort()),
      rooms_port_(own_rooms_port_.get()),
      room_(redis, options_.limits, rooms_port_),
      notifications_(loop, redis, address),
      node_id_(randomHex(8)),
      fanout_(WorkerPool::helpersFor(options_.fanout_threads)) {
  metrics_.describe("jobcast_ws_connections", Metrics::Type::Gauge,
                    "Open WebSocket connections on this node.");
  metrics_.gaugeFn("jobcast_ws_connections", {},
                   [this] { return static_cast<double>(conns_.size()); });
  metrics_.describe("jobcast_ws_events_total", Metrics::Type::Counter,
                    "Room events read from Redis and serialised (once per node).");
  metrics_.describe("jobcast_ws_events_inline_total", Metrics::Type::Counter,
                    "Room events taken from their notification, with no read of the stream.");
  metrics_.describe("jobcast_ws_deliveries_total", Metrics::Type::Counter,
                    "Event frames queued to connections.");
  metrics_.describe("jobcast_ws_closed_total", Metrics::Type::Counter,
                    "Connections closed by the server, by reason.");
  metrics_.describe("jobcast_ws_errors_total", Metrics::Type::Counter,
                    "Error frames sent, by code.");
  metrics_.describe("jobcast_ws_joining", Metrics::Type::Gauge,
                    "Connections waiting for their room snapshot.");
  metrics_.gaugeFn("jobcast_ws_joining", {}, [this] {
    size_t n = 0;
    for (const auto& [id, conn] : conns_)
      n += conn->state == Conn::State::Joining ? 1 : 0;
    return static_cast<double>(n);
  });
  metrics_.describe("jobcast_ws_fanouts_total", Metrics::Type::Counter,
                    "Ticks that sent a room's new events to its connections.");
  metrics_.describe("jobcast_ws_fanout_seconds_total", Metrics::Type::Counter,
                    "Time those ticks took, from the first connection's frame to the last "
                    "one's send.");
  metrics_.describe("jobcast_ws_fanout_sends_total", Metrics::Type::Counter,
                    "Frames a fan-out wrote with one send() per connection, by result: whole, "
                    "partial (lws sent the rest), full (queued), broken (closed).");
  metrics_.describe("jobcast_ws_snapshots_total", Metrics::Type::Counter,
                    "Room snapshots read for joiners (one serves all who join together).");
  if (store) {
    store_port_ = std::make_unique<RoomStorePort>(*store);
    setRoomsPort(store_port_.get());
  }
}

LiveChannel::~LiveChannel() {
  heartbeat_timer_.cancel();
}

void LiveChannel::setRoomsPort(live::RoomsPort* port) {
  rooms_port_ = port ? port : own_rooms_port_.get();
  room_.setRoomsPort(rooms_port_);
}

lws_protocols LiveChannel::protocol() {
  lws_protocols p;
  std::memset(&p, 0, sizeof p);
  p.name = kSubprotocol;
  p.callback = [](lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) -> int {
    const lws_protocols* proto = lws_get_protocol(wsi);
    auto* self = proto ? static_cast<LiveChannel*>(proto->user) : nullptr;
    if (!self)
      return 0;
    return self->onCallback(wsi, reason, user, in, len);
  };
  p.per_session_data_size = sizeof(Session);
  p.rx_buffer_size = 0;
  p.user = this;
  return p;
}

void LiveChannel::start() {
  notifications_.onNotified(
      [this](const std::string& room, const rooms::Notice& notice) { wake(room, &notice); });
  // After a (re)subscription, notifications may have been missed: re-read.
  notifications_.onSubscribed([this](const std::optional<std::string>& room) {
    if (room) {
      wake(*room);
      return;
    }
    for (auto& [id, feed] : feeds_)
      readFeed(*feed);
  });
  notifications_.start();
  heartbeat_timer_.start(loop_, std::chrono::milliseconds(options_.heartbeat_ms), [this] {
    heartbeat();
    return true;
  });
}

int LiveChannel::onCallback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                            size_t len) {
  auto* session = static_cast<Session*>(user);
  auto find = [&]() -> Conn* {
    if (!session)
      return nullptr;
    auto it = conns_.find(session->id);
    return it == conns_.end() ? nullptr : it->second.get();
  };
  switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
      char uri[64] = {0};
      if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 ||
          std::strcmp(uri, kPath) != 0) {
        return 1;  // the channel lives at /ws only
      }
      return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
      letSourceRecurse();
      onEstablished(wsi, user);
      return 0;
    case LWS_CALLBACK_RECEIVE_PONG:
      lws_validity_confirmed(wsi);  // the peer is there (server.ws_timeout_s)
      return 0;
    case LWS_CALLBACK_RECEIVE: {
      Conn* conn = find();
      if (!conn)
        return -1;
      lws_validity_confirmed(wsi);  // so is a peer that speaks
      bool final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
      onReceive(*conn, static_cast<const char*>(in), len, lws_frame_is_binary(wsi) != 0, final);
      return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
      letSourceRecurse();
      Conn* conn = find();
      if (!conn)
        return -1;
      return onWritable(*conn);
    }
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY: {
      // CLOSED normally; a wsi lws frees without it (closed in a state lws
      // does not report) must not leave its Conn behind with a freed wsi.
      if (Conn* conn = find())
        onClosed(*conn);
      return 0;
    }
    default:
      return 0;
  }
}

void LiveChannel::onEstablished(lws* wsi, void* user) {
  bool full = conns_.size() >= options_.max_connections;
  auto conn = std::make_unique<Conn>();
  conn->id = next_conn_id_++;
  conn->wsi = wsi;
  conn->tokens = options_.frames_per_s * 2;
  static_cast<Session*>(user)->id = conn->id;
  Conn& added = *conn;
  conns_.emplace(conn->id, std::move(conn));
  if (draining_) {
    sendError(added, std::nullopt, "node_draining", "this node is shutting down: reconnect");
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, 2);
    return;
  }
  if (full) {
    // Over the node's cap: refuse before any Redis work, with a close code
    // that tells the client to come back later (or go to another node).
    sendError(added, std::nullopt, "node_full",
              "this node carries its maximum of viewers: retry later");
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, 2);
    return;
  }
  // From now on frames may be written outside the writable callback, unless
  // the connection is a stream of a multiplexed (HTTP/2) connection.
  added.direct = lws_get_network_wsi(wsi) == wsi;
  added.raw = added.direct && !lws_is_ssl(wsi);
  // No lws_set_timeout for the hello: lws keeps its timeouts in one sorted
  // list, an insertion linear in the connections open (a quarter of the
  // node's CPU while 10,000 joined). The heartbeat closes late greeters.
}

void LiveChannel::onClosed(Conn& conn) {
  conn.wsi = nullptr;
  detachFromFeed(conn);
  conns_.erase(conn.id);  // destroys conn
}

int LiveChannel::onWritable(Conn& conn) {
  // Writes until the kernel takes less than a whole frame: lws keeps that
  // remainder and sends it before anything else (its pings included) once the
  // socket drains, then calls back here for the rest of the queue.
  while (!conn.out.empty()) {
    Frame frame = conn.out.front();
    conn.out.pop_front();
    size_t n = payloadSize(frame);
    conn.out_bytes -= n;
    if (!writeFrame(conn, frame))
      return -1;
    if (lws_partial_buffered(conn.wsi))
      break;
  }
  if (!conn.out.empty()) {
    lws_callback_on_writable(conn.wsi);
    checkBound(conn);
    return 0;
  }
  conn.over_since.reset();
  if (conn.state == Conn::State::Closing) {
    lws_close_reason(conn.wsi, static_cast<lws_close_status>(conn.close_code),
                     reinterpret_cast<unsigned char*>(conn.close_reason.data()),
                     conn.close_reason.size());
    return -1;
  }
  return 0;
}

void LiveChannel::onReceive(Conn& conn, const char* in, size_t len, bool binary, bool final) {
  if (conn.state == Conn::State::Closing)
    return;
  conn.rx_binary = conn.rx_binary || binary;
  if (!conn.rx_overflow) {
    if (conn.rx.size() + len > options_.max_frame_bytes) {
      conn.rx_overflow = true;
      conn.rx.clear();
      conn.rx.shrink_to_fit();
    } else {
      conn.rx.append(in, len);
    }
  }
  if (!final)
    return;
  std::string text = std::move(conn.rx);
  conn.rx.clear();
  bool overflow = std::exchange(conn.rx_overflow, false);
  bool was_binary = std::exchange(conn.rx_binary, false);

  // Token bucket on client frames.
  auto now = Clock::now();
  double elapsed = std::chrono::duration<double>(now - conn.refill).count();
  conn.refill = now;
  conn.tokens = std::min(options_.frames_per_s * 2, conn.tokens + elapsed * options_.frames_per_s);
  if (conn.tokens < 1) {
    sendError(conn, std::nullopt, "rate_limited_frames", "too many frames: slow down");
    return;
  }
  conn.tokens -= 1;

  if (overflow) {
    sendError(conn, std::nullopt, "too_large",
              "frame over " + std::to_string(options_.max_frame_bytes) + " bytes");
    return;
  }
  if (was_binary) {
    sendError(conn, std::nullopt, "binary_not_supported", "send JSON text frames");
    return;
  }
  onMessage(conn, text);
}

void LiveChannel::onMessage(Conn& conn, std::string_view text) {
  // A frame handler that throws is a bug: logged, answered with an "internal"
  // error frame naming the request when it was read, and the connection stays.
  std::optional<int64_t> req;
  uint64_t id = conn.id;
  if (guarded("websocket frame", [&] { handleFrame(conn, text, req); }))
    return;
  if (auto it = conns_.find(id); it != conns_.end())
    sendError(*it->second, req, "internal", "the server failed to handle this frame");
}

void LiveChannel::handleFrame(Conn& conn, std::string_view text, std::optional<int64_t>& req) {
  auto decoded = decodeFrame(text, options_.max_frame_bytes);
  if (auto* err = std::get_if<FrameError>(&decoded)) {
    sendError(conn, err->req, err->code, err->message);
    return;
  }
  auto& frame = std::get<ClientFrame>(decoded);
  req = frame.req;
  if (frame.type == "hello") {
    onHello(conn, frame);
    return;
  }
  if (conn.state == Conn::State::AwaitHello || conn.state == Conn::State::Joining) {
    sendError(conn, frame.req, "hello_required", "send hello first and wait for welcome");
    return;
  }
  if (frame.type == "ping") {
    sendText(conn, ackFrame(*frame.req, {{"pong", true}, {"now", nowSeconds()}}));
    return;
  }
  onAction(conn, frame.type, *frame.req, frame.body);
}

void LiveChannel::onHello(Conn& conn, const ClientFrame& frame) {
  if (conn.state != Conn::State::AwaitHello) {
    sendError(conn, frame.req, "already_joined", "this connection already said hello");
    return;
  }
  auto decoded = decodeHello(frame);
  if (auto* err = std::get_if<FrameError>(&decoded)) {
    sendError(conn, err->req, err->code, err->message);
    return;
  }
  Hello hello = std::get<Hello>(std::move(decoded));
  rooms::Actor actor;  // anonymous unless a token comes with the hello
  if (hello.token) {
    auto claims = jwt_.verify(*hello.token, nowSeconds());
    if (!claims) {
      sendError(conn, frame.req, claims.error().code, claims.error().message);
      return;
    }
    rooms::Membership in_room;  // joining depends on the token's scope only
    in_room.room_id = hello.room;
    if (rooms::decide(&claims.value(), in_room, rooms::Operation::Watch)) {
      sendError(conn, frame.req, "room_forbidden", "this token is not valid for this room");
      return;
    }
    actor = rooms::Actor::of(claims.value());
  }
  conn.state = Conn::State::Joining;
  conn.room = hello.room;
  conn.actor = actor;
  conn.since = hello.since;
  // Joiners of one room with the same token (all anonymous viewers share the
  // empty one) wait for one snapshot together: while one is being read, those
  // who arrive queue for the next, which then serves them all at once.
  std::string key = hello.room + '\n' + hello.token.value_or("");
  JoinGroup& group = joins_[key];
  group.waiting.push_back(conn.id);
  if (!group.reading)
    readSnapshot(key);
}

void LiveChannel::readSnapshot(const std::string& key) {
  auto it = joins_.find(key);
  if (it == joins_.end())
    return;
  JoinGroup& group = it->second;
  std::vector<uint64_t> ids;
  for (uint64_t id : std::exchange(group.waiting, {})) {
    auto c = conns_.find(id);
    if (c != conns_.end() && c->second->state == Conn::State::Joining)
      ids.push_back(id);
  }
  if (ids.empty()) {
    joins_.erase(it);
    return;
  }
  group.reading = true;
  const Conn& first = *conns_.at(ids.front());
  metrics_.add("jobcast_ws_snapshots_total", {});
  room_.snapshot(first.room, first.actor, [this, key, ids](Result<json> snapshot) {
    joined(ids, std::move(snapshot));
    auto it = joins_.find(key);
    if (it == joins_.end())
      return;
    it->second.reading = false;
    readSnapshot(key);  // those who came meanwhile, or forget the group
  });
}

void LiveChannel::joined(const std::vector<uint64_t>& ids, Result<json> snapshot) {
  std::vector<Conn*> conns;
  for (uint64_t id : ids) {
    auto it = conns_.find(id);
    if (it != conns_.end() && it->second->state == Conn::State::Joining)
      conns.push_back(it->second.get());  // not gone meanwhile
  }
  if (conns.empty())
    return;
  if (!snapshot) {
    const Error& e = snapshot.error();
    for (Conn* conn : conns) {
      if (e.code == "room_not_found") {
        sendError(*conn, std::nullopt, e.code, e.message);
      } else {
        sendError(*conn, std::nullopt, "join_failed", "the room cannot be read now: retry");
      }
    }
    return;
  }
  json snap = std::move(snapshot.value());
  if (snap.value("banned", false)) {
    for (Conn* conn : conns)
      sendError(*conn, std::nullopt, "banned", "you are banned from this room");
    return;
  }
  const std::string room = conns.front()->room;
  std::string last_id = snap.value("last_id", "0-0");
  std::string first_id = snap.value("first_id", "");
  std::string max_deleted_id = snap.value("max_deleted_id", "0-0");
  bool staff = snap.value("staff", false);
  for (Conn* conn : conns) {
    conn->actor.standing = live::standingOf(room, conn->actor, snap);
    conn->actor.staff = staff;
  }
  for (const char* internal : {"staff", "banned", "last_id", "first_id", "max_deleted_id", "now"})
    snap.erase(internal);
  // One welcome frame for all who get the same bytes (every fresh anonymous
  // viewer does), and one catch-up per start position.
  std::map<std::string, Frame> welcomes;
  std::map<std::string, std::vector<uint64_t>> starts;
  for (Conn* conn : conns) {
    std::optional<std::string> since = std::exchange(conn->since, std::nullopt);
    auto verdict = live::resumeVerdict(since, last_id, first_id, max_deleted_id);
    const char* resume = "none";
    std::string start = last_id;
    switch (verdict) {
      case live::ResumeVerdict::Fresh:
        break;
      case live::ResumeVerdict::Resume:
        resume = "ok";
        start = *since;
        break;
      case live::ResumeVerdict::Expired:
        resume = "expired";
        break;
      case live::ResumeVerdict::Unknown:
        resume = "unknown";
        break;
    }
    json you{{"staff", conn->actor.staff},
             {"role", conn->actor.role ? roleName(*conn->actor.role) : "viewer"}};
    if (!conn->actor.anonymous()) {
      you["sub"] = conn->actor.sub;
      you["name"] = conn->actor.name;
    }
    std::string key = you.dump() + '\n' + since.value_or("");
    Frame& frame = welcomes[key];
    if (!frame) {
      json welcome{{"type", "welcome"},  {"room", room},     {"node", node_id_}, {"you", you},
                   {"last_id", last_id}, {"resume", resume}, {"snapshot", snap}};
      if (since)
        welcome["since"] = *since;
      frame = makeFrame(welcome.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    enqueue(*conn, frame);
    conn->last_sent = *live::StreamId::parse(start);
    conn->state = Conn::State::CatchingUp;
    starts[start].push_back(conn->id);
  }
  Feed& feed = feedFor(room);
  for (Conn* conn : conns) {
    if (conn->state != Conn::State::CatchingUp)
      continue;
    feed.conns.emplace(conn->id, conn);
    conn->in_feed = true;
  }
  if (!feed.presence_soon.active()) {
    feed.presence_soon.start(loop_, std::chrono::milliseconds(200), [this, room] {
      auto f = feeds_.find(room);
      if (f != feeds_.end())
        reportPresence(*f->second);
      return false;
    });
  }
  for (auto& [start, group] : starts) {
    auto from = *live::StreamId::parse(start);
    // The feed has read nothing after `from` yet: whatever comes after it,
    // the feed delivers (it skips what a connection already has). No backlog
    // to read.
    if (feed.cursor_known && !(from < feed.cursor)) {
      for (uint64_t id : group) {
        Conn& conn = *conns_.at(id);
        if (conn.state == Conn::State::CatchingUp)
          conn.state = Conn::State::Live;
      }
      continue;
    }
    catchUp(room, group, from);
  }
}

// Reads the backlog after `from` for connections that all start there, page
// by page, and queues it to each. While a page is outstanding, the room feed
// skips these connections: anything the feed reads meanwhile is also in the
// page, which Redis answers later.
void LiveChannel::catchUp(const std::string& room, std::vector<uint64_t> ids, live::StreamId from) {
  redis_.command({"XRANGE", rooms::keys::events(room), "(" + from.str(), "+", "COUNT",
                  std::to_string(options_.read_batch)},
                 [this, room, ids = std::move(ids), from](Result<RedisReply> r) {
                   std::vector<Conn*> conns;
                   std::vector<uint64_t> still;
                   for (uint64_t id : ids) {
                     auto it = conns_.find(id);
                     if (it != conns_.end() && it->second->state == Conn::State::CatchingUp) {
                       conns.push_back(it->second.get());
                       still.push_back(id);
                     }
                   }
                   if (conns.empty())
                     return;
                   if (!r.ok() || r->isError()) {
                     for (Conn* conn : conns)
                       sendError(*conn, std::nullopt, "join_failed",
                                 "the room cannot be read now: retry");
                     return;
                   }
                   size_t n = r->elements.size();
                   std::vector<Event> events;
                   events.reserve(n);
                   for (const auto& entry : r->elements) {
                     Event ev;
                     if (parseEntry(entry, ev))
                       events.push_back(std::move(ev));
                   }
                   fanOut(conns, events);
                   // Where this page ends, even when its last entry did not parse.
                   live::StreamId end = events.empty() ? from : events.back().id;
                   if (n > 0 && !r->elements.back().elements.empty()) {
                     if (auto last = live::StreamId::parse(r->elements.back().elements[0].str))
                       end = std::max(end, *last);
                   }
                   if (n >= options_.read_batch) {
                     catchUp(room, std::move(still), end);
                     return;
                   }
                   for (Conn* conn : conns) {
                     if (conn->state == Conn::State::CatchingUp)
                       conn->state = Conn::State::Live;
                   }
                   auto feed_it = feeds_.find(room);
                   if (feed_it != feeds_.end()) {
                     Feed& feed = *feed_it->second;
                     // The first to catch up starts the feed where it stands.
                     // A known cursor never jumps ahead: the feed's live
                     // connections still need what lies between, and these
                     // ones skip it (all of it is in their pages: Redis ran
                     // every read the feed has seen before this page).
                     if (!feed.cursor_known) {
                       feed.cursor = end;
                       feed.cursor_known = true;
                     }
                     readFeed(feed);
                   }
                 });
}

void LiveChannel::onAction(Conn& conn, const std::string& type, int64_t req, const json& body) {
  auto action = live::parseAction(type);
  if (!action) {
    sendError(conn, req, "unknown_type", "unknown type");
    return;
  }
  uint64_t id = conn.id;
  room_.perform(conn.room, conn.actor, *action, body, [this, id, req](Result<json> r) {
    auto it = conns_.find(id);
    if (it == conns_.end())
      return;
    Conn& conn = *it->second;
    if (!r) {
      sendError(conn, req, r.error().code, r.error().message, r.error().retry_s);
      return;
    }
    sendText(conn, ackFrame(req, std::move(r.value())));
  });
}

void LiveChannel::sendText(Conn& conn, const std::string& payload) {
  enqueue(conn, makeFrame(payload));
}

bool LiveChannel::writeFrame(Conn& conn, const Frame& frame) {
  size_t n = payloadSize(frame);
  auto* p = reinterpret_cast<unsigned char*>(const_cast<char*>(frame->data())) + LWS_PRE;
  return lws_write(conn.wsi, p, n, LWS_WRITE_TEXT) >= static_cast<int>(n);
}

void LiveChannel::enqueue(Conn& conn, const Frame& frame) {
  if (conn.state == Conn::State::Closing || !conn.wsi)
    return;
  // Nothing waiting, neither here nor in lws: write it now, one send() and no
  // trip through the event loop (a writable callback per connection per event
  // cost a poll change, a wake-up and a dispatch each: most of a tick at
  // 10,000 viewers). What the kernel does not take, lws keeps and sends first
  // when the socket drains, so frames stay whole and in order. Not on an
  // HTTP/2 stream, whose writes lws must schedule.
  if (conn.direct && conn.out.empty() && !lws_partial_buffered(conn.wsi)) {
    if (!writeFrame(conn, frame))
      closeConn(conn, kCloseInternal, "write failed");
    return;
  }
  size_t n = payloadSize(frame);
  conn.out.push_back(frame);
  conn.out_bytes += n;
  if (conn.out.size() == 1)
    lws_callback_on_writable(conn.wsi);
  checkBound(conn);
}

// The bound is soft for a moment (a burst, a busy phone) and hard at
// kHardFactor times it: a client over the bound for longer than
// slow_grace_ms, or over the hard bound at all, is closed. Either way the
// queue never holds more than the hard bound.
void LiveChannel::checkBound(Conn& conn) {
  constexpr size_t kHardFactor = 4;
  bool over =
      conn.out.size() > options_.send_queue_frames || conn.out_bytes > options_.send_queue_bytes;
  if (!over) {
    conn.over_since.reset();
    return;
  }
  auto now = Clock::now();
  if (!conn.over_since)
    conn.over_since = now;
  bool hard = conn.out.size() > options_.send_queue_frames * kHardFactor ||
              conn.out_bytes > options_.send_queue_bytes * kHardFactor;
  if (!hard && now - *conn.over_since < std::chrono::milliseconds(options_.slow_grace_ms))
    return;
  // A reader that cannot keep up: drop what it has queued and close it, so it
  // neither slows the others nor grows this node's memory.
  conn.out.clear();
  conn.out_bytes = 0;
  log::info("websocket client too slow: closing", {{"room", conn.room}});
  closeConn(conn, kCloseSlowConsumer, "send queue over bound");
  // Its socket may never become writable again: make lws drop it regardless.
  lws_set_timeout(conn.wsi, PENDING_TIMEOUT_USER_OK, 2);
}

void LiveChannel::sendError(Conn& conn, const std::optional<int64_t>& req, const std::string& code,
                            const std::string& message, int64_t retry_s) {
  metrics_.add("jobcast_ws_errors_total", {{"code", code}});
  sendText(conn, errorFrame(req, code, message, retry_s));
  ErrorPolicy policy = errorPolicy(code);
  if (policy.close_code) {
    closeConn(conn, policy.close_code, code);
  } else if (policy.strike) {
    strike(conn);
  }
}

void LiveChannel::strike(Conn& conn) {
  if (++conn.strikes >= options_.abuse_limit)
    closeConn(conn, kClosePolicy, "too many bad frames");
}

void LiveChannel::revokeAccount(const std::string& account, int64_t gate) {
  for (auto& [id, conn] : conns_) {
    const rooms::Actor& a = conn->actor;
    if (a.av == 0 || a.sub != account || (gate > 0 && a.av >= gate))
      continue;
    sendError(*conn, std::nullopt, "token_revoked",
              gate < 0 ? "the account is disabled" : "the token was revoked; sign in again");
  }
}

void LiveChannel::drain() {
  draining_ = true;
  log::info("draining: closing WebSockets", {{"connections", static_cast<int64_t>(conns_.size())}});
  for (auto& [id, conn] : conns_)
    sendError(*conn, std::nullopt, "node_draining", "this node is shutting down: reconnect");
}

void LiveChannel::closeConn(Conn& conn, uint16_t code, const std::string& reason) {
  if (conn.state == Conn::State::Closing || !conn.wsi)
    return;
  metrics_.add("jobcast_ws_closed_total", {{"reason", reason}});
  conn.state = Conn::State::Closing;
  conn.close_code = code;
  conn.close_reason = reason.substr(0, 120);
  // It stays in its feed (skipped there: not Live) until lws reports it closed,
  // so that closing never edits a feed's connection list while it is walked.
  lws_callback_on_writable(conn.wsi);
}

LiveChannel::Feed& LiveChannel::feedFor(const std::string& room) {
  auto& slot = feeds_[room];
  if (!slot) {
    slot = std::make_unique<Feed>();
    slot->room = room;
    notifications_.follow(room);
  }
  return *slot;
}

void LiveChannel::detachFromFeed(Conn& conn) {
  if (!conn.in_feed)
    return;
  conn.in_feed = false;
  auto it = feeds_.find(conn.room);
  if (it == feeds_.end())
    return;
  Feed& feed = *it->second;
  feed.conns.erase(conn.id);
  if (feed.conns.empty()) {
    // Last local viewer gone: withdraw this node's share now.
    reportPresence(feed);
    notifications_.unfollow(conn.room);
    feeds_.erase(it);
    return;
  }
  if (!feed.presence_soon.active()) {
    std::string room = conn.room;
    feed.presence_soon.start(loop_, std::chrono::milliseconds(200), [this, room] {
      auto f = feeds_.find(room);
      if (f != feeds_.end())
        reportPresence(*f->second);
      return false;
    });
  }
}

void LiveChannel::wake(const std::string& room, const rooms::Notice* notice) {
  auto it = feeds_.find(room);
  if (it == feeds_.end())
    return;
  Feed& feed = *it->second;
  // The notice carries the event that follows the feed's cursor: take it from
  // there, without a read of the stream (one Redis round trip less between a
  // chat message and its viewers). Anything else (a missed notice, a large
  // event, a read under way) reads the stream.
  if (notice && notice->has_entry && feed.cursor_known && !feed.reading &&
      notice->prev == feed.cursor.str()) {
    Event ev;
    if (makeEvent(notice->id, notice->kind, notice->data, notice->aud, ev)) {
      metrics_.add("jobcast_ws_events_total", {});
      metrics_.add("jobcast_ws_events_inline_total", {});
      feed.cursor = ev.id;
      feed.pending.push_back(std::move(ev));
      queued(feed);
      return;
    }
  }
  readFeed(feed);
}

void LiveChannel::queued(Feed& feed) {
  // The first events after a quiet spell go out at once; then at most one
  // frame per tick carries what came meanwhile. The tick counts from the
  // start of this flush: a fan-out that takes longer than a tick (10,000
  // viewers) does not make the next events wait a tick more.
  if (!feed.pending.empty() && !feed.tick.active()) {
    startTick(feed);
    if (options_.coalesce_ms <= 0 || written(feed))
      flush(feed);
  }
}

void LiveChannel::readFeed(Feed& feed) {
  if (!feed.cursor_known)
    return;  // no connection has caught up yet; their catch-up covers it
  if (feed.reading) {
    feed.again = true;
    return;
  }
  feed.reading = true;
  feed.again = false;
  std::string room = feed.room;
  redis_.command({"XREAD", "COUNT", std::to_string(options_.read_batch), "STREAMS",
                  rooms::keys::events(room), feed.cursor.str()},
                 [this, room](Result<RedisReply> r) {
                   auto it = feeds_.find(room);
                   if (it == feeds_.end())
                     return;
                   Feed& feed = *it->second;
                   feed.reading = false;
                   size_t n = 0;
                   if (r.ok() && r->type == RedisReply::Type::Array && !r->elements.empty()) {
                     const auto& stream = r->elements[0];
                     if (stream.elements.size() == 2) {
                       const auto& entries = stream.elements[1].elements;
                       n = entries.size();
                       for (const auto& entry : entries) {
                         Event ev;
                         if (!parseEntry(entry, ev))
                           continue;
                         metrics_.add("jobcast_ws_events_total", {});
                         feed.cursor = ev.id;
                         feed.pending.push_back(std::move(ev));
                       }
                     }
                   }
                   queued(feed);
                   if (feed.again || n >= options_.read_batch)
                     readFeed(feed);
                 });
}

void LiveChannel::startTick(Feed& feed) {
  if (options_.coalesce_ms <= 0)
    return;
  std::string room = feed.room;
  feed.tick.start(loop_, std::chrono::milliseconds(options_.coalesce_ms), [this, room] {
    auto it = feeds_.find(room);
    if (it == feeds_.end() || it->second->pending.empty())
      return false;  // quiet: the next event goes out at once
    Feed& feed = *it->second;
    // Hold while the last frames are still being written, for at most 250 ms.
    const int max_held = static_cast<int>(std::max<int64_t>(1, 250 / options_.coalesce_ms));
    if (!written(feed) && ++feed.held_ticks < max_held)
      return true;
    flush(feed);
    return true;
  });
}

bool LiveChannel::written(const Feed& feed) const {
  size_t queued = 0;
  for (const Frame& f : feed.sent)
    queued += static_cast<size_t>(f.use_count() - 1);
  return queued <= feed.conns.size() / 100;  // a few slow readers hold nobody up
}

void LiveChannel::flush(Feed& feed) {
  std::vector<Event> events = std::move(feed.pending);
  feed.pending.clear();
  if (events.empty())
    return;
  std::vector<Conn*> live;
  live.reserve(feed.conns.size());
  for (auto& [id, conn] : feed.conns) {
    if (conn->state == Conn::State::Live)
      live.push_back(conn);
  }
  feed.sent.clear();
  feed.held_ticks = 0;
  auto start = Clock::now();
  fanOut(live, events, &feed.sent);
  metrics_.add("jobcast_ws_fanouts_total", {});
  metrics_.add("jobcast_ws_fanout_seconds_total", {},
               std::chrono::duration<double>(Clock::now() - start).count());
}

bool LiveChannel::parseEntry(const RedisReply& entry, Event& ev) {
  if (entry.elements.size() != 2)
    return false;
  std::string kind, data = "{}", aud = "all";
  const auto& fields = entry.elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& name = fields[i].str;
    if (name == "kind") {
      kind = fields[i + 1].str;
    } else if (name == "data") {
      data = fields[i + 1].str;
    } else if (name == "aud") {
      aud = fields[i + 1].str;
    }
  }
  return makeEvent(entry.elements[0].str, kind, data, aud, ev);
}

bool LiveChannel::makeEvent(const std::string& entry_id, const std::string& kind, std::string data,
                            const std::string& aud, Event& ev) {
  auto id = live::StreamId::parse(entry_id);
  if (!id)
    return false;
  ev.id = *id;
  ev.kind = kind;
  if (aud == "all") {
    ev.audience = Event::Audience::All;
  } else if (aud == "staff") {
    ev.audience = Event::Audience::Staff;
  } else if (aud.rfind("user:", 0) == 0) {
    ev.audience = Event::Audience::User;
    ev.user = aud.substr(5);
  } else {
    return false;  // unknown audience: deliver to nobody
  }
  if (!json::accept(data))
    data = "{}";
  if (ev.kind == "user.banned" || ev.kind == "user.kicked") {
    json d = json::parse(data, nullptr, false);
    if (d.is_object() && d["sub"].is_string())
      ev.close_sub = d["sub"].get<std::string>();
    bool banned = ev.kind == "user.banned";
    ev.close_code = banned ? kCloseBanned : kCloseKicked;
    ev.close_reason = banned ? "banned" : "kicked";
  }
  if (ev.kind == "room.updated") {
    json d = json::parse(data, nullptr, false);
    if (d.is_object() && d["room"].is_object()) {
      const json& room = d["room"];
      rooms::Membership m;
      m.room_id = room.value("id", "");
      m.employer_id = room.value("employer_id", "");
      for (auto [name, list] :
           {std::pair{"counsellors", &m.counsellors}, std::pair{"captioners", &m.captioners},
            std::pair{"interpreters", &m.interpreters}}) {
        if (!room.contains(name) || !room[name].is_array())
          continue;
        for (const auto& id : room[name]) {
          if (id.is_string())
            list->push_back(id.get<std::string>());
        }
      }
      ev.members = std::move(m);
    }
  }
  ev.payload = eventFrame(entry_id, ev.kind, data);
  return true;
}

bool LiveChannel::entitled(const Conn& conn, const Event& ev) const {
  switch (ev.audience) {
    case Event::Audience::All:
      return true;
    case Event::Audience::Staff:
      return conn.actor.staff;
    case Event::Audience::User:
      return !conn.actor.anonymous() && conn.actor.sub == ev.user;
  }
  return false;
}

std::vector<Frame> LiveChannel::framesOf(const std::vector<const Event*>& events) const {
  std::vector<Frame> frames;
  if (events.size() == 1) {
    frames.push_back(makeFrame(events.front()->payload));
    return frames;
  }
  // Several events: batch frames of at most batch_bytes each (one event over
  // that goes alone in its batch).
  std::string batch;
  const Event* alone = nullptr;  // the batch's event while it has only one
  auto close = [&] {
    if (alone) {
      frames.push_back(makeFrame(alone->payload));
    } else if (!batch.empty()) {
      batch += "]}";
      frames.push_back(makeFrame(batch));
    }
    batch.clear();
    alone = nullptr;
  };
  for (const Event* ev : events) {
    if (!batch.empty() && batch.size() + ev->payload.size() + 3 > options_.batch_bytes)
      close();
    alone = batch.empty() ? ev : nullptr;
    batch += batch.empty() ? R"({"type":"batch","events":[)" : ",";
    batch += ev->payload;
  }
  close();
  return frames;
}

// Queues `events` (in stream order) to each of `conns`: to each only the ones
// after its last_sent that it is entitled to. The frames are built once and
// shared by every connection that gets the same events: all viewers, or all
// staff, unless an event is for one user or the connection joined mid-way.
void LiveChannel::fanOut(const std::vector<Conn*>& conns, const std::vector<Event>& events,
                         std::vector<Frame>* shared_frames) {
  if (events.empty())
    return;
  const live::StreamId first = events.front().id;
  const live::StreamId last = events.back().id;
  bool personal_events = false;
  bool closing_events = false;
  for (const Event& ev : events) {
    personal_events = personal_events || ev.audience == Event::Audience::User;
    closing_events = closing_events || !ev.close_sub.empty();
  }
  struct Shared {
    bool built = false;
    std::vector<Frame> frames;
    size_t events = 0;
  };
  Shared shared[2];  // [0] viewers, [1] staff
  size_t delivered = 0;
  std::vector<RawSend> raw;  // sent together after the walk
  raw.reserve(conns.size());
  auto select = [&](const Conn& conn) {
    std::vector<const Event*> mine;
    for (const Event& ev : events) {
      if (conn.last_sent < ev.id && entitled(conn, ev))
        mine.push_back(&ev);
    }
    return mine;
  };
  for (Conn* conn : conns) {
    if (!(conn->last_sent < last))
      continue;
    bool personal = !(conn->last_sent < first);
    if (personal_events && !personal && !conn->actor.anonymous()) {
      for (const Event& ev : events) {
        if (ev.audience == Event::Audience::User && ev.user == conn->actor.sub)
          personal = true;
      }
    }
    if (personal) {
      auto mine = select(*conn);
      if (!mine.empty()) {
        for (const Frame& f : framesOf(mine))
          enqueue(*conn, f);
      }
      delivered += mine.size();
    } else {
      Shared& s = shared[conn->actor.staff ? 1 : 0];
      if (!s.built) {
        auto mine = select(*conn);
        s.events = mine.size();
        if (!mine.empty())
          s.frames = framesOf(mine);
        s.built = true;
      }
      int fd = conn->raw ? lws_get_socket_fd(conn->wsi) : -1;
      if (!s.frames.empty() && fd >= 0 && conn->out.empty() &&
          conn->state != Conn::State::Closing && !lws_partial_buffered(conn->wsi)) {
        raw.push_back({conn, fd, &s.frames});
      } else {
        for (const Frame& f : s.frames)
          enqueue(*conn, f);
      }
      delivered += s.events;
    }
    conn->last_sent = last;
    if (!conn->actor.anonymous()) {
      for (const Event& ev : events) {
        if (!ev.members)
          continue;
        Claims claims = conn->actor.claimsIn(conn->room);
        conn->actor.standing = rooms::standingIn(&claims, *ev.members);
        conn->actor.staff = !rooms::decide(conn->actor.standing, rooms::Operation::ReadStaffView);
      }
    }
    if (closing_events && !conn->actor.anonymous()) {
      for (const Event& ev : events) {
        if (!ev.close_sub.empty() && ev.close_sub == conn->actor.sub) {
          closeConn(*conn, ev.close_code, ev.close_reason);
          break;
        }
      }
    }
  }
  sendAll(raw);
  if (shared_frames) {
    for (const Shared& s : shared)
      shared_frames->insert(shared_frames->end(), s.frames.begin(), s.frames.end());
  }
  metrics_.add("jobcast_ws_deliveries_total", {}, static_cast<double>(delivered));
}

// One send() per connection, shared out over the fan-out threads. A send to a
// socket costs the kernel's whole TCP path (on loopback the receiver's too):
// about 10 us here, a tenth of a second for 10,000 viewers on one thread.
// The control thread takes part and waits until all are done, so lws does
// nothing with these sockets meanwhile. Then, on the control thread: what the
// kernel took only in part goes to lws as raw bytes (it sends them before
// anything else, its pings included, so the frame stays whole); a full socket
// queues the frame as usual; a broken one is closed.
void LiveChannel::sendAll(std::vector<RawSend>& sends) {
  if (sends.empty())
    return;
  fanout_.forEach(sends.size(), [&sends](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      RawSend& s = sends[i];
      for (; s.whole < s.frames->size(); ++s.whole) {
        std::string_view bytes = wireBytes((*s.frames)[s.whole]);
        s.sent = ::send(s.fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        s.err = s.sent < 0 ? errno : 0;
        if (s.sent != static_cast<ssize_t>(bytes.size()))
          break;
      }
    }
  });
  size_t whole = 0, partial = 0, full = 0, broken = 0;
  for (RawSend& s : sends) {
    Conn& conn = *s.conn;
    whole += s.whole;
    if (s.whole == s.frames->size())
      continue;
    const Frame& cut = (*s.frames)[s.whole];
    bool goes_on = false;
    if (s.sent > 0) {
      // The rest of this frame, as raw bytes: lws sends them first.
      std::string_view bytes = wireBytes(cut).substr(static_cast<size_t>(s.sent));
      std::string buf(LWS_PRE, '\0');
      buf.append(bytes);
      auto* p = reinterpret_cast<unsigned char*>(buf.data()) + LWS_PRE;
      goes_on = lws_write(conn.wsi, p, bytes.size(), LWS_WRITE_HTTP) >= 0;
      partial += goes_on ? 1 : 0;
    } else if (s.err == EAGAIN || s.err == EWOULDBLOCK || s.err == EINTR) {
      ++full;
      enqueue(conn, cut);
      goes_on = true;
    }
    if (!goes_on) {
      ++broken;
      closeConn(conn, kCloseInternal, "write failed");
      continue;
    }
    // The frames after it wait their turn in the connection's queue.
    for (size_t k = s.whole + 1; k < s.frames->size(); ++k)
      enqueue(conn, (*s.frames)[k]);
  }
  for (auto [result, n] : {std::pair{"whole", whole}, std::pair{"partial", partial},
                           std::pair{"full", full}, std::pair{"broken", broken}}) {
    if (n)
      metrics_.add("jobcast_ws_fanout_sends_total", {{"result", result}}, static_cast<double>(n));
  }
}

void LiveChannel::reportPresence(Feed& feed) {
  std::vector<std::string> subs, seekers;
  for (const auto& [id, conn] : feed.conns) {
    if (conn->actor.anonymous())
      continue;
    subs.push_back(conn->actor.sub);
    if (conn->actor.role == Role::Jobseeker)
      seekers.push_back(conn->actor.sub);
  }
  for (auto* list : {&subs, &seekers}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
  // The unique-viewer figure (a HyperLogLog) gets each jobseeker once per
  // node and room, not with every heartbeat. The room's staff (its employer
  // in the studio, counsellors, captioners, admins) are no viewers: counted,
  // they would inflate the report's viewers and lower its conversion.
  std::vector<std::string> uncounted;
  for (const auto& sub : seekers) {
    if (!feed.counted.contains(sub))
      uncounted.push_back(sub);
  }
  room_.presence(
      feed.room, node_id_, feed.conns.size(), uncounted, subs, options_.viewer_ttl_ms,
      options_.queue_grace_ms, [this, room = feed.room, uncounted](Result<json> r) {
        if (!r) {
          log::debug("presence not recorded", {{"room", room}, {"error", r.error().code}});
          return;
        }
        auto it = feeds_.find(room);
        if (it != feeds_.end())
          it->second->counted.insert(uncounted.begin(), uncounted.end());
      });
}

void LiveChannel::heartbeat() {
  // Queues that stay over their bound without new frames arriving, and
  // connections that never said hello.
  std::vector<Conn*> over, silent;
  auto hello_by = Clock::now() - std::chrono::seconds(options_.hello_timeout_s);
  for (auto& [id, conn] : conns_) {
    if (conn->over_since)
      over.push_back(conn.get());
    if (conn->state == Conn::State::AwaitHello && conn->opened < hello_by)
      silent.push_back(conn.get());
  }
  for (Conn* conn : over)
    checkBound(*conn);
  for (Conn* conn : silent) {
    closeConn(*conn, kClosePolicy, "no hello in time");
    if (conn->wsi)
      lws_set_timeout(conn->wsi, PENDING_TIMEOUT_USER_OK, 2);  // gone even if it never reads
  }
  for (auto& [room, feed] : feeds_) {
    reportPresence(*feed);
    // A safety net for a notification lost between Redis and this node.
    readFeed(*feed);
  }
}

}  // namespace jobcast::ws
