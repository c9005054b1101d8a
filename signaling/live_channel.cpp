#include "signaling/live_channel.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>

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
Frame makeFrame(std::string_view payload) {
  auto s = std::make_shared<std::string>();
  s->reserve(LWS_PRE + payload.size());
  s->append(LWS_PRE, '\0');
  s->append(payload);
  return s;
}

size_t payloadSize(const Frame& f) {
  return f->size() - LWS_PRE;
}

int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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
  std::string rx;
  bool rx_overflow = false;
  bool rx_binary = false;
  int strikes = 0;
  double tokens = 0;
  Clock::time_point refill = Clock::now();
  uint16_t close_code = 0;
  std::string close_reason;
  std::optional<Clock::time_point> over_since;  // send queue over its bound since
};

struct LiveChannel::Feed {
  std::string room;
  std::unordered_map<uint64_t, Conn*> conns;
  live::StreamId cursor;
  bool cursor_known = false;
  bool reading = false;
  bool again = false;
  Timer presence_soon;
};

// One stream entry, serialised once for the whole node.
struct LiveChannel::Event {
  live::StreamId id;
  std::string kind;
  enum class Audience { All, Staff, User } audience = Audience::All;
  std::string user;  // for Audience::User
  Frame frame;
  std::string close_sub;  // user.banned, user.kicked: whose connections close
  uint16_t close_code = 0;
  const char* close_reason = "";
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
      subscriber_(loop, address),
      node_id_(randomHex(8)) {
  metrics_.describe("jobcast_ws_connections", Metrics::Type::Gauge,
                    "Open WebSocket connections on this node.");
  metrics_.gaugeFn("jobcast_ws_connections", {},
                   [this] { return static_cast<double>(conns_.size()); });
  metrics_.describe("jobcast_ws_events_total", Metrics::Type::Counter,
                    "Room events read from Redis and serialised (once per node).");
  metrics_.describe("jobcast_ws_deliveries_total", Metrics::Type::Counter,
                    "Event frames queued to connections.");
  metrics_.describe("jobcast_ws_closed_total", Metrics::Type::Counter,
                    "Connections closed by the server, by reason.");
  metrics_.describe("jobcast_ws_errors_total", Metrics::Type::Counter,
                    "Error frames sent, by code.");
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
  subscriber_.addPattern(rooms::keys::notifyPattern());
  subscriber_.onMessage([this](const std::string& channel, const std::string&) {
    if (auto room = rooms::keys::roomOfNotify(channel))
      wake(*room);
  });
  // After a (re)subscription, notifications may have been missed: re-read.
  subscriber_.onSubscribed([this] {
    for (auto& [room, feed] : feeds_)
      readFeed(*feed);
  });
  subscriber_.start();
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
      onEstablished(wsi, user);
      return 0;
    case LWS_CALLBACK_RECEIVE: {
      Conn* conn = find();
      if (!conn)
        return -1;
      bool final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
      onReceive(*conn, static_cast<const char*>(in), len, lws_frame_is_binary(wsi) != 0, final);
      return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
      Conn* conn = find();
      if (!conn)
        return -1;
      return onWritable(*conn);
    }
    case LWS_CALLBACK_CLOSED: {
      if (Conn* conn = find())
        onClosed(*conn);
      return 0;
    }
    default:
      return 0;
  }
}

void LiveChannel::onEstablished(lws* wsi, void* user) {
  auto conn = std::make_unique<Conn>();
  conn->id = next_conn_id_++;
  conn->wsi = wsi;
  conn->tokens = options_.frames_per_s * 2;
  static_cast<Session*>(user)->id = conn->id;
  conns_.emplace(conn->id, std::move(conn));
  // lws closes the connection if no hello arrives in time.
  lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, options_.hello_timeout_s);
}

void LiveChannel::onClosed(Conn& conn) {
  conn.wsi = nullptr;
  detachFromFeed(conn);
  conns_.erase(conn.id);  // destroys conn
}

int LiveChannel::onWritable(Conn& conn) {
  while (!conn.out.empty()) {
    Frame frame = conn.out.front();
    conn.out.pop_front();
    size_t n = payloadSize(frame);
    conn.out_bytes -= n;
    auto* p = reinterpret_cast<unsigned char*>(const_cast<char*>(frame->data())) + LWS_PRE;
    if (lws_write(conn.wsi, p, n, LWS_WRITE_TEXT) < static_cast<int>(n))
      return -1;
    if (lws_send_pipe_choked(conn.wsi))
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
  lws_set_timeout(conn.wsi, NO_PENDING_TIMEOUT, 0);
  conn.state = Conn::State::Joining;
  conn.room = hello.room;
  conn.actor = actor;
  uint64_t id = conn.id;
  room_.snapshot(hello.room, actor, [this, id, since = hello.since](Result<json> snapshot) {
    joined(id, std::move(snapshot), since);
  });
}

void LiveChannel::joined(uint64_t conn_id, Result<json> snapshot,
                         std::optional<std::string> since) {
  auto it = conns_.find(conn_id);
  if (it == conns_.end() || it->second->state != Conn::State::Joining)
    return;  // gone meanwhile
  Conn& conn = *it->second;
  if (!snapshot) {
    const Error& e = snapshot.error();
    if (e.code == "room_not_found") {
      sendError(conn, std::nullopt, e.code, e.message);
    } else {
      sendError(conn, std::nullopt, "join_failed", "the room cannot be read now: retry");
    }
    return;
  }
  json snap = std::move(snapshot.value());
  if (snap.value("banned", false)) {
    sendError(conn, std::nullopt, "banned", "you are banned from this room");
    return;
  }
  conn.actor.standing = live::standingOf(conn.room, conn.actor, snap);
  conn.actor.staff = snap.value("staff", false);
  std::string last_id = snap.value("last_id", "0-0");
  auto verdict = live::resumeVerdict(since, last_id, snap.value("first_id", ""),
                                     snap.value("max_deleted_id", "0-0"));
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
  for (const char* internal : {"staff", "banned", "last_id", "first_id", "max_deleted_id", "now"})
    snap.erase(internal);
  json you{{"staff", conn.actor.staff},
           {"role", conn.actor.role ? roleName(*conn.actor.role) : "viewer"}};
  if (!conn.actor.anonymous()) {
    you["sub"] = conn.actor.sub;
    you["name"] = conn.actor.name;
  }
  json welcome{{"type", "welcome"},  {"room", conn.room}, {"node", node_id_}, {"you", you},
               {"last_id", last_id}, {"resume", resume},  {"snapshot", snap}};
  if (since)
    welcome["since"] = *since;
  sendText(conn, welcome.dump(-1, ' ', false, json::error_handler_t::replace));
  conn.last_sent = *live::StreamId::parse(start);
  conn.state = Conn::State::CatchingUp;
  Feed& feed = feedFor(conn.room);
  feed.conns.emplace(conn.id, &conn);
  conn.in_feed = true;
  if (!feed.presence_soon.active()) {
    std::string room = conn.room;
    feed.presence_soon.start(loop_, std::chrono::milliseconds(200), [this, room] {
      auto f = feeds_.find(room);
      if (f != feeds_.end())
        reportPresence(*f->second);
      return false;
    });
  }
  catchUp(conn.id);
}

// Reads the connection's own backlog (after its start id) page by page. While
// a page is outstanding, the room feed skips this connection: anything the feed
// reads meanwhile is also in the page, which Redis answers later.
void LiveChannel::catchUp(uint64_t conn_id) {
  auto it = conns_.find(conn_id);
  if (it == conns_.end())
    return;
  Conn& conn = *it->second;
  redis_.command({"XRANGE", rooms::keys::events(conn.room), "(" + conn.last_sent.str(), "+",
                  "COUNT", std::to_string(options_.read_batch)},
                 [this, conn_id](Result<RedisReply> r) {
                   auto it = conns_.find(conn_id);
                   if (it == conns_.end() || it->second->state != Conn::State::CatchingUp)
                     return;
                   Conn& conn = *it->second;
                   if (!r.ok() || r->isError()) {
                     sendError(conn, std::nullopt, "join_failed",
                               "the room cannot be read now: retry");
                     return;
                   }
                   size_t n = r->elements.size();
                   auto feed_it = feeds_.find(conn.room);
                   for (const auto& entry : r->elements) {
                     Event ev;
                     if (!parseEntry(entry, ev))
                       continue;
                     if (entitled(conn, ev))
                       enqueue(conn, ev.frame);
                     conn.last_sent = ev.id;
                     if (!ev.close_sub.empty() && ev.close_sub == conn.actor.sub) {
                       closeConn(conn, ev.close_code, ev.close_reason);
                       return;
                     }
                   }
                   if (n >= options_.read_batch) {
                     catchUp(conn_id);
                     return;
                   }
                   conn.state = Conn::State::Live;
                   if (feed_it != feeds_.end()) {
                     Feed& feed = *feed_it->second;
                     if (!feed.cursor_known || feed.cursor < conn.last_sent) {
                       feed.cursor = conn.last_sent;
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

void LiveChannel::enqueue(Conn& conn, const Frame& frame) {
  if (conn.state == Conn::State::Closing || !conn.wsi)
    return;
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

void LiveChannel::wake(const std::string& room) {
  auto it = feeds_.find(room);
  if (it != feeds_.end())
    readFeed(*it->second);
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
                         deliver(feed, ev);
                         if (feeds_.find(room) == feeds_.end())
                           return;  // the last connection left while delivering
                       }
                     }
                   }
                   if (feed.again || n >= options_.read_batch)
                     readFeed(feed);
                 });
}

bool LiveChannel::parseEntry(const RedisReply& entry, Event& ev) {
  if (entry.elements.size() != 2)
    return false;
  auto id = live::StreamId::parse(entry.elements[0].str);
  if (!id)
    return false;
  ev.id = *id;
  std::string data = "{}", aud = "all";
  const auto& fields = entry.elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& name = fields[i].str;
    if (name == "kind") {
      ev.kind = fields[i + 1].str;
    } else if (name == "data") {
      data = fields[i + 1].str;
    } else if (name == "aud") {
      aud = fields[i + 1].str;
    }
  }
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
  ev.frame = makeFrame(eventFrame(entry.elements[0].str, ev.kind, data));
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

void LiveChannel::deliver(Feed& feed, const Event& ev) {
  std::vector<Conn*> to_close;
  size_t delivered = 0;
  for (auto& [id, conn] : feed.conns) {
    if (conn->state != Conn::State::Live || !(conn->last_sent < ev.id))
      continue;
    conn->last_sent = ev.id;
    if (entitled(*conn, ev)) {
      enqueue(*conn, ev.frame);
      ++delivered;
    }
    if (!ev.close_sub.empty() && conn->actor.sub == ev.close_sub)
      to_close.push_back(conn);
  }
  metrics_.add("jobcast_ws_deliveries_total", {}, static_cast<double>(delivered));
  // Closing detaches from the feed: not while iterating over it.
  for (Conn* conn : to_close)
    closeConn(*conn, ev.close_code, ev.close_reason);
}

void LiveChannel::reportPresence(Feed& feed) {
  std::vector<std::string> subs;
  for (const auto& [id, conn] : feed.conns) {
    if (!conn->actor.anonymous())
      subs.push_back(conn->actor.sub);
  }
  std::sort(subs.begin(), subs.end());
  subs.erase(std::unique(subs.begin(), subs.end()), subs.end());
  room_.presence(
      feed.room, node_id_, feed.conns.size(), subs, options_.viewer_ttl_ms, options_.queue_grace_ms,
      [room = feed.room](Result<json> r) {
        if (!r)
          log::debug("presence not recorded", {{"room", room}, {"error", r.error().code}});
      });
}

void LiveChannel::heartbeat() {
  // Queues that stay over their bound without new frames arriving.
  std::vector<Conn*> over;
  for (auto& [id, conn] : conns_) {
    if (conn->over_since)
      over.push_back(conn.get());
  }
  for (Conn* conn : over)
    checkBound(*conn);
  for (auto& [room, feed] : feeds_) {
    reportPresence(*feed);
    // A safety net for a notification lost between Redis and this node.
    readFeed(*feed);
  }
}

}  // namespace jobcast::ws
