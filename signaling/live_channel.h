#pragma once
// The live room channel: the jobcast.v1 WebSocket protocol (docs/websocket.md)
// on the HTTP server's vhosts. Each connection is a cursor on its room's event
// stream. One node-wide Redis subscription wakes a per-room feed that reads the
// stream once and queues the same serialised bytes to every entitled local
// connection, each with a bounded send queue. Control thread only.

#include <libwebsockets.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "core/jwt.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "core/worker_pool.h"
#include "rooms/live/live_room.h"
#include "rooms/notifications.h"
#include "rooms/store.h"
#include "signaling/ws_protocol.h"

namespace jobcast::ws {

struct LiveOptions {
  size_t max_frame_bytes = 8192;
  size_t send_queue_frames = 2048;
  size_t send_queue_bytes = 4 << 20;
  int64_t slow_grace_ms = 2000;
  int hello_timeout_s = 10;
  int abuse_limit = 10;
  double frames_per_s = 20;
  int64_t heartbeat_ms = 2000;
  int64_t viewer_ttl_ms = 6000;
  int64_t queue_grace_ms = 30000;
  size_t read_batch = 500;  // stream entries per XREAD / XRANGE
  // A room's events go out at most once per tick, several in one frame.
  int64_t coalesce_ms = 50;
  size_t batch_bytes = 64 * 1024;  // a batch frame's payload, at most (one event may exceed it)
  // WebSocket connections on this node; more are refused (close 1013, node_full).
  size_t max_connections = 20000;
  // Threads that send a tick's frames (the control thread is one of them);
  // 0: one per core, at most 8.
  int fanout_threads = 0;
  live::Limits limits;

  static LiveOptions fromConfig(const Config& config);
};

class LiveChannel {
 public:
  // With a room store, snapshots carry jobs and applications and the apply
  // action goes through it; without one, the room hash alone answers.
  LiveChannel(Loop& loop, RedisClient& redis, const RedisAddress& address, const Jwt& jwt,
              Metrics& metrics, LiveOptions options, rooms::RoomStore* store = nullptr);
  ~LiveChannel();
  LiveChannel(const LiveChannel&) = delete;
  LiveChannel& operator=(const LiveChannel&) = delete;

  // The protocol entry for HttpServer::Options::websocket_protocols.
  lws_protocols protocol();
  // Subscribes to room notifications and starts the presence heartbeat.
  void start();
  // The rooms domain (jobs, applications, apply); defaults to the room hash only.
  void setRoomsPort(live::RoomsPort* port);

  // Closes this node's connections whose token is of `account` and older than
  // `gate`, or every one of it while the account is disabled (gate < 0):
  // error frame token_revoked, then close 4410 (backoffice/accounts.h).
  void revokeAccount(const std::string& account, int64_t gate);
  // The node is going away: every connection, and each one that opens from
  // now on, gets the error frame node_draining and close 1012; the pages
  // reconnect at once, through the load balancer to another node.
  void drain();

  const std::string& nodeId() const { return node_id_; }
  size_t connections() const { return conns_.size(); }

  struct Conn;
  struct Feed;
  struct Event;
  // libwebsockets glue.
  int onCallback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);

 private:
  void onEstablished(lws* wsi, void* user);
  void onClosed(Conn& conn);
  int onWritable(Conn& conn);
  void onReceive(Conn& conn, const char* in, size_t len, bool binary, bool final);
  void onMessage(Conn& conn, std::string_view text);
  // onMessage's work; sets `req` once the frame's request id is read.
  void handleFrame(Conn& conn, std::string_view text, std::optional<int64_t>& req);
  void onHello(Conn& conn, const ClientFrame& frame);
  void readSnapshot(const std::string& key);
  void joined(const std::vector<uint64_t>& conn_ids, Result<nlohmann::json> snapshot);
  void catchUp(const std::string& room, std::vector<uint64_t> conn_ids, live::StreamId from);
  void onAction(Conn& conn, const std::string& type, int64_t req, const nlohmann::json& body);

  void sendText(Conn& conn, const std::string& payload);
  void enqueue(Conn& conn, const std::shared_ptr<const std::string>& frame);
  struct RawSend;
  void sendAll(std::vector<RawSend>& sends);
  // lws_write of one queued frame; false when the connection is broken.
  bool writeFrame(Conn& conn, const std::shared_ptr<const std::string>& frame);
  void checkBound(Conn& conn);
  void sendError(Conn& conn, const std::optional<int64_t>& req, const std::string& code,
                 const std::string& message, int64_t retry_s = 0);
  void closeConn(Conn& conn, uint16_t code, const std::string& reason);
  void strike(Conn& conn);

  Feed& feedFor(const std::string& room);
  void detachFromFeed(Conn& conn);
  void wake(const std::string& room, const rooms::Notice* notice = nullptr);
  // New events are pending: out now, or on the feed's tick.
  void queued(Feed& feed);
  void readFeed(Feed& feed);
  void startTick(Feed& feed);
  void flush(Feed& feed);
  // Queues events to connections; the frames shared by many go to `shared_frames`.
  void fanOut(const std::vector<Conn*>& conns, const std::vector<Event>& events,
              std::vector<std::shared_ptr<const std::string>>* shared_frames = nullptr);
  // Whether (nearly) every connection has written the feed's last frames.
  bool written(const Feed& feed) const;
  std::vector<std::shared_ptr<const std::string>> framesOf(
      const std::vector<const Event*>& events) const;
  bool entitled(const Conn& conn, const Event& event) const;
  static bool parseEntry(const RedisReply& entry, Event& event);
  static bool makeEvent(const std::string& entry_id, const std::string& kind, std::string data,
                        const std::string& aud, Event& event);
  void reportPresence(Feed& feed);
  void heartbeat();

  Loop& loop_;
  RedisClient& redis_;
  const Jwt& jwt_;
  Metrics& metrics_;
  LiveOptions options_;
  std::unique_ptr<live::RoomsPort> own_rooms_port_;
  std::unique_ptr<live::RoomsPort> store_port_;
  live::RoomsPort* rooms_port_;
  live::LiveRoom room_;
  rooms::RoomNotifications notifications_;
  std::string node_id_;
  uint64_t next_conn_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::unordered_map<std::string, std::unique_ptr<Feed>> feeds_;
  // Joiners waiting for a shared snapshot, by room and token.
  struct JoinGroup {
    std::vector<uint64_t> waiting;
    bool reading = false;
  };
  std::unordered_map<std::string, JoinGroup> joins_;
  Timer heartbeat_timer_;
  bool draining_ = false;
  WorkerPool fanout_;
};

}  // namespace jobcast::ws
