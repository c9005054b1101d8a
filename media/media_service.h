#pragma once
// The media API the rest of the node uses: takes a publisher's SDP offer for a
// room and answers (async), keeps each live room's HLS ladder in memory, and
// records the programme. Knows nothing of HTTP. Control thread only.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/loop.h"
#include "core/result.h"
#include "media/hls_store.h"
#include "media/media_options.h"
#include "media/room_pipeline.h"
#include "media/sdp.h"
#include "media/teardown_worker.h"
#include "rooms/stage_slot.h"

namespace jobcast::media {

// What a room's stage shows: nobody publishing, a publisher on air, or the
// publisher lost and the room waiting for them to come back.
enum class StageState { Idle, Live, Reconnecting };
const char* stageStateName(StageState state);

// Room ids name folders: letters, digits, '-' and '_' only, 1-64 characters.
bool validRoomId(const std::string& room);

class MediaService {
 public:
  struct Published {
    std::string session;
    std::string answer_sdp;
  };
  using StateListener =
      std::function<void(const std::string& room, StageState state, const std::string& reason)>;
  using RecordingListener = std::function<void(const std::string& room, const RecordingPiece&)>;

  // Who publishes: the main publisher (the room's employer, usually), or
  // someone the room's stage (rooms/stage.*) has as guest or interpreter.
  struct Participant {
    using Slot = rooms::StageSlot;
    Slot slot = Slot::Main;
    std::string sub;
    std::string name;  // the caption under their picture
  };
  using ProgrammeListener = std::function<void(const std::string& room)>;

  MediaService(Loop& loop, MediaOptions options);
  ~MediaService();
  MediaService(const MediaService&) = delete;
  MediaService& operator=(const MediaService&) = delete;

  // Starts a publisher session on the room's stage. `done` runs once on the
  // control thread with the SDP answer or an error: "bad_sdp" (the offer is not
  // SDP or lacks H.264/Opus), "slot_taken" (a publisher is on air),
  // "media_unavailable"/"media_error" (the pipeline failed).
  void publish(const std::string& room, const std::string& offer_sdp,
               std::function<void(Result<Published>)> done) {
    publish(room, offer_sdp, Participant{}, std::move(done));
  }
  // As above for any participant. A guest or interpreter gets a session of
  // their own beside the main publisher (a returning one replaces their old
  // session); while their media flows the programme is the composite. Extra
  // error: "stage_full" (two guests, or another interpreter, already publish).
  void publish(const std::string& room, const std::string& offer_sdp, const Participant& who,
               std::function<void(Result<Published>)> done);
  // The subs of the guests and interpreter publishing into `room` here.
  std::vector<std::string> stageGuests(const std::string& room) const;
  // Ends a guest's session (they left the stage). False if none.
  bool endGuest(const std::string& room, const std::string& sub);
  // The main publisher's caption in the composite.
  void setMainName(const std::string& room, const std::string& name);
  // Ends a publisher session (WHIP DELETE). False when there is no such session.
  bool endSession(const std::string& room, const std::string& session);
  bool hasSession(const std::string& room, const std::string& session) const;
  // A caption of the room (or a correction: same id), started at `at_ms` on
  // the node's clock: the room's HLS subtitle rendition carries it.
  void addCaption(const std::string& room, const std::string& id, int64_t at_ms,
                  const std::string& text);
  // The room is over: stops its pipeline and forgets its HLS (recordings stay).
  void endRoom(const std::string& room);
  // Stops every pipeline, waiting (bounded) for recordings to be finished.
  void shutdown();

  StageState state(const std::string& room) const;
  // The room's live HLS output, or null when the room has none.
  const HlsStore* hls(const std::string& room) const;
  std::vector<std::string> rooms() const;
  // The publisher's pipeline on the room's stage, or null (WHEP taps it).
  RoomPipeline* onStage(const std::string& room) const {
    auto it = rooms_.find(room);
    return it == rooms_.end() ? nullptr : it->second.pipeline.get();
  }
  // Pipelines alive, on stage or still stopping (for leak checks and metrics).
  size_t pipelines() const { return registry_->sessions.size(); }
  // Where pipelines and their parts are taken down (tests hold it to prove
  // that the control thread never waits for a teardown).
  TeardownWorker& teardown() { return *worker_; }
  std::string recordingDir(const std::string& room) const;
  const MediaOptions& options() const { return options_; }

  void onStateChange(StateListener listener) { state_listeners_.push_back(std::move(listener)); }
  // After the programme's shape changed (composite on/off, interpreter variant).
  void onProgrammeChange(ProgrammeListener listener) {
    programme_listeners_.push_back(std::move(listener));
  }
  // After a room's HLS output changed: a segment, a rendition added or
  // removed, the room ended (hls(room) is null then). Control thread.
  void onHlsChange(std::function<void(const std::string& room)> listener) {
    hls_listeners_.push_back(std::move(listener));
  }
  void onRecordingClosed(RecordingListener listener) {
    recording_listeners_.push_back(std::move(listener));
  }

 private:
  struct Guest {
    Participant who;
    std::string session;
    std::unique_ptr<RoomPipeline> pipeline;
    bool flowing = false;  // mixed only once their video arrives
  };
  struct RoomMedia {
    std::unique_ptr<HlsStore> hls;
    std::unique_ptr<RoomPipeline> pipeline;  // the publisher on stage, if any
    StageState state = StageState::Idle;
    std::map<std::string, Guest> guests;  // by sub
    std::string main_name;
  };
  // Lets tasks posted from streaming threads find their pipeline by session id.
  struct Registry {
    std::map<std::string, RoomPipeline*> sessions;
  };

  RoomPipeline::Post postFor(const std::string& session);
  void setState(const std::string& room, StageState state, const std::string& reason);
  // Moves the room's pipeline out of the stage and stops it in the background.
  void retire(const std::string& room);
  void retirePipeline(std::unique_ptr<RoomPipeline> pipeline);
  void publishGuest(const std::string& room, SdpPtr offer, std::vector<OfferedMedia> media,
                    const Participant& who, std::function<void(Result<Published>)> done);
  void retireGuest(const std::string& room, const std::string& sub);
  // Tells the room pipeline who is on stage with flowing media.
  void updateStage(const std::string& room);
  void onPart(const std::string& room, const std::string& rendition, const cmaf::Part& part,
              const VideoFormat& format);
  void onSegment(const std::string& room, const std::string& rendition, double seconds,
                 std::shared_ptr<const std::string> bytes, const VideoFormat& format);

  Loop& loop_;
  MediaOptions options_;
  // Declared before the pipelines' maps: it outlives every pipeline, and its
  // destructor finishes their teardown.
  std::unique_ptr<TeardownWorker> worker_ = std::make_unique<TeardownWorker>();
  std::vector<std::string> renditions_;
  std::map<std::string, RoomMedia> rooms_;
  std::map<std::string, std::unique_ptr<RoomPipeline>> stopping_;  // by session
  std::shared_ptr<Registry> registry_ = std::make_shared<Registry>();
  std::vector<StateListener> state_listeners_;
  std::vector<RecordingListener> recording_listeners_;
  std::vector<std::function<void(const std::string&)>> hls_listeners_;
  void hlsChanged(const std::string& room) {
    for (auto& l : hls_listeners_)
      l(room);
  }
  std::vector<ProgrammeListener> programme_listeners_;
};

}  // namespace jobcast::media
