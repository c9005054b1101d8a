#pragma once
// A real WHEP viewer on webrtcbin for tests and the bench: offers recvonly
// H.264 + Opus, takes the answer, and counts (and optionally decodes) what
// arrives. Its webrtcbin and appsink callbacks run on GStreamer threads; every
// counter here is atomic or mutex-guarded, so any thread may read it.

#include <gst/gst.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace jobcast::test {

class WhepClient {
 public:
  struct Options {
    bool decode = true;  // decode video to RGB and audio to S16 (else count access units)
    std::vector<std::string> local_addresses{"127.0.0.1"};  // ICE host candidates
    // Ask for retransmissions (RTCP NACK; the offer then has RTX too).
    bool nack = false;
    unsigned latency_ms = 50;  // the jitter buffer's
  };
  struct Frame {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> rgb;  // width*height*3, rows packed
    uint64_t index = 0;
  };

  WhepClient() : WhepClient(Options{}) {}
  explicit WhepClient(Options options);
  ~WhepClient();
  WhepClient(const WhepClient&) = delete;
  WhepClient& operator=(const WhepClient&) = delete;

  // The offer with its candidates; empty on timeout.
  std::string offer(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  bool setAnswer(const std::string& sdp);
  // POSTs the offer to `url` (WHEP) and applies the answer; returns the HTTP
  // status and fills `location`.
  long connect(const std::string& url, std::string* location = nullptr,
               const std::string& bearer = "");
  // Stops the pipeline: a viewer closing its tab.
  void close();

  bool connected() const { return connected_; }
  uint64_t videoFrames() const { return video_frames_; }
  uint64_t audioBuffers() const { return audio_buffers_; }
  // Root mean square of the last decoded audio buffer, 0..32767.
  double audioRms() const { return audio_rms_.load(); }
  Frame lastFrame() const;
  // Sends an RTCP PLI to the server, as a browser does on loss.
  void requestKeyframe();
  // Fault injection, on what the network hands to the viewer: every
  // `one_in`-th H.264 packet (payload type 102, seen in the SRTP header) is
  // dropped before it is decrypted; 0: none. Retransmissions pass, as RTX
  // or as the packet again (a sequence number dropped before).
  void dropVideo(unsigned one_in);
  uint64_t videoDropped() const { return video_dropped_; }
  // The viewer dies without a word (a killed process, a lost network):
  // nothing more leaves it, not even an RTCP BYE.
  void kill();
  // From the video jitter buffer: packets given up as lost, and
  // retransmissions (RTX) that arrived in time.
  uint64_t packetsLost() const;
  uint64_t retransmissionsReceived() const;
  // What one keyframe access unit held as the depayloader put it together,
  // before any parser: a picture cut into slices arrives as one unit with
  // every slice, parameter sets in front of them.
  struct Keyframe {
    size_t bytes = 0;
    int slices = 0;              // IDR slices
    bool starts_at_top = false;  // the first slice starts at macroblock 0
    bool ordered = true;         // no SPS/PPS/SEI/AUD between its slices
  };
  std::vector<Keyframe> keyframes() const;
  // Nanoseconds (CLOCK_REALTIME) when the last video frame was decoded.
  int64_t lastFrameWallNs() const { return last_frame_wall_ns_; }

 private:
  static void reportEverySecond(GstElement* webrtc, bool nack);
  // Every element of webrtcbin's insides made by `factory`.
  std::vector<GstElement*> inside(const char* factory) const;
  uint64_t jitterStat(const char* field) const;
  bool dropsVideo(GstBuffer* buffer);  // counts, and says whether to drop it
  static void onPadAdded(GstElement* webrtc, GstPad* pad, gpointer self);
  static GstFlowReturn onVideoSample(GstElement* sink, gpointer self);
  static GstFlowReturn onAudioSample(GstElement* sink, gpointer self);
  static GstPadProbeReturn onAccessUnit(GstPad* pad, GstPadProbeInfo* info, gpointer self);
  void linkVideo(GstPad* pad);
  void linkAudio(GstPad* pad);

  Options options_;
  GstElement* pipeline_ = nullptr;
  GstElement* webrtc_ = nullptr;
  GstElement* video_depay_ = nullptr;
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> video_frames_{0};
  std::atomic<uint64_t> audio_buffers_{0};
  std::atomic<double> audio_rms_{0};
  std::atomic<int64_t> last_frame_wall_ns_{0};
  std::atomic<unsigned> drop_one_in_{0};
  std::atomic<uint64_t> video_seen_{0};
  std::atomic<uint64_t> video_dropped_{0};
  // The sequence numbers dropped last (the receiving thread's only).
  std::array<int, 64> dropped_seqs_ = [] {
    std::array<int, 64> none{};
    none.fill(-1);
    return none;
  }();
  size_t dropped_at_ = 0;
  bool drop_probe_ = false;
  uint32_t video_ssrc_ = 0;                   // from the answer; under mutex_
  GstElement* video_jitterbuffer_ = nullptr;  // under mutex_
  mutable std::mutex mutex_;
  Frame last_;
  std::vector<Keyframe> keyframes_;
  std::string offer_;
  bool offer_ready_ = false;
};

}  // namespace jobcast::test
