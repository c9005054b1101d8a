#include "tests/support/on_air.h"

#include "tests/support/http_client.h"
#include "tests/support/tokens.h"

namespace jobcast::test {

void seedLiveRoom(RedisServer& redis, const std::string& room, const std::string& employer) {
  redis.command(
      {"HSET", "jc:{r:" + room + "}:room", "id", room, "status", "live", "employer_id", employer});
}

std::string publisherToken(const std::string& room, const std::string& employer) {
  return signToken(Role::Employer, employer, {room});
}

std::string goOnAir(media::WhipClient& publisher, const std::string& whip_url,
                    const std::string& token) {
  auto offer = publisher.createOffer();
  if (!offer)
    return "offer: " + offer.error().message;
  HttpRequest post{.method = "POST", .url = whip_url, .body = offer.value()};
  post.headers = {{"Content-Type", "application/sdp"}, {"Authorization", "Bearer " + token}};
  post.timeout_ms = 30000;
  auto published = http(post);
  if (published.status != 201)
    return "WHIP POST " + std::to_string(published.status) + ": " + published.body;
  if (!publisher.setAnswer(published.body))
    return "the answer was not taken: " + published.body;
  publisher.resource = published.header("location");
  if (!publisher.waitConnected(std::chrono::seconds(20)))
    return "the publisher did not connect";
  return "";
}

int goOffAir(const Jobcastd& node, const media::WhipClient& publisher, const std::string& token) {
  HttpRequest del{.method = "DELETE", .url = node.url(publisher.resource)};
  del.headers = {{"Authorization", "Bearer " + token}};
  return http(del).status;
}

bool whepViewersBecome(const Jobcastd& node, int viewers, std::chrono::milliseconds timeout) {
  std::string line = "jobcast_whep_viewers " + std::to_string(viewers);
  return eventually(
      [&] { return httpGet(node.url("/metrics")).body.find(line) != std::string::npos; }, timeout);
}

}  // namespace jobcast::test
