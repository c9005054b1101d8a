#include "media/egress/udp_viewers.h"

namespace jobcast::media::egress {

Result<std::shared_ptr<UdpViewers>> UdpViewers::start(Options options) {
  auto certificate = DtlsCertificate::generate();
  if (!certificate)
    return certificate.error();
  auto engine = EgressEngine::start({options.bind_address, options.port, options.consent_timeout},
                                    certificate.value());
  if (!engine)
    return engine.error();
  auto out = std::make_shared<UdpViewers>();
  out->options_ = std::move(options);
  out->engine_ = std::move(engine).value();
  return out;
}

Result<EngineViewers::Added> UdpViewers::add(ProgrammeFeed& feed, const std::string& offer) {
  auto it = renditions_.find(&feed);
  if (it == renditions_.end()) {
    auto rendition = EgressRendition::start(feed, *engine_, [relay = keyframes_, at = &feed] {
      std::lock_guard lock(relay->mutex);
      if (relay->fn)
        relay->fn(at);
    });
    if (!rendition)
      return rendition.error();
    it = renditions_.emplace(&feed, std::move(rendition).value()).first;
  }
  auto answered = it->second->addViewer(offer, options_.public_address);
  if (!answered)
    return answered.error();
  viewers_[answered->viewer] = &feed;
  return Added{answered->viewer, answered->answer};
}

void UdpViewers::remove(uint64_t viewer) {
  auto it = viewers_.find(viewer);
  if (it == viewers_.end())
    return;
  auto rendition = renditions_.find(it->second);
  if (rendition != renditions_.end())
    rendition->second->removeViewer(viewer);
  viewers_.erase(it);
}

std::optional<std::string> UdpViewers::lost(uint64_t viewer) {
  switch (engine_->state(viewer)) {
    case EgressEngine::ViewerState::Failed:
      return "dtls_failed";
    case EgressEngine::ViewerState::Gone:
      return engine_->failure(viewer).empty() ? "gone" : engine_->failure(viewer);
    default:
      return std::nullopt;
  }
}

void UdpViewers::onKeyframeRequest(std::function<void(ProgrammeFeed*)> fn) {
  std::lock_guard lock(keyframes_->mutex);
  keyframes_->fn = std::move(fn);
}

void UdpViewers::feedEnded(ProgrammeFeed& feed) {
  for (auto it = viewers_.begin(); it != viewers_.end();) {
    it = it->second == &feed ? viewers_.erase(it) : std::next(it);
  }
  renditions_.erase(&feed);
}

}  // namespace jobcast::media::egress
