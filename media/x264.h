#pragma once
// The one x264enc set-up of the node (the 360p rendition, the stage composite
// and its interpreter variant): low latency, cheap, constrained baseline so
// every browser decodes it.

#include <gst/gst.h>

namespace jobcast::media {

struct X264Options {
  int kbps = 800;
  // The encoder's own keyframe interval, in frames. Segment keyframes come
  // from the muxers' requests; this is a backstop.
  int key_int_max = 60;
  // 0: x264's default VBV buffer; else its size in ms.
  unsigned vbv_ms = 0;
  // No keyframes at scene cuts: they would cut HLS segments short.
  bool no_scenecut = false;
};

// Sets `encoder` (an x264enc) up for live streaming.
void configureX264(GstElement* encoder, const X264Options& options);

// The caps an x264enc output capsfilter pins: unpinned, x264enc picks 4:4:4
// high profile for some inputs (DESIGN.md §10).
inline constexpr const char* kBaselineH264Caps =
    "video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au";

}  // namespace jobcast::media
