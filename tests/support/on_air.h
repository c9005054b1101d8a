#pragma once
// A room on the air for media tests: room "r1" of employer "emp1" marked live
// in a real Redis, and an in-process WHIP publisher (media::WhipClient) put on
// air through a real jobcastd.

#include <chrono>
#include <string>

#include "media/whip_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"

namespace jobcast::test {

// Marks `room` live with `employer` as its employer.
void seedLiveRoom(RedisServer& redis, const std::string& room = "r1",
                  const std::string& employer = "emp1");

// A token of `employer` for `room`, as the WHIP publisher sends it.
std::string publisherToken(const std::string& room = "r1", const std::string& employer = "emp1");

// Publishes `publisher` to `whip_url` (POST, 201, answer, connected) and keeps
// the resource's Location. Returns what went wrong, or "" on air.
std::string goOnAir(media::WhipClient& publisher, const std::string& whip_url,
                    const std::string& token = publisherToken());

// Ends the publication (WHIP DELETE); returns the HTTP status.
int goOffAir(const Jobcastd& node, const media::WhipClient& publisher,
             const std::string& token = publisherToken());

// Waits until the node's /metrics count `viewers` WHEP viewers.
bool whepViewersBecome(const Jobcastd& node, int viewers,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace jobcast::test
