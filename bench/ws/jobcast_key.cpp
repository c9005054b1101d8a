// Prints a Redis key as rooms/keys.h builds it, so that the bench scripts never
// spell one out: jobcast_key NAME ROOM, NAME one of room, events, notify,
// stage, apps, media_node. ROOM "*" gives a pattern for SCAN or PSUBSCRIBE.

#include <cstdio>
#include <cstring>
#include <string>

#include "rooms/keys.h"

int main(int argc, char** argv) {
  namespace keys = jobcast::rooms::keys;
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s room|events|notify|stage|apps|media_node ROOM\n", argv[0]);
    return 2;
  }
  const std::string name = argv[1], room = argv[2];
  std::string key;
  if (name == "room")
    key = keys::room(room);
  else if (name == "events")
    key = keys::events(room);
  else if (name == "notify")
    key = keys::notify(room);
  else if (name == "stage")
    key = keys::stage(room);
  else if (name == "apps")
    key = keys::applications(room);
  else if (name == "media_node")
    key = keys::mediaNode(room);
  else {
    std::fprintf(stderr, "unknown key name: %s\n", argv[1]);
    return 2;
  }
  std::puts(key.c_str());
  return 0;
}
