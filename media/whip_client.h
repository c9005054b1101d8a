#pragma once
// A WHIP publisher built on webrtcbin: a synthetic camera (videotestsrc, optional
// title, clock and latency stamp; x264 constrained baseline) and a tone
// (audiotestsrc, Opus). Tests, the bench and the demo camera publish with it.
//
// Its methods block the calling thread (any thread but a GStreamer one) for
// at most `timeout`; webrtcbin's callbacks run on streaming threads and only
// flip flags under the client's own mutex. It knows nothing of HTTP: the
// caller carries the offer and the answer.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "core/result.h"
#include "media/gst_ptr.h"

namespace jobcast::media {

class WhipClient {
 public:
  struct Options {
    int width = 640;
    int height = 360;
    int fps = 30;
    int video_kbps = 800;
    // Keyframes when asked (PLI) and at least every this many frames.
    int key_int_max = 30;
    // x264 threads; with tune=zerolatency each thread codes one slice of
    // every picture. 0: x264's default for this machine.
    int encoder_threads = 0;
    std::string title;   // overlaid text (needs the pango plugin)
    bool clock = false;  // overlay a running wall clock
    bool stamp = false;  // paint the send time for the latency bench
    int tone_hz = 440;
    std::string pattern = "smpte";
  };

  explicit WhipClient(Options options);
  WhipClient() : WhipClient(Options{}) {}
  ~WhipClient();
  WhipClient(const WhipClient&) = delete;
  WhipClient& operator=(const WhipClient&) = delete;

  // Starts the camera and returns the SDP offer with all ICE candidates.
  Result<std::string> createOffer(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Applies the server's SDP answer.
  Result<bool> setAnswer(const std::string& sdp,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Waits until ICE and DTLS are connected.
  bool waitConnected(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Stops sending at once (as a crashed or unplugged publisher would).
  void stop();
  // Frames pushed so far.
  uint64_t framesSent() const;

  // The Location header the server gave (kept for DELETE by the caller).
  std::string resource;

 private:
  Result<bool> build();

  Options options_;
  PipelinePtr pipeline_;
  GstElement* webrtc_ = nullptr;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool negotiation_needed_ = false;
  bool gathered_ = false;
  int connection_state_ = 0;
  uint64_t frames_ = 0;
};

}  // namespace jobcast::media
