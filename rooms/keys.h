#pragma once
// Every Redis key and channel name Jobcast uses, built in one place
// (docs/redis-schema.md). All keys of one room share the prefix
// "jc:{r:ROOM}:": the hash tag {r:ROOM} puts them on one cluster slot, so a
// room's Lua script may touch any of them. The Lua side names the same
// suffixes in rooms/prelude.lua.

#include <optional>
#include <string>
#include <string_view>

namespace jobcast::rooms::keys {

// "jc:{r:ROOM}:" — every key of the room starts with it. Live-room scripts
// get it as KEYS[1] and append suffixes.
inline std::string roomPrefix(std::string_view room_id) {
  std::string k = "jc:{r:";
  k.append(room_id);
  k += "}:";
  return k;
}

namespace detail {
inline std::string inRoom(std::string_view room_id, std::string_view suffix) {
  std::string k = roomPrefix(room_id);
  k.append(suffix);
  return k;
}
}  // namespace detail

// ---- one room ----
inline std::string room(std::string_view id) {  // hash: the room
  return detail::inRoom(id, "room");
}
inline std::string events(std::string_view id) {  // stream of room events
  return detail::inRoom(id, "events");
}
inline std::string notify(std::string_view id) {  // pub/sub: entry id of each new event
  return detail::inRoom(id, "notify");
}
inline std::string audit(std::string_view id) {  // stream: reads of personal data
  return detail::inRoom(id, "audit");
}
inline std::string jobs(std::string_view id) {  // hash job id -> job JSON
  return detail::inRoom(id, "jobs");
}
inline std::string jobOrder(std::string_view id) {  // list of job ids, as presented
  return detail::inRoom(id, "job_order");
}
inline std::string applications(std::string_view id) {  // hash app id -> application JSON
  return detail::inRoom(id, "apps");
}
inline std::string applicationByUser(std::string_view id) {  // hash "SUB|JOB" -> app id
  return detail::inRoom(id, "app_by_user");
}
inline std::string applicationOrder(std::string_view id) {  // list of app ids, oldest first
  return detail::inRoom(id, "app_order");
}
inline std::string counts(std::string_view id) {  // hash of anonymous counters
  return detail::inRoom(id, "counts");
}
inline std::string stage(std::string_view id) {  // string: the stage as JSON (rooms/stage.h)
  return detail::inRoom(id, "stage");
}
// The room's captions (rooms/live/caption_send.lua): a hash caption id ->
// caption JSON {id, text, lang, final, by, at, edited_at?}, and a list of the
// ids, oldest first.
inline std::string captions(std::string_view id) {
  return detail::inRoom(id, "captions");
}
inline std::string captionOrder(std::string_view id) {
  return detail::inRoom(id, "captions:order");
}
inline std::string mediaNode(std::string_view id) {  // string: the room's media lease
  return detail::inRoom(id, "media_node");
}
// hash node id -> {"node","url"}: the nodes that carried the room's media
// (and so hold its recordings when they are not shared); no expiry.
inline std::string recordingNodes(std::string_view id) {
  return detail::inRoom(id, "recording_nodes");
}
// ---- the room's one-to-one interview calls (rooms/live/call_shared.lua) ----
// hash: one call (parties, offered/started/ended ms, outcome, last seen of
// each party); kept 7 days after it ends.
inline std::string call(std::string_view id, std::string_view call_id) {
  std::string k = detail::inRoom(id, "call:");
  k.append(call_id);
  return k;
}
inline std::string openCalls(std::string_view id) {  // zset: open call ids by offer time
  return detail::inRoom(id, "calls");
}
inline std::string callBySub(std::string_view id) {  // hash: party sub -> open call id
  return detail::inRoom(id, "calls:by_sub");
}

// string, 10 minutes: the first answer to a live-room write carrying client_id.
inline std::string dedup(std::string_view id, std::string_view sub, std::string_view client_id) {
  std::string k = detail::inRoom(id, "dedup:");
  k.append(sub);
  k += ':';
  k.append(client_id);
  return k;
}

// stream: the room's webhook events not yet handed to the webhook outbox
// (rooms/prelude.lua writes it, backoffice/webhooks.cpp drains it).
inline std::string outbox(std::string_view id) {
  return detail::inRoom(id, "outbox");
}

// hash: the room's figures kept after it ends (peak_viewers); see backoffice/figures.h.
inline std::string figures(std::string_view id) {
  return detail::inRoom(id, "figures");
}
// HyperLogLog: signed-in viewers of the room, each counted once.
inline std::string figureViewers(std::string_view id) {
  return detail::inRoom(id, "figures:viewers");
}

// set: user ids of the jobseekers who follow the room (reminders).
inline std::string followers(std::string_view id) {
  return detail::inRoom(id, "followers");
}
// set: the followers whose reminder.due was queued (each once).
inline std::string reminded(std::string_view id) {
  return detail::inRoom(id, "reminded");
}

// The PSUBSCRIBE pattern matching every room's notify channel.
inline std::string notifyPattern() {
  return notify("*");
}
// The room id inside a notify channel name; nullopt for any other name.
inline std::optional<std::string> roomOfNotify(std::string_view channel) {
  const std::string empty = notify("");  // the room id goes before its '}'
  const std::string_view head = std::string_view(empty).substr(0, empty.find('}'));
  const std::string_view tail = std::string_view(empty).substr(head.size());
  if (channel.size() <= head.size() + tail.size() || channel.substr(0, head.size()) != head ||
      channel.substr(channel.size() - tail.size()) != tail) {
    return std::nullopt;
  }
  return std::string(channel.substr(head.size(), channel.size() - head.size() - tail.size()));
}

// ---- across rooms ----
inline std::string roomIndex() {  // sorted set: room ids by creation
  return "jc:rooms";
}
// sorted set: room ids by scheduled start (seconds), one per region level a
// room counts in (rooms/regions.h regionLevels: "" is every room, then the
// province, league/city and banner/county), so a list by region and date
// reads only its own region's entries. Kept by RoomStore on create, edit.
inline std::string roomsByStart(std::string_view region) {
  std::string k = "jc:rooms:start:";
  k.append(region.empty() ? std::string_view("all") : region);
  return k;
}
inline std::string applicationRooms() {  // hash app id -> room id
  return "jc:app_rooms";
}
inline std::string employer(std::string_view employer_id) {  // hash
  return "jc:{employers}:" + std::string(employer_id);
}
inline std::string employerIndex() {  // set of employer ids
  return "jc:{employers}:all";
}
inline std::string employerByCreditCode() {  // hash unified social credit code -> employer id
  return "jc:{employers}:by_credit_code";
}
inline std::string employerAudit() {  // stream: registrations and admins' decisions
  return "jc:{employers}:audit";
}
inline std::string profile(std::string_view user_id) {  // hash: sealed profile
  return "jc:{u:" + std::string(user_id) + "}:profile";
}
inline std::string userApplications(std::string_view user_id) {  // set "ROOM/APP"
  return "jc:{u:" + std::string(user_id) + "}:apps";
}
inline std::string userFollows(std::string_view user_id) {  // set of room ids they follow
  return "jc:{u:" + std::string(user_id) + "}:follows";
}
// set "ROOM/JOB": jobs recommended to them, each recorded (and counted) once.
inline std::string userRecommended(std::string_view user_id) {
  return "jc:{u:" + std::string(user_id) + "}:recommended";
}
// sorted set: the employer's room ids by creation (its back office).
inline std::string employerRooms(std::string_view employer_id) {
  return "jc:{employers}:" + std::string(employer_id) + ":rooms";
}
// sorted set, one slot {reminders}: room id -> when its reminder.due is due
// (seconds); a node that takes a room pushes its score ahead by a lease.
inline std::string reminderQueue() {
  return "jc:{reminders}:due";
}

// ---- webhooks: one slot, {webhooks} (docs/webhooks.md) ----
inline std::string webhookEndpoints() {  // hash endpoint id -> endpoint JSON
  return "jc:{webhooks}:endpoints";
}
inline std::string webhookSecrets() {  // hash endpoint id -> sealed signing secret
  return "jc:{webhooks}:secrets";
}
inline std::string webhookDeliveries() {  // stream: deliveries due now (consumer group)
  return "jc:{webhooks}:deliveries";
}
inline std::string webhookRetries() {  // sorted set: delivery JSON by the time it is due
  return "jc:{webhooks}:retries";
}
inline std::string webhookDead() {  // stream: deliveries that ran out of tries
  return "jc:{webhooks}:dead";
}
// string, 7 days: set once a room's webhook event was fanned out to deliveries.
inline std::string webhookSeen(std::string_view room_id, std::string_view entry_id) {
  std::string k = "jc:{webhooks}:seen:";
  k.append(room_id);
  k += '/';
  k.append(entry_id);
  return k;
}

// ---- nodes (routing/media_owner.h) ----
// string with a TTL (media.owner_lease_ms), renewed while the node runs:
// {"node","url"}. A node whose key is gone is gone.
inline std::string nodeAlive(std::string_view node_id) {
  std::string k = "jc:{node:";
  k.append(node_id);
  k += "}:alive";
  return k;
}

// ---- staff accounts and their sign-in codes: one slot, {accounts} (backoffice/accounts.h) ----
inline std::string accounts() {  // hash account id -> account JSON
  return "jc:{accounts}:all";
}
// hash account id -> the lowest token version (claim "av") still accepted;
// negative while the account is disabled (its magnitude is kept for enabling).
inline std::string accountGates() {
  return "jc:{accounts}:gates";
}
inline std::string accountAudit() {  // stream: who created, issued, revoked, disabled what
  return "jc:{accounts}:audit";
}
// pub/sub: "ACCOUNT GATE" after every change of a gate; nodes keep the gates in memory.
inline std::string accountGateChannel() {
  return "jc:{accounts}:gate_changed";
}
// string with a TTL: account id, under the SHA-256 (hex) of a one-time sign-in code.
inline std::string signinCode(std::string_view code_sha256_hex) {
  std::string k = "jc:{accounts}:code:";
  k.append(code_sha256_hex);
  return k;
}

// ---- the quarterly report: one slot per region, {g:CODE} (docs/redis-schema.md) ----
// CODE is the region's 6-digit code (rooms/regions.h), "all" for the whole
// service; PERIOD is a quarter ("2026Q4") or, for people, a year ("2026").
// Room scripts add to the regions of the room in the same script as the room
// event; readers touch only the keys of the regions and periods they report.
namespace detail {
inline std::string inRegion(std::string_view region, std::string_view period,
                            std::string_view suffix) {
  std::string k = "jc:{g:";
  k.append(region.empty() ? std::string_view("all") : region);
  k += "}:";
  k.append(period);
  k += ':';
  k.append(suffix);
  return k;
}
}  // namespace detail
// hash: sessions, jobs, headcount, applications, group:KEY_GROUP, interviews,
// hires, recommendations, people_recommended, people_3plus.
inline std::string reportCounts(std::string_view region, std::string_view quarter) {
  return detail::inRegion(region, quarter, "counts");
}
// set: employer ids that held a session.
inline std::string reportEmployers(std::string_view region, std::string_view quarter) {
  return detail::inRegion(region, quarter, "employers");
}
// HyperLogLog: signed-in viewers of the sessions held (rooms' figures:viewers merged).
inline std::string reportViewers(std::string_view region, std::string_view quarter) {
  return detail::inRegion(region, quarter, "viewers");
}
// hash user id -> recommendations made to them; per quarter or per year.
inline std::string reportRecommended(std::string_view region, std::string_view period) {
  return detail::inRegion(region, period, "recommended");
}
// sorted set "ROOM/JOB" by the room's scheduled start: the open and upcoming
// jobs of rooms in the region or below it (region "all": every room).
// rooms/add_job.lua adds; readers drop the entries of ended rooms.
inline std::string openJobs(std::string_view region) {
  return detail::inRegion(region, "any", "jobs");
}
// set: the room ids already counted as sessions held (rooms/report_session.lua).
inline std::string reportSessionsCounted(std::string_view region, std::string_view quarter) {
  return detail::inRegion(region, quarter, "sessions_counted");
}
// string, inside one script only: a room's viewers HyperLogLog being merged.
inline std::string reportScratch(std::string_view region, std::string_view quarter) {
  return detail::inRegion(region, quarter, "scratch");
}
// set: 6-digit codes of the regions directly below that held a session (any period).
inline std::string reportChildren(std::string_view region) {
  return detail::inRegion(region, "any", "children");
}

}  // namespace jobcast::rooms::keys
