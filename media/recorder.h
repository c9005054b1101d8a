#pragma once
// A room pipeline's recording: the programme (H.264 and AAC) into MP4 pieces
// on disk (splitmuxsink), named after the session's start so they sort in
// time order. Finishing a piece needs EOS through the muxer (the moov box).
//
// Threads: control thread; finish() sends its EOS from GStreamer's thread
// pool (gst_element_call_async): EOS is serialized and waits for the pads'
// streaming threads.

#include <gst/gst.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/gst_ptr.h"
#include "media/media_options.h"

namespace jobcast::media {

struct RecordingPiece {
  std::string path;
  int64_t started_ms = 0;  // wall clock, ms since the epoch
  int64_t ended_ms = 0;
};

class Recorder {
 public:
  enum class State {
    Idle,       // no piece open (before the first, between two)
    Open,       // a piece is being written
    Finishing,  // finish(): EOS on its way, the open piece closes next
    Done,       // finished (or never opened): nothing more will be written
  };
  // Control thread, once per closed piece.
  using Closed = std::function<void(const RecordingPiece& piece)>;

  Recorder(GstBin* pipeline, const MediaOptions& options, std::string dir, Closed closed);
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  Result<bool> build(GstElement* video_tee, GstElement* aac_tee);
  // Closes the open piece. True when a piece is closing (the Closed callback
  // follows, then state() is Done); false when there was nothing to close.
  bool finish();
  State state() const { return state_; }

  // splitmuxsink's fragment messages from the pipeline's bus watch; false
  // when the message is not the recorder's.
  bool onFragmentMessage(GstMessage* message);

 private:
  GstElement* add(const char* factory, const char* name = nullptr);

  GstBin* pipeline_;
  MediaOptions options_;
  std::string dir_;
  Closed closed_;
  State state_ = State::Idle;
  GstElement* sink_ = nullptr;  // splitmuxsink "recording", owned by the pipeline
  std::vector<GstPtr<GstPad>> pads_;
  int64_t opened_ms_ = 0;
  std::string location_;
};

}  // namespace jobcast::media
