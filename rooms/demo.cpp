#include "rooms/demo.h"

#include <memory>

namespace jobcast::rooms {
namespace {

std::vector<nlohmann::json> demoJobs() {
  return {
      {{"title", "Underground electrician"},
       {"wage_min", 7000},
       {"wage_max", 9500},
       {"wage_unit", "month"},
       {"hours", "8h shifts, 22 days a month"},
       {"location", "Baotou, Kundulun District"},
       {"housing", "dormitory, meals provided"},
       {"headcount", 6},
       {"description", "Certificate for low-voltage work required; training on site."},
       {"contract_template_url", "/contracts/standard-labour-contract.pdf"}},
      {{"title", "Heavy truck driver"},
       {"wage_min", 8000},
       {"wage_max", 12000},
       {"wage_unit", "month"},
       {"hours", "10h days, 26 days a month"},
       {"location", "Bayan Obo"},
       {"housing", "dormitory"},
       {"headcount", 10},
       {"description", "A2 licence, two years' experience."}},
      {{"title", "Canteen helper"},
       {"wage_min", 150},
       {"wage_max", 180},
       {"wage_unit", "day"},
       {"hours", "6:00-14:00"},
       {"location", "Baotou, Qingshan District"},
       {"headcount", 3},
       {"description", "No experience needed; suits returning rural workers."}},
  };
}

struct Seeding {
  RoomStore& store;
  DemoOptions options;
  Done<DemoRoom> done;
  Claims admin;
  DemoRoom result;
  std::vector<nlohmann::json> jobs = demoJobs();
};

void finish(const std::shared_ptr<Seeding>& s) {
  if (!s->options.go_live)
    return s->done(s->result);
  s->store.startRoom(s->result.room.id, s->admin, [s](Result<Room> room) {
    if (!room.ok())
      return s->done(room.error());
    s->result.room = room.value();
    s->done(s->result);
  });
}

void addJobs(const std::shared_ptr<Seeding>& s, size_t next) {
  if (next == s->jobs.size()) {
    if (!s->options.pin_first_job || s->result.jobs.empty())
      return finish(s);
    return s->store.pinJob(s->result.room.id, s->result.jobs.front().id, s->admin,
                           [s](Result<JobCard> pinned) {
                             if (!pinned.ok())
                               return s->done(pinned.error());
                             s->result.room.pinned_job = pinned->id;
                             finish(s);
                           });
  }
  auto card = JobCard::fromJson(s->jobs[next]);
  if (!card.ok())
    return s->done(card.error());
  s->store.addJob(s->result.room.id, card.value(), s->admin, [s, next](Result<JobCard> job) {
    if (!job.ok())
      return s->done(job.error());
    s->result.jobs.push_back(job.value());
    addJobs(s, next + 1);
  });
}

void createRoom(const std::shared_ptr<Seeding>& s) {
  RoomDraft draft;
  draft.id = s->options.room_id;
  draft.title = s->options.room_title;
  draft.region_code = s->options.region_code;
  draft.region_name = regionName(draft.region_code);
  draft.employer_id = s->result.employer.id;
  draft.counsellors = s->options.counsellors;
  draft.captioners = s->options.captioners;
  draft.scheduled_at = 0;
  s->store.createRoom(draft, s->admin, [s](Result<Room> room) {
    if (!room.ok())
      return s->done(room.error());
    s->result.room = room.value();
    addJobs(s, 0);
  });
}

void verify(const std::shared_ptr<Seeding>& s) {
  s->store.verifyEmployer(s->options.employer_id, s->admin, [s](Result<Employer> employer) {
    if (!employer.ok())
      return s->done(employer.error());
    s->result.employer = employer.value();
    createRoom(s);
  });
}

}  // namespace

void createDemoRoom(RoomStore& store, const DemoOptions& options, Done<DemoRoom> done) {
  auto s = std::make_shared<Seeding>(Seeding{store, options, std::move(done), {}, {}});
  s->admin.role = Role::Admin;
  s->admin.sub = "demo-setup";
  s->admin.rooms = {"*"};  // seeding creates the room, so it acts in every room
  EmployerDraft draft{options.employer_id, options.employer_name};
  store.createEmployer(draft, s->admin, [s](Result<Employer> created) {
    // An employer left from an earlier demo is reused.
    if (!created.ok() && created.error().code != "conflict")
      return s->done(created.error());
    verify(s);
  });
}

}  // namespace jobcast::rooms
