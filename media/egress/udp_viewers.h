#pragma once
// WHEP viewers through the egress engine (whep.engine: udp): one engine per
// node, one EgressRendition per programme feed, made on a feed's first
// viewer and kept until the feed ends. Control thread.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "media/egress/engine.h"
#include "media/egress/rendition.h"
#include "media/whep_egress.h"

namespace jobcast::media::egress {

class UdpViewers : public EngineViewers {
 public:
  struct Options {
    std::string bind_address = "0.0.0.0";
    uint16_t port = 0;
    // The host candidates in answers, best first.
    std::vector<std::string> public_addresses = {"127.0.0.1"};
    std::chrono::milliseconds consent_timeout{30000};
    int send_threads = 1;
    double fault_loss = 0;  // EgressEngine::Options::fault_loss
    bool gso = true;        // EgressEngine::Options::gso
  };
  static Result<std::shared_ptr<UdpViewers>> start(Options options);

  // This host's interface addresses for candidates when none are
  // configured: IPv4 first, then global IPv6, loopback last (link-local
  // addresses, which need a scope, are left out).
  static std::vector<std::string> hostAddresses();

  Result<Added> add(ProgrammeFeed& feed, const std::string& offer) override;
  void remove(uint64_t viewer) override;
  std::optional<std::string> lost(uint64_t viewer) override;
  void feedEnded(ProgrammeFeed& feed) override;
  void onKeyframeRequest(std::function<void(ProgrammeFeed*)> fn) override;
  EgressEngine& engine() { return *engine_; }

 private:
  Options options_;
  // Where PLI/FIR go; renditions call it on the engine's thread.
  struct KeyframeRelay {
    std::mutex mutex;
    std::function<void(ProgrammeFeed*)> fn;
  };
  std::shared_ptr<KeyframeRelay> keyframes_ = std::make_shared<KeyframeRelay>();
  std::unique_ptr<EgressEngine> engine_;
  std::map<ProgrammeFeed*, std::unique_ptr<EgressRendition>> renditions_;
  std::map<uint64_t, ProgrammeFeed*> viewers_;
};

}  // namespace jobcast::media::egress
