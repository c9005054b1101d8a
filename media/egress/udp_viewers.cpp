#include "media/egress/udp_viewers.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>

namespace jobcast::media::egress {

std::vector<std::string> UdpViewers::hostAddresses() {
  std::vector<std::pair<int, std::string>> ranked;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0)
    return {"127.0.0.1"};
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP))
      continue;
    char text[INET6_ADDRSTRLEN] = {};
    bool loopback = i->ifa_flags & IFF_LOOPBACK;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
      ranked.emplace_back(loopback ? 2 : 0, text);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr) || IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
        continue;
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
      ranked.emplace_back(1, text);
    }
  }
  freeifaddrs(list);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [rank, address] : ranked) {
    if (std::find(out.begin(), out.end(), address) == out.end())
      out.push_back(std::move(address));
  }
  if (out.empty())
    out.push_back("127.0.0.1");
  return out;
}

Result<std::shared_ptr<UdpViewers>> UdpViewers::start(Options options) {
  auto certificate = DtlsCertificate::generate();
  if (!certificate)
    return certificate.error();
  auto engine = EgressEngine::start({options.bind_address, options.port, options.consent_timeout,
                                     options.send_threads, options.fault_loss, options.gso},
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
  auto answered = it->second->addViewer(offer, options_.public_addresses);
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
