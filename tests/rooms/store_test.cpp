// RoomStore against a real redis-server: the Lua scripts, the events they append
// (docs/redis-schema.md), idempotent apply and the audit trail.

#include "rooms/store.h"
#include "rooms/demo.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "tests/support/redis_client_for.h"
#include "tests/support/redis_server.h"

namespace jobcast::rooms {
namespace {

using nlohmann::json;

const std::string kKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

Claims who(Role role, std::string sub) {
  Claims c;
  c.role = role;
  c.sub = std::move(sub);
  c.rooms = {"*"};
  return c;
}

class StoreTest : public ::testing::Test {
 protected:
  StoreTest()
      : client_owner(test::redisClientFor(loop, redis)),
        client(*client_owner),
        store(loop, client, DataCipher::fromHex(kKey).value()) {
    client.start();
    EXPECT_TRUE(runUntil([&] { return client.ready(); }));
  }

  bool runUntil(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline)
      g_main_context_iteration(loop.context(), TRUE);
    return done();
  }

  // Calls `start(done)` and runs the loop until the callback fired.
  template <typename T, typename Start>
  Result<T> wait(Start start) {
    std::optional<Result<T>> out;
    start([&](Result<T> r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(runUntil([&] { return out.has_value(); }));
    return out ? std::move(*out) : Result<T>(Error{"timeout", "no answer"});
  }

  // A verified employer with a room and one job.
  void seed() {
    auto employer = wait<Employer>([&](auto done) {
      store.createEmployer({"acme", "Acme Mining"}, admin, done);
    });
    ASSERT_TRUE(employer.ok()) << employer.error().message;
    ASSERT_TRUE(wait<Employer>([&](auto done) { store.verifyEmployer("acme", admin, done); }).ok());
    RoomDraft draft;
    draft.title = "Spring fair";
    draft.region_code = "150200";
    draft.scheduled_at = 1767225600;
    draft.counsellors = {"coach-1"};
    auto room = wait<Room>([&](auto done) { store.createRoom(draft, owner, done); });
    ASSERT_TRUE(room.ok()) << room.error().message;
    room_id = room->id;
    JobCard card = JobCard::fromJson({{"title", "Driller"},
                                      {"wage_min", 6000},
                                      {"wage_max", 9000},
                                      {"wage_unit", "month"},
                                      {"hours", "12h shifts"},
                                      {"location", "Baotou"},
                                      {"headcount", 5}})
                       .value();
    auto job = wait<JobCard>([&](auto done) { store.addJob(room_id, card, owner, done); });
    ASSERT_TRUE(job.ok()) << job.error().message;
    job_id = job->id;
  }

  void giveProfile(const Claims& seeker) {
    Profile p;
    p.name = "Bayar";
    p.phone = "13800138000";
    p.cv = "Five years underground.";
    p.key_group = KeyGroup::RuralMigrantWorker;
    p.key_group_consent = true;
    ASSERT_TRUE(wait<Profile>([&](auto done) { store.putProfile(p, seeker, done); }).ok());
  }

  // Stream entries as {kind, data, aud}.
  std::vector<std::map<std::string, std::string>> events() {
    std::vector<std::map<std::string, std::string>> out;
    auto raw = redis.command({"XRANGE", keys::events(room_id), "-", "+"});
    // redis-cli prints id, then field/value pairs, one per line.
    std::istringstream lines(raw);
    std::string line;
    std::vector<std::string> all;
    while (std::getline(lines, line))
      all.push_back(line);
    for (size_t i = 0; i + 6 < all.size() + 1; i += 7) {
      std::map<std::string, std::string> e;
      for (size_t f = i + 1; f + 1 < i + 7 && f + 1 < all.size(); f += 2)
        e[all[f]] = all[f + 1];
      out.push_back(e);
    }
    return out;
  }

  test::RedisServer redis;
  Loop loop;
  std::unique_ptr<RedisClient> client_owner;
  RedisClient& client;
  RoomStore store;
  Claims admin = who(Role::Admin, "root");
  Claims owner = who(Role::Employer, "acme");
  std::string room_id;
  std::string job_id;
};

TEST_F(StoreTest, RoomLifecycleRefusesIllegalTransitions) {
  seed();
  auto ended_early = wait<Room>([&](auto done) { store.endRoom(room_id, owner, done); });
  EXPECT_EQ(ended_early.error().code, "illegal_transition");
  auto live = wait<Room>([&](auto done) { store.startRoom(room_id, owner, done); });
  ASSERT_TRUE(live.ok()) << live.error().message;
  EXPECT_EQ(live->status, RoomStatus::Live);
  EXPECT_GT(live->started_at, 0);
  EXPECT_EQ(wait<Room>([&](auto done) { store.startRoom(room_id, owner, done); }).error().code,
            "illegal_transition");
  ASSERT_TRUE(wait<Room>([&](auto done) { store.endRoom(room_id, owner, done); }).ok());
  EXPECT_EQ(wait<Room>([&](auto done) { store.startRoom(room_id, owner, done); }).error().code,
            "illegal_transition");
  EXPECT_EQ(redis.command({"HGET", keys::room(room_id), "status"}), "ended");

  auto kinds = events();
  ASSERT_GE(kinds.size(), 4u);
  EXPECT_EQ(kinds[0]["kind"], "room.created");
  EXPECT_EQ(kinds[1]["kind"], "job.added");
  EXPECT_EQ(kinds[2]["kind"], "room.status");
  EXPECT_EQ(json::parse(kinds[2]["data"])["status"], "live");
  EXPECT_EQ(kinds[2]["aud"], "all");
  EXPECT_EQ(json::parse(kinds[3]["data"])["status"], "ended");
}

// The stream's bound reaches every script's emit from the options (the
// config's redis.events_maxlen), not from a number in the scripts.
TEST_F(StoreTest, EventStreamIsBoundedByTheConfiguredLength) {
  seed();
  RoomStore bounded(loop, client, DataCipher::fromHex(kKey).value(), {.events_maxlen = 10});
  for (int i = 0; i < 300; ++i) {
    auto pinned = wait<JobCard>([&](auto done) { bounded.pinJob(room_id, job_id, owner, done); });
    ASSERT_TRUE(pinned.ok()) << pinned.error().message;
  }
  // MAXLEN ~ trims whole stream nodes (100 entries each): far fewer than the
  // 302 appended, but at least the bound.
  int64_t length = std::stoll(redis.command({"XLEN", keys::events(room_id)}));
  EXPECT_LT(length, 200);
  EXPECT_GE(length, 10);
  EXPECT_EQ(events().back()["kind"], "job.pinned");
}

TEST_F(StoreTest, UnverifiedEmployerCannotGoLive) {
  ASSERT_TRUE(wait<Employer>([&](auto done) {
                store.createEmployer({"newco", "New Co"}, admin, done);
              }).ok());
  RoomDraft draft;
  draft.title = "First session";
  draft.scheduled_at = 1;
  auto room =
      wait<Room>([&](auto done) { store.createRoom(draft, who(Role::Employer, "newco"), done); });
  ASSERT_TRUE(room.ok());
  auto start =
      wait<Room>([&](auto done) { store.startRoom(room->id, who(Role::Employer, "newco"), done); });
  EXPECT_EQ(start.error().code, "employer_unverified");
  ASSERT_TRUE(wait<Employer>([&](auto done) { store.verifyEmployer("newco", admin, done); }).ok());
  EXPECT_TRUE(wait<Room>([&](auto done) {
                store.startRoom(room->id, who(Role::Employer, "newco"), done);
              }).ok());
}

TEST_F(StoreTest, ApplyIsIdempotentAndEmitsEvents) {
  seed();
  Claims seeker = who(Role::Jobseeker, "seeker-1");
  EXPECT_EQ(wait<ApplyOutcome>([&](auto done) { store.apply(room_id, job_id, seeker, done); })
                .error()
                .code,
            "profile_required");
  giveProfile(seeker);
  auto first = wait<ApplyOutcome>([&](auto done) { store.apply(room_id, job_id, seeker, done); });
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->application.status, ApplicationStatus::Applied);
  EXPECT_EQ(first->application.job_title, "Driller");
  EXPECT_EQ(first->application.id.size(), 12u);
  auto again = wait<ApplyOutcome>([&](auto done) { store.apply(room_id, job_id, seeker, done); });
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->application.id, first->application.id);
  EXPECT_EQ(redis.command({"HLEN", keys::applications(room_id)}), "1");
  EXPECT_EQ(redis.command({"HGET", keys::counts(room_id), "applications"}), "1");
  EXPECT_EQ(redis.command({"HGET", keys::counts(room_id), "group:rural_migrant_worker"}), "1");

  auto log = events();
  int created = 0, counted = 0;
  for (auto& e : log) {
    if (e["kind"] == "application.created") {
      ++created;
      EXPECT_EQ(e["aud"], "staff");
      EXPECT_EQ(json::parse(e["data"])["application"]["id"], first->application.id);
      EXPECT_EQ(e["data"].find("13800138000"), std::string::npos);
    }
    if (e["kind"] == "application.count") {
      ++counted;
      EXPECT_EQ(e["aud"], "all");
      EXPECT_EQ(json::parse(e["data"])["total"], 1);
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(counted, 1);

  auto snap = wait<RoomSnapshot>([&](auto done) { store.snapshot(room_id, done); });
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->applications, 1);
  EXPECT_EQ(snap->applications_by_job[job_id], 1);
  EXPECT_FALSE(snap->toJson(false)["counts"].contains("applications_by_key_group"));
  EXPECT_EQ(snap->toJson(true)["counts"]["applications_by_key_group"]["rural_migrant_worker"], 1);
  EXPECT_NE(snap->last_event_id, "0-0");
}

TEST_F(StoreTest, FiftyApplyCallsInFlightMakeOneApplication) {
  seed();
  Claims seeker = who(Role::Jobseeker, "seeker-50");
  giveProfile(seeker);
  std::vector<Result<ApplyOutcome>> results;
  for (int i = 0; i < 50; ++i)
    store.apply(room_id, job_id, seeker, [&](Result<ApplyOutcome> r) { results.push_back(r); });
  ASSERT_TRUE(runUntil([&] { return results.size() == 50; }));
  std::set<std::string> ids;
  int created = 0;
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().message;
    ids.insert(r->application.id);
    created += r->created;
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(created, 1);
  EXPECT_EQ(redis.command({"HLEN", keys::applications(room_id)}), "1");
}

TEST_F(StoreTest, StatusPipelineIsTimestampedAndGuarded) {
  seed();
  Claims seeker = who(Role::Jobseeker, "seeker-2");
  giveProfile(seeker);
  auto app = wait<ApplyOutcome>([&](auto done) { store.apply(room_id, job_id, seeker, done); });
  ASSERT_TRUE(app.ok());
  std::string id = app->application.id;
  auto set = [&](ApplicationStatus s, const Claims& c) {
    return wait<Application>([&](auto done) { store.setApplicationStatus(id, s, c, done); });
  };
  EXPECT_EQ(set(ApplicationStatus::Hired, owner).error().code, "illegal_transition");
  EXPECT_EQ(set(ApplicationStatus::Viewed, who(Role::Employer, "other")).error().code, "forbidden");
  EXPECT_EQ(set(ApplicationStatus::Viewed, seeker).error().code, "forbidden");
  auto viewed = set(ApplicationStatus::Viewed, owner);
  ASSERT_TRUE(viewed.ok()) << viewed.error().message;
  ASSERT_EQ(viewed->history.size(), 2u);
  EXPECT_EQ(viewed->history[1].by, "acme");
  EXPECT_GT(viewed->history[1].at, 0);
  EXPECT_TRUE(set(ApplicationStatus::Contacted, owner).ok());
  EXPECT_TRUE(set(ApplicationStatus::Interview, owner).ok());
  EXPECT_TRUE(set(ApplicationStatus::Hired, owner).ok());
  EXPECT_EQ(set(ApplicationStatus::Rejected, owner).error().code, "illegal_transition");
  EXPECT_EQ(wait<Application>([&](auto done) {
              store.setApplicationStatus("nosuchapp", ApplicationStatus::Viewed, owner, done);
            })
                .error()
                .code,
            "not_found");

  auto mine =
      wait<std::vector<Application>>([&](auto done) { store.myApplications(seeker, done); });
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ(mine->at(0).status, ApplicationStatus::Hired);

  int for_user = 0;
  for (auto& e : events()) {
    if (e["kind"] == "application.status" && e["aud"] == "user:seeker-2")
      ++for_user;
  }
  EXPECT_EQ(for_user, 4);
}

TEST_F(StoreTest, ProfileIsEncryptedReadsAreAuditedDeletionKeepsCounts) {
  seed();
  Claims seeker = who(Role::Jobseeker, "seeker-3");
  giveProfile(seeker);
  std::string raw = redis.command({"HGETALL", keys::profile("seeker-3")});
  EXPECT_EQ(raw.find("13800138000"), std::string::npos);
  EXPECT_EQ(raw.find("Bayar"), std::string::npos);
  EXPECT_EQ(raw.find("rural"), std::string::npos);
  ASSERT_TRUE(
      wait<ApplyOutcome>([&](auto done) { store.apply(room_id, job_id, seeker, done); }).ok());

  EXPECT_EQ(wait<ApplicationPage>([&](auto done) {
              store.listApplications(room_id, 0, 10, who(Role::Employer, "other"), done);
            })
                .error()
                .code,
            "forbidden");
  EXPECT_EQ(redis.command({"XLEN", keys::audit(room_id)}), "0");
  auto page = wait<ApplicationPage>(
      [&](auto done) { store.listApplications(room_id, 0, 10, owner, done); });
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->items.size(), 1u);
  ASSERT_TRUE(page->items[0].profile);
  EXPECT_EQ(page->items[0].profile->phone, "13800138000");
  EXPECT_EQ(redis.command({"XLEN", keys::audit(room_id)}), "1");
  std::string audit = redis.command({"XRANGE", keys::audit(room_id), "-", "+"});
  EXPECT_NE(audit.find("acme"), std::string::npos);
  EXPECT_NE(audit.find("seeker-3"), std::string::npos);

  ASSERT_TRUE(wait<bool>([&](auto done) { store.deleteProfile(seeker, done); }).ok());
  EXPECT_EQ(redis.command({"EXISTS", keys::profile("seeker-3")}), "0");
  EXPECT_EQ(wait<Profile>([&](auto done) { store.getProfile(seeker, done); }).error().code,
            "not_found");
  auto after = wait<ApplicationPage>(
      [&](auto done) { store.listApplications(room_id, 0, 10, owner, done); });
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->items.size(), 1u);
  EXPECT_FALSE(after->items[0].profile);
  EXPECT_EQ(redis.command({"HGET", keys::counts(room_id), "applications"}), "1");
  // Nothing personal was read, so nothing more was audited.
  EXPECT_EQ(redis.command({"XLEN", keys::audit(room_id)}), "1");
}

// The key group was given for the service's reporting: the employer sees it
// only after a second consent to share it, each such view audited on its own;
// withdrawing that consent hides it again. The anonymous counts hold it all along.
TEST_F(StoreTest, KeyGroupReachesTheEmployerOnlyWithItsOwnConsent) {
  seed();
  Claims seeker = who(Role::Jobseeker, "seeker-4");
  giveProfile(seeker);
  ASSERT_TRUE(
      wait<ApplyOutcome>([&](auto done) { store.apply(room_id, job_id, seeker, done); }).ok());
  auto list = [&] {
    auto page = wait<ApplicationPage>(
        [&](auto done) { store.listApplications(room_id, 0, 10, owner, done); });
    EXPECT_TRUE(page.ok());
    EXPECT_EQ(page->items.size(), 1u);
    return page->items.empty() ? nlohmann::json() : page->items[0].toJson()["profile"];
  };
  auto audited = [&](const std::string& what) {
    // redis-cli prints each field and value on a line of its own.
    std::istringstream lines(redis.command({"XRANGE", keys::audit(room_id), "-", "+"}));
    std::string line, previous;
    size_t n = 0;
    while (std::getline(lines, line)) {
      if (previous == "what" && line == what)
        ++n;
      previous = line;
    }
    return n;
  };

  nlohmann::json seen = list();
  EXPECT_TRUE(seen["key_group"].is_null()) << seen.dump();
  EXPECT_FALSE(seen.contains("key_group_consent")) << seen.dump();  // not even whether one exists
  EXPECT_EQ(audited("profile"), 1u);
  EXPECT_EQ(audited("key_group"), 0u);
  auto snap = wait<RoomSnapshot>([&](auto done) { store.snapshot(room_id, done); });
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->toJson(true)["counts"]["applications_by_key_group"]["rural_migrant_worker"], 1);

  // The second consent: shared with the employers applied to.
  Profile shared = wait<Profile>([&](auto done) { store.getProfile(seeker, done); }).value();
  shared.key_group_shared = true;
  ASSERT_TRUE(wait<Profile>([&](auto done) { store.putProfile(shared, seeker, done); }).ok());
  seen = list();
  EXPECT_EQ(seen["key_group"], "rural_migrant_worker");
  EXPECT_EQ(audited("profile"), 2u);
  EXPECT_EQ(audited("key_group"), 1u);

  // Withdrawn: hidden again, and no key-group view audited.
  shared.key_group_shared = false;
  ASSERT_TRUE(wait<Profile>([&](auto done) { store.putProfile(shared, seeker, done); }).ok());
  seen = list();
  EXPECT_TRUE(seen["key_group"].is_null());
  EXPECT_EQ(audited("profile"), 3u);
  EXPECT_EQ(audited("key_group"), 1u);

  // Sharing needs a key group given with its consent.
  auto bad = Profile::fromJson(
      {{"name", "A"}, {"phone", "13800138000"}, {"key_group_shared_with_employers", true}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(fieldOf(bad.error()), "key_group_shared_with_employers");
}

TEST_F(StoreTest, ScriptsReloadAfterScriptFlush) {
  seed();
  redis.command({"SCRIPT", "FLUSH"});
  Claims seeker = who(Role::Jobseeker, "seeker-4");
  giveProfile(seeker);
  EXPECT_TRUE(
      wait<ApplyOutcome>([&](auto done) { store.apply(room_id, job_id, seeker, done); }).ok());
}

TEST_F(StoreTest, PinningNeedsAJobOfTheRoomAndAStaffMember) {
  seed();
  EXPECT_EQ(
      wait<JobCard>([&](auto done) { store.pinJob(room_id, "nope", owner, done); }).error().code,
      "not_found");
  EXPECT_EQ(wait<JobCard>([&](auto done) {
              store.pinJob(room_id, job_id, who(Role::Counsellor, "coach-2"), done);
            })
                .error()
                .code,
            "forbidden");
  auto pinned = wait<JobCard>(
      [&](auto done) { store.pinJob(room_id, job_id, who(Role::Counsellor, "coach-1"), done); });
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(redis.command({"HGET", keys::room(room_id), "pinned_job"}), job_id);
  auto log = events();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back()["kind"], "job.pinned");
  EXPECT_EQ(json::parse(log.back()["data"])["job"]["title"], "Driller");
}

}  // namespace
}  // namespace jobcast::rooms

namespace jobcast::rooms {
namespace {

TEST_F(StoreTest, DemoRoomIsLiveWithPinnedJobsAndCanBeMadeTwice) {
  auto demo = wait<DemoRoom>([&](auto done) { createDemoRoom(store, {}, done); });
  ASSERT_TRUE(demo.ok()) << demo.error().message;
  EXPECT_TRUE(demo->employer.verified);
  EXPECT_EQ(demo->room.status, RoomStatus::Live);
  ASSERT_EQ(demo->jobs.size(), 3u);
  EXPECT_EQ(demo->room.pinned_job, demo->jobs[0].id);
  room_id = demo->room.id;
  auto snap = wait<RoomSnapshot>([&](auto done) { store.snapshot(room_id, done); });
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->jobs.size(), 3u);
  EXPECT_EQ(snap->room.region_name, "Baotou");
  // A second demo reuses the employer and makes a new room.
  auto again = wait<DemoRoom>([&](auto done) { createDemoRoom(store, {}, done); });
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_NE(again->room.id, demo->room.id);
}

TEST_F(StoreTest, RoomListsArePagedInRedis) {
  seed();
  for (int i = 0; i < 11; ++i) {
    RoomDraft draft;
    draft.title = "Fair " + std::to_string(i);
    draft.region_code = i % 2 ? "150200" : "150100";
    draft.scheduled_at = 1767225600;
    ASSERT_TRUE(wait<Room>([&](auto done) { store.createRoom(draft, owner, done); }).ok());
  }
  auto hgetalls = [&] {
    std::string info = redis.command({"INFO", "commandstats"});
    auto at = info.find("cmdstat_hgetall:calls=");
    return at == std::string::npos ? 0 : std::atoi(info.c_str() + at + 22);
  };
  auto list = [&](RoomFilter filter) {
    return wait<RoomPage>([&](auto done) { store.listRooms(filter, done); });
  };

  // A small page reads a small part of the index, not the first thousand rooms.
  redis.command({"CONFIG", "RESETSTAT"});
  auto first = list({.limit = 3});
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->rooms.size(), 3u);
  EXPECT_FALSE(first->next_cursor.empty());
  EXPECT_LE(hgetalls(), 4);

  // Paging visits every room once, newest first (rooms made in one second too).
  std::vector<std::string> seen;
  RoomFilter filter{.limit = 5};
  for (int pages = 0; pages < 10; ++pages) {
    auto page = list(filter);
    ASSERT_TRUE(page.ok()) << page.error().message;
    for (const auto& room : page->rooms)
      seen.push_back(room.id);
    if (page->next_cursor.empty())
      break;
    filter.cursor = page->next_cursor;
  }
  EXPECT_EQ(seen.size(), 12u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 12u);

  // With a filter: only matching rooms, each once; 5 in 150100 (i = 0, 2, .., 10 is 6).
  std::set<std::string> hohhot;
  RoomFilter filtered{.region = "1501", .limit = 2};
  for (int pages = 0; pages < 20; ++pages) {
    auto page = list(filtered);
    ASSERT_TRUE(page.ok());
    for (const auto& room : page->rooms) {
      EXPECT_EQ(room.region_code, "150100");
      hohhot.insert(room.id);
    }
    if (page->next_cursor.empty())
      break;
    filtered.cursor = page->next_cursor;
  }
  EXPECT_EQ(hohhot.size(), 6u);

  auto bad = list({.cursor = "not-a-cursor"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "invalid_query");
}

}  // namespace
}  // namespace jobcast::rooms
