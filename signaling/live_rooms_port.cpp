#include "signaling/live_rooms_port.h"

namespace jobcast::ws {

using nlohmann::json;

void RoomStorePort::enrichSnapshot(const std::string& room, const rooms::Actor& actor,
                                   json snapshot, std::function<void(json)> done) {
  // The room's jobs and counts come from the store's own consistent read. It
  // may be a little newer than the live snapshot's last_id; the job events in
  // between then arrive twice, which clients apply idempotently (by job id).
  store_.snapshot(room, [this, room, actor, snapshot = std::move(snapshot),
                         done = std::move(done)](Result<rooms::RoomSnapshot> r) mutable {
    if (r.ok()) {
      json rooms_view = r->toJson(actor.staff);
      snapshot["jobs"] = rooms_view.value("jobs", json::array());
      snapshot["pinned_job"] = rooms_view.value("pinned", json());
      snapshot["counts"] = rooms_view.value("counts", json::object());
    } else {
      snapshot["jobs"] = json::array();
    }
    snapshot["applications"] = json::array();
    if (actor.role != Role::Jobseeker) {
      done(std::move(snapshot));
      return;
    }
    store_.myApplications(actor.claimsIn(room),
                          [room, snapshot = std::move(snapshot), done = std::move(done)](
                              Result<std::vector<rooms::Application>> apps) mutable {
                            if (apps.ok()) {
                              for (const auto& a : apps.value()) {
                                if (a.room_id == room)
                                  snapshot["applications"].push_back(a.toJson());
                              }
                            }
                            done(std::move(snapshot));
                          });
  });
}

void RoomStorePort::apply(const std::string& room, const rooms::Actor& actor, const json& args,
                          std::function<void(Result<json>)> done) {
  auto job = args.find("job");
  if (job == args.end() || !job->is_string() || job->get_ref<const std::string&>().empty()) {
    done(Error{"invalid_field", "job: must be a job id"});
    return;
  }
  store_.apply(room, job->get<std::string>(), actor.claimsIn(room),
               [done = std::move(done)](Result<rooms::ApplyOutcome> r) {
                 if (!r.ok()) {
                   done(r.error());
                   return;
                 }
                 done(json{{"created", r->created}, {"application", r->application.toJson()}});
               });
}

}  // namespace jobcast::ws
