#include "routing/room_gate.h"

#include "rooms/keys.h"

namespace jobcast {

void RedisRoomGate::lookup(const std::string& room, std::function<void(Result<RoomRecord>)> cb) {
  redis_.command({"HMGET", rooms::keys::room(room), "status", "employer_id", "counsellors",
                  "captioners", "interpreters"},
                 [room, cb = std::move(cb)](Result<RedisReply> reply) {
                   if (!reply) {
                     cb(reply.error());
                     return;
                   }
                   const RedisReply& r = reply.value();
                   if (r.isError() || r.type != RedisReply::Type::Array || r.elements.size() != 5) {
                     cb(Error{"redis_error", "unexpected reply reading the room"});
                     return;
                   }
                   RoomRecord record;
                   record.exists = !r.elements[0].isNil();
                   record.status = r.elements[0].str;
                   record.employer_id = r.elements[1].str;
                   record.members = rooms::Membership::fromHash(room, [&](const char* field) {
                     std::string_view f(field);
                     size_t i = f == "employer_id"    ? 1
                                : f == "counsellors"  ? 2
                                : f == "captioners"   ? 3
                                : f == "interpreters" ? 4
                                                      : 0;
                     return i == 0 || r.elements[i].isNil() ? std::string() : r.elements[i].str;
                   });
                   cb(record);
                 });
}

bool mayPublish(const Claims& claims, const std::string& room, const RoomRecord& record) {
  rooms::Membership members = record.members;
  members.room_id = room;
  members.employer_id = record.employer_id;
  return rooms::allowed(&claims, members, rooms::Operation::PublishMain);
}

}  // namespace jobcast
