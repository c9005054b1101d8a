#pragma once
// A stand-alone encoded programme for media tests: a live solid-colour picture
// (or the moving test pattern) and a sine tone, H.264 (pinned constrained
// baseline, I420) and Opus, exactly what a room's programme tap carries.

#include <gst/gst.h>

#include <cstdint>
#include <string>

namespace jobcast::test {

class TestProgramme {
 public:
  struct Options {
    int width = 640;
    int height = 360;
    int fps = 30;
    int bitrate_kbps = 800;
    // 0xRRGGBB solid colour, or -1 for the moving SMPTE pattern.
    int64_t colour = 0xff0000;
    int tone_hz = 440;
    int keyframe_interval_s = 2;  // unless asked for one sooner
  };
  TestProgramme() : TestProgramme(Options{}) {}
  explicit TestProgramme(Options options);
  ~TestProgramme();

  GstElement* pipeline() const { return pipeline_; }
  GstPad* videoPad() const { return video_pad_; }  // h264parse src
  GstPad* audioPad() const { return audio_pad_; }  // opusenc src
  // Keyframes the encoder produced so far.
  uint64_t keyframes() const;

 private:
  GstElement* pipeline_ = nullptr;
  GstPad* video_pad_ = nullptr;
  GstPad* audio_pad_ = nullptr;
  struct Counter;
  Counter* counter_ = nullptr;
};

}  // namespace jobcast::test
