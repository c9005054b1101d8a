#pragma once
// A ready-made session for demos and manual testing: a verified employer, a
// scheduled (or live) room in a region and a few job cards, created through
// RoomStore like any other, so events and keys are the real ones.

#include <string>
#include <vector>

#include "rooms/store.h"

namespace jobcast::rooms {

struct DemoOptions {
  std::string employer_id = "demo-employer";  // reused when it exists already
  std::string employer_name = "Demo Mining and Energy Co.";
  std::string room_id;  // empty: a random id
  std::string room_title = "Spring job fair (demo)";
  std::string region_code = "150200";  // Baotou
  std::vector<std::string> counsellors = {"demo-counsellor"};
  std::vector<std::string> captioners = {"demo-captioner"};
  bool go_live = true;
  bool pin_first_job = true;
};

struct DemoRoom {
  Employer employer;
  Room room;
  std::vector<JobCard> jobs;
};

// Runs on the loop thread; `done` gets the created room (or the first error).
void createDemoRoom(RoomStore& store, const DemoOptions& options, Done<DemoRoom> done);

}  // namespace jobcast::rooms
