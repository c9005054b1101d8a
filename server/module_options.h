#pragma once
// Each module's options, filled from the config in one place: App passes the
// result to the module's constructor and copies no config field itself.

#include "backoffice/webhook_dispatcher.h"
#include "core/config.h"
#include "media/egress/udp_viewers.h"
#include "media/media_options.h"
#include "media/whep_egress.h"
#include "routing/media_owner.h"
#include "signaling/http_server.h"

namespace jobcast::module_options {

// Listeners, limits and per-address budgets. The TLS files are the
// configured ones; App makes a self-signed pair when HTTPS has none.
http::HttpServer::Options httpServer(const Config& config);
media::MediaOptions media(const Config& config);
media::WhepEgress::Options whepEgress(const Config& config);
// The udp engine's socket, threads and the addresses its answers offer.
media::egress::UdpViewers::Options udpViewers(const Config& config);
// This node as other nodes reach it: server.public_url, or the listener the
// server bound (its port is known only once it listens).
MediaOwner::Options mediaOwner(const Config& config, const http::HttpServer& http);

// Delivery of webhooks; the consumer name is this host and process, unique
// among the nodes sharing Redis.
backoffice::DispatcherOptions webhooks(const Config& config);

}  // namespace jobcast::module_options
