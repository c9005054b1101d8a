#include "media/whep_egress.h"

#include <algorithm>

#include "core/log.h"
#include "core/secrets.h"

namespace jobcast::media {
namespace {

// The session id is the resource URL's secret part: 128 bits from the
// system's CSPRNG, so no viewer can compute another viewer's id.
std::string newSessionId() {
  return randomHex(16);
}

}  // namespace

WhepEgress::WhepEgress(Loop& loop, Options options)
    : loop_(loop), options_(std::move(options)), self_(std::make_shared<WhepEgress*>(this)) {
  health_timer_.start(loop_, options_.health_interval, [this] {
    checkHealth();
    return true;
  });
  if (options_.engine) {
    // A viewer's PLI/FIR comes on the engine's thread: over to the loop,
    // then through the feed's gate like every other request.
    std::weak_ptr<WhepEgress*> weak = self_;
    Loop* loop = &loop_;
    options_.engine->onKeyframeRequest([weak, loop](ProgrammeFeed* feed) {
      loop->post([weak, feed] {
        auto self = weak.lock();
        if (!self)
          return;
        for (const auto& [feed_key, entry] : (*self)->feeds_) {
          if (entry.feed == feed) {
            auto split = feed_key.find('\n');
            (*self)->requestKeyframe(feed_key.substr(0, split), feed_key.substr(split + 1));
            return;
          }
        }
      });
    });
  }
}

WhepEgress::~WhepEgress() {
  if (options_.engine)
    options_.engine->onKeyframeRequest(nullptr);
  self_.reset();
  health_timer_.cancel();
  sessions_.clear();
}

void WhepEgress::setFeed(const std::string& room, const std::string& variant, ProgrammeFeed* feed) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (feed) {
    auto& entry = feeds_[key(room, variant)];
    entry.feed = feed;
    return;
  }
  std::vector<std::string> gone;
  for (const auto& [id, s] : sessions_) {
    if (s.room == room && s.variant == variant)
      gone.push_back(id);
  }
  for (const auto& id : gone)
    release(id, "programme_ended");
  auto it = feeds_.find(key(room, variant));
  if (it != feeds_.end() && options_.engine && it->second.feed)
    options_.engine->feedEnded(*it->second.feed);
  feeds_.erase(key(room, variant));
}

bool WhepEgress::hasFeed(const std::string& room, const std::string& variant) const {
  return feeds_.count(key(room, variant)) > 0;
}

size_t WhepEgress::viewers(const std::string& room) const {
  size_t n = 0;
  for (const auto& [id, s] : sessions_)
    n += s.room == room;
  return n;
}

uint64_t WhepEgress::released(const std::string& reason) const {
  auto it = released_.find(reason);
  return it == released_.end() ? 0 : it->second;
}

void WhepEgress::create(const std::string& room, const std::string& variant,
                        const std::string& offer, CreatedCallback done, std::string owner) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  auto feed = feeds_.find(key(room, variant));
  if (feed == feeds_.end()) {
    if (!variant.empty() && hasFeed(room))
      return done(Error{"variant_unavailable", "this room has no '" + variant + "' variant"});
    return done(Error{"room_not_found", "no live programme for this room on this node"});
  }
  if (static_cast<int>(sessions_.size()) >= options_.max_viewers)
    return done(Error{"viewer_limit", "this node carries its maximum of WHEP viewers"});

  std::string id = newSessionId();
  if (options_.engine) {
    auto added = options_.engine->add(*feed->second.feed, offer);
    if (!added)
      return done(added.error());
    auto& entry = sessions_[id];
    entry.room = room;
    entry.variant = variant;
    entry.owner = std::move(owner);
    entry.engine_viewer = added->viewer;
    // A new viewer starts at a keyframe: ask for one (merged per feed).
    requestKeyframe(room, variant);
    return done(Created{id, added->answer});
  }
  std::weak_ptr<WhepEgress*> weak = self_;
  auto sink = [weak](const WhepSession::Event& event) {
    if (auto self = weak.lock())
      (*self)->onEvent(event);
  };
  auto session = WhepSession::start(loop_, id, *feed->second.feed, offer, options_.session, sink);
  if (!session)
    return done(session.error());
  auto& entry = sessions_[id];
  entry.room = room;
  entry.variant = variant;
  entry.owner = std::move(owner);
  entry.session = std::move(session.value());
  entry.done = std::move(done);
  // Gathering that takes too long (an unreachable STUN server, say) must not
  // hold the viewer: answer with what is there, retrying until an answer exists.
  entry.gather_timer.start(loop_, options_.session.gather_timeout, [this, id] {
    auto it = sessions_.find(id);
    if (it == sessions_.end() || !it->second.done)
      return false;
    if (auto sdp = it->second.session->answerNow()) {
      answer(it->second, *sdp);
      return false;
    }
    return true;
  });
}

void WhepEgress::answer(SessionEntry& entry, const std::string& sdp) {
  entry.gather_timer.cancel();
  auto done = std::move(entry.done);
  entry.done = nullptr;
  if (done)
    done(Created{entry.session->id(), sdp});
}

bool WhepEgress::remove(const std::string& room, const std::string& session_id) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end() || it->second.room != room)
    return false;
  release(session_id, "deleted");
  return true;
}

std::optional<std::string> WhepEgress::ownerOf(const std::string& room,
                                               const std::string& session_id) const {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end() || it->second.room != room)
    return std::nullopt;
  return it->second.owner;
}

void WhepEgress::release(const std::string& session_id, const std::string& reason) {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end())
    return;
  // Take it out of the map first: the destructor may run callbacks.
  SessionEntry entry = std::move(it->second);
  sessions_.erase(it);
  if (entry.done)
    entry.done(Error{"media_failed", "the viewer session ended before its answer: " + reason});
  entry.session.reset();
  if (entry.engine_viewer && options_.engine)
    options_.engine->remove(entry.engine_viewer);
  ++released_[reason];
  log::info("whep viewer released",
            {{"room", entry.room}, {"session", session_id}, {"reason", reason}});
  if (on_released_)
    on_released_(entry.room, reason);
}

void WhepEgress::onEvent(const WhepSession::Event& event) {
  auto it = sessions_.find(event.session_id);
  if (it == sessions_.end())
    return;  // already released
  auto& entry = it->second;
  switch (event.kind) {
    case WhepSession::Event::Kind::Answer:
      if (entry.done)
        answer(entry, event.text);
      break;
    case WhepSession::Event::Kind::AnswerFailed:
      if (entry.done) {
        auto done = std::move(entry.done);
        entry.done = nullptr;
        done(Error{"bad_sdp", "the offer could not be answered: " + event.text});
      }
      release(event.session_id, "answer_failed");
      break;
    case WhepSession::Event::Kind::Connected:
      entry.session->onConnected();
      requestKeyframe(entry.room, entry.variant);
      break;
    case WhepSession::Event::Kind::KeyframeRequest:
      requestKeyframe(entry.room, entry.variant);
      break;
    case WhepSession::Event::Kind::Gone:
      release(event.session_id, event.text);
      break;
  }
}

void WhepEgress::requestKeyframe(const std::string& room, const std::string& variant) {
  auto it = feeds_.find(key(room, variant));
  if (it == feeds_.end())
    return;
  auto& entry = it->second;
  switch (entry.gate.request(now())) {
    case KeyframeGate::Decision::Forward:
      ++keyframes_forwarded_;
      entry.feed->requestKeyframe();
      break;
    case KeyframeGate::Decision::Deferred:
      armDeferredKeyframe(it->first);
      break;
    case KeyframeGate::Decision::Merged:
      ++keyframes_merged_;
      break;
  }
}

void WhepEgress::armDeferredKeyframe(const std::string& feed_key) {
  auto it = feeds_.find(feed_key);
  if (it == feeds_.end())
    return;
  auto at = it->second.gate.pendingAt();
  if (!at)
    return;
  // Rounded up: a timer that fires before the gate's due time finds nothing
  // due. GLib timers count whole milliseconds from when they are created, so
  // a truncated delay often woke up a fraction of a millisecond early.
  auto delay = std::chrono::ceil<std::chrono::milliseconds>(*at - now());
  it->second.deferred.start(loop_, std::max(delay, std::chrono::milliseconds(1)), [this, feed_key] {
    auto f = feeds_.find(feed_key);
    if (f == feeds_.end())
      return false;
    if (f->second.gate.fireDue(now())) {
      ++keyframes_forwarded_;
      f->second.feed->requestKeyframe();
    } else {
      // Still early by the gate's clock: wait for the rest. Giving up here
      // would leave the request pending for ever, and every later request
      // of the feed would be merged into it.
      armDeferredKeyframe(feed_key);
    }
    return false;
  });
}

void WhepEgress::checkHealth() {
  auto now = std::chrono::steady_clock::now();
  std::vector<std::pair<std::string, std::string>> gone;
  for (auto& [id, entry] : sessions_) {
    auto reason = entry.session                ? entry.session->checkHealth(now)
                  : options_.engine != nullptr ? options_.engine->lost(entry.engine_viewer)
                                               : std::nullopt;
    if (reason)
      gone.emplace_back(id, *reason);
  }
  for (const auto& [id, reason] : gone)
    release(id, reason);
}

}  // namespace jobcast::media
