#include "signaling/room_gate.h"

namespace jobcast {

void RedisRoomGate::lookup(const std::string& room, std::function<void(Result<RoomRecord>)> cb) {
  redis_.command({"HMGET", "jc:{r:" + room + "}:room", "status", "employer_id"},
                 [cb = std::move(cb)](Result<RedisReply> reply) {
                   if (!reply) {
                     cb(reply.error());
                     return;
                   }
                   const RedisReply& r = reply.value();
                   if (r.isError() || r.type != RedisReply::Type::Array || r.elements.size() != 2) {
                     cb(Error{"redis_error", "unexpected reply reading the room"});
                     return;
                   }
                   RoomRecord record;
                   record.exists = !r.elements[0].isNil();
                   record.status = r.elements[0].str;
                   record.employer_id = r.elements[1].str;
                   cb(record);
                 });
}

bool mayPublish(const Claims& claims, const std::string& room, const RoomRecord& record) {
  switch (claims.role) {
    case Role::Admin:
      return true;
    case Role::Employer:
      return claims.allowsRoom(room) && !record.employer_id.empty() &&
             claims.employerId() == record.employer_id;
    case Role::Counsellor:
    case Role::Captioner:
      return claims.allowsRoom(room);
    case Role::Jobseeker:
      break;
  }
  return false;
}

}  // namespace jobcast
