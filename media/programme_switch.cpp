// Control thread. Stopping what is taken away happens on the teardown worker.

#include "media/programme_switch.h"

#include <gst/video/video.h>

#include "core/log.h"
#include "media/gst_ptr.h"
#include "media/stage_mixer.h"
#include "media/teardown_worker.h"

namespace jobcast::media {
namespace {

// Makes a stage source push into nothing before it is taken away: its
// buffers, events and queries are dropped at its own pad, so it never sees
// its peer go (a source that does posts "not-linked" and fails the pipeline)
// and never waits on the mixer while the mixer is being dismantled.
void silence(const std::vector<GstElement*>& sources) {
  for (GstElement* source : sources) {
    GstPtr<GstPad> pad(gst_element_get_static_pad(source, "src"));
    if (!pad)
      continue;
    gst_pad_add_probe(
        pad.get(),
        GstPadProbeType(GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM | GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM),
        [](GstPad*, GstPadProbeInfo*, gpointer) { return GST_PAD_PROBE_DROP; }, nullptr, nullptr);
  }
}

// Streaming thread. The programme's timeline: buffers re-stamped to running
// time under one segment that starts at zero, so a switch of source (the
// publisher passed through, or the stage composite, each with segments and
// stamps of its own) never moves time backwards for the muxers downstream.
// Later SEGMENT and STREAM_START events are dropped. The same burst at DTLS
// start makes a publisher's stamps step backwards too. No B-frames from
// WebRTC publishers or our encoders: video DTS = PTS.
struct Timeline {
  bool video = false;
  bool started = false;
  bool segment_sent = false;
  GstSegment in;
  GstClockTime last = GST_CLOCK_TIME_NONE;
};

GstPadProbeReturn onTimeline(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* t = static_cast<Timeline*>(data);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    switch (GST_EVENT_TYPE(event)) {
      case GST_EVENT_STREAM_START:
        if (t->started)
          return GST_PAD_PROBE_DROP;
        t->started = true;
        return GST_PAD_PROBE_OK;
      case GST_EVENT_SEGMENT: {
        const GstSegment* segment = nullptr;
        gst_event_parse_segment(event, &segment);
        if (segment->format != GST_FORMAT_TIME)
          return GST_PAD_PROBE_DROP;
        gst_segment_copy_into(segment, &t->in);
        if (t->segment_sent)
          return GST_PAD_PROBE_DROP;
        t->segment_sent = true;
        GstSegment out;
        gst_segment_init(&out, GST_FORMAT_TIME);
        gst_event_unref(event);
        GST_PAD_PROBE_INFO_DATA(info) = gst_event_new_segment(&out);
        return GST_PAD_PROBE_OK;
      }
      default:
        return GST_PAD_PROBE_OK;
    }
  }
  GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!t->segment_sent)
    return GST_PAD_PROBE_DROP;
  GstClockTime pts = GST_BUFFER_PTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(pts))
    pts = GST_BUFFER_DTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(pts))
    return GST_PAD_PROBE_DROP;
  pts = gst_segment_to_running_time(&t->in, GST_FORMAT_TIME, pts);
  if (!GST_CLOCK_TIME_IS_VALID(pts))
    return GST_PAD_PROBE_DROP;
  if (GST_CLOCK_TIME_IS_VALID(t->last) && pts <= t->last)
    pts = t->last + (t->video ? GST_MSECOND : GST_USECOND);
  t->last = pts;
  buffer = gst_buffer_make_writable(buffer);
  GST_BUFFER_PTS(buffer) = pts;
  GST_BUFFER_DTS(buffer) = t->video ? pts : GST_CLOCK_TIME_NONE;
  GST_PAD_PROBE_INFO_DATA(info) = buffer;
  return GST_PAD_PROBE_OK;
}

}  // namespace

void ProgrammeSwitch::keepOneTimeline(GstPad* pad, bool video) {
  auto* t = new Timeline;
  t->video = video;
  gst_segment_init(&t->in, GST_FORMAT_TIME);
  gst_pad_add_probe(
      pad, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      onTimeline, t, [](gpointer d) { delete static_cast<Timeline*>(d); });
}

ProgrammeSwitch::ProgrammeSwitch(GstBin* pipeline, TeardownWorker& worker,
                                 const MediaOptions& options, std::string room, Hooks hooks)
    : pipeline_(pipeline),
      worker_(worker),
      options_(options),
      room_(std::move(room)),
      hooks_(std::move(hooks)) {}

ProgrammeSwitch::~ProgrammeSwitch() {
  mixer_.reset();
}

GstElement* ProgrammeSwitch::add(const char* factory, const char* name) {
  return addElement(pipeline_, factory, name);
}

void ProgrammeSwitch::dispose(std::vector<GstElement*> elements) {
  if (elements.empty())
    return;
  worker_.run([elements, pipeline = sharedRef(pipeline_)] {
    for (GstElement* e : elements)
      gst_element_set_state(e, GST_STATE_NULL);
    for (GstElement* e : elements)
      gst_bin_remove(pipeline.get(), e);
  });
}

Result<bool> ProgrammeSwitch::build(GstElement* video_in, GstElement* audio_in,
                                    GstElement* video_out, GstElement* audio_out) {
  publisher_video_ = add("tee", "publisher-video");
  video_select_ = add("input-selector", "programme-video-select");
  publisher_opus_ = add("tee", "publisher-opus");
  audio_select_ = add("input-selector", "programme-audio-select");
  if (!publisher_video_ || !video_select_ || !publisher_opus_ || !audio_select_)
    return Error{"media_unavailable", "GStreamer element missing: input-selector"};
  for (GstElement* tee : {publisher_video_, publisher_opus_})
    g_object_set(tee, "allow-not-linked", TRUE, nullptr);
  for (GstElement* selector : {video_select_, audio_select_})
    g_object_set(selector, "sync-streams", FALSE, "cache-buffers", FALSE, nullptr);
  select_pass_video_.reset(gst_element_request_pad_simple(video_select_, "sink_%u"));
  select_pass_audio_.reset(gst_element_request_pad_simple(audio_select_, "sink_%u"));
  GstPtr<GstPad> video_src(gst_element_request_pad_simple(publisher_video_, "src_%u"));
  GstPtr<GstPad> audio_src(gst_element_request_pad_simple(publisher_opus_, "src_%u"));
  if (!gst_element_link(video_in, publisher_video_) ||
      gst_pad_link(video_src.get(), select_pass_video_.get()) != GST_PAD_LINK_OK ||
      !gst_element_link(video_select_, video_out)) {
    return Error{"media_error", "cannot link the video input"};
  }
  if (!gst_element_link(audio_in, publisher_opus_) ||
      gst_pad_link(audio_src.get(), select_pass_audio_.get()) != GST_PAD_LINK_OK ||
      !gst_element_link(audio_select_, audio_out)) {
    return Error{"media_error", "cannot link the audio input"};
  }
  g_object_set(video_select_, "active-pad", select_pass_video_.get(), nullptr);
  g_object_set(audio_select_, "active-pad", select_pass_audio_.get(), nullptr);
  return true;
}

void ProgrammeSwitch::askKeyframe() {
  if (state_ == State::Composite && select_mix_video_.get()) {
    // Upstream through the mixer's tee and parser to its encoder.
    gst_pad_push_event(select_mix_video_.get(),
                       gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
    return;
  }
  if (hooks_.ask_publisher_keyframe)
    hooks_.ask_publisher_keyframe();
}

GstPad* ProgrammeSwitch::interpreterVideo() const {
  return mixer_ ? mixer_->interpreterVideoOut() : nullptr;
}

// The stage. Elements are added to the running pipeline and synced to its
// state; what leaves is silenced and unlinked here and stopped on the worker.

bool ProgrammeSwitch::ensureMixer(const std::string& main_caption) {
  if (mixer_)
    return true;
  StageMixer::Options mix;
  mix.width = options_.stage_width;
  mix.height = options_.stage_height;
  mix.fps = options_.stage_fps;
  mix.video_kbps = options_.stage_video_kbps;
  mix.key_interval_frames = options_.stage_fps * 2;
  mixer_ = std::make_unique<StageMixer>(pipeline_, mix, worker_);

  // The main publisher, decoded once for the mixer.
  GstElement* vq = add("queue");
  GstElement* vdec = add("avdec_h264");
  GstElement* aq = add("queue");
  GstElement* adec = add("opusdec");
  if (!vq || !vdec || !aq || !adec) {
    log::error("stage: decoder elements missing", {{"room", room_}});
    return false;
  }
  for (GstElement* q : {vq, aq}) {
    g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
                 static_cast<guint64>(GST_SECOND), nullptr);
    gst_util_set_object_arg(G_OBJECT(q), "leaky", "downstream");
  }
  main_decode_ = {vq, vdec, aq, adec};
  gst_element_link(vq, vdec);
  gst_element_link(aq, adec);
  for (GstElement* e : main_decode_)
    gst_element_sync_state_with_parent(e);
  if (!main_video_tee_pad_.get())
    main_video_tee_pad_.reset(gst_element_request_pad_simple(publisher_video_, "src_%u"));
  if (!main_audio_tee_pad_.get())
    main_audio_tee_pad_.reset(gst_element_request_pad_simple(publisher_opus_, "src_%u"));
  GstPtr<GstPad> vq_sink(gst_element_get_static_pad(vq, "sink"));
  GstPtr<GstPad> aq_sink(gst_element_get_static_pad(aq, "sink"));
  gst_pad_link(main_video_tee_pad_.get(), vq_sink.get());
  gst_pad_link(main_audio_tee_pad_.get(), aq_sink.get());
  GstPtr<GstPad> vraw(gst_element_get_static_pad(vdec, "src"));
  GstPtr<GstPad> araw(gst_element_get_static_pad(adec, "src"));
  auto added =
      mixer_->addInput("main", StageMixer::Slot::Main, main_caption, vraw.get(), araw.get());
  if (!added) {
    log::error("stage: cannot mix the main publisher",
               {{"room", room_}, {"error", added.error().message}});
  }
  // The composite's encoded output, ready on the selectors' second inputs.
  mix_video_src_.reset(gst_element_request_pad_simple(mixer_->videoTee(), "src_%u"));
  mix_audio_src_.reset(gst_element_request_pad_simple(mixer_->audioTee(), "src_%u"));
  if (!select_mix_video_.get())
    select_mix_video_.reset(gst_element_request_pad_simple(video_select_, "sink_%u"));
  if (!select_mix_audio_.get())
    select_mix_audio_.reset(gst_element_request_pad_simple(audio_select_, "sink_%u"));
  gst_pad_link(mix_video_src_.get(), select_mix_video_.get());
  gst_pad_link(mix_audio_src_.get(), select_mix_audio_.get());
  hooks_.ask_publisher_keyframe();  // the decoder starts at the publisher's next keyframe
  log::info("stage mixer started", {{"room", room_}});
  return true;
}

void ProgrammeSwitch::select(bool composite) {
  if (!video_select_ || (!mixer_ && composite))
    return;
  State next = composite ? State::Composite : mixer_ ? State::Standby : State::Passthrough;
  bool changed = (next == State::Composite) != (state_ == State::Composite);
  state_ = next;
  if (!changed)
    return;
  g_object_set(video_select_, "active-pad",
               composite ? select_mix_video_.get() : select_pass_video_.get(), nullptr);
  g_object_set(audio_select_, "active-pad",
               composite ? select_mix_audio_.get() : select_pass_audio_.get(), nullptr);
  // Everything downstream restarts at a keyframe of the new source, and the
  // HLS renditions start a segment there (MediaService marks the segment
  // after the one in progress as a discontinuity).
  askKeyframe();
  if (hooks_.switched)
    hooks_.switched();
  log::info("programme", {{"room", room_}, {"layout", composite ? "composite" : "passthrough"}});
}

void ProgrammeSwitch::dropMixer() {
  if (!mixer_)
    return;
  select(false);
  if (hooks_.interpreter)
    hooks_.interpreter(nullptr);
  // Unlinked, never released: releasing a selector or tee pad waits for any
  // thread pushing through it, and one may be held up downstream for a
  // while. The idle pads stay for the next composite (allow-not-linked).
  for (GstPad* pad : {mix_video_src_.get(), mix_audio_src_.get(), main_video_tee_pad_.get(),
                      main_audio_tee_pad_.get()}) {
    GstPtr<GstPad> peer(gst_pad_get_peer(pad));
    if (peer)
      gst_pad_unlink(pad, peer.get());
  }
  mix_video_src_.reset();  // the mixer's tee goes with the mixer
  mix_audio_src_.reset();
  for (auto& [id, source] : stage_sources_)
    silence(source.elements);
  // The mixer is taken down on the teardown worker. One of its streaming
  // threads may be inside a push into the programme (unlinking does not
  // interrupt a push in progress), held there while a muxer waits for the
  // publisher's next keyframe; that keyframe is asked for from the control
  // thread. Stopping the mixer there would wait for that push, and the push
  // for the control thread: the node stopped answering.
  struct Doomed {
    std::unique_ptr<StageMixer> mixer;
    std::vector<GstElement*> elements;  // decoders and sources, in order
    GstPtr<GstElement> pipeline;        // keeps the bin alive meanwhile
    std::string room;
  };
  auto doomed = std::make_shared<Doomed>();
  doomed->mixer = std::move(mixer_);
  doomed->elements = std::move(main_decode_);
  main_decode_.clear();
  for (auto& [id, source] : stage_sources_) {
    for (GstElement* e : source.elements)
      doomed->elements.push_back(e);
  }
  stage_sources_.clear();
  doomed->pipeline.reset(GST_ELEMENT(gst_object_ref(pipeline_)));
  doomed->room = room_;
  worker_.run([doomed] {
    doomed->mixer.reset();  // removes its inputs and elements
    auto& elements = doomed->elements;
    for (auto it = elements.rbegin(); it != elements.rend(); ++it)
      gst_element_set_state(*it, GST_STATE_NULL);
    for (GstElement* e : elements)
      gst_bin_remove(GST_BIN(doomed->pipeline.get()), e);
    log::info("stage mixer stopped", {{"room", doomed->room}});
  });
  state_ = State::Passthrough;
}

void ProgrammeSwitch::setStage(const std::string& main_caption,
                               const std::vector<StageInput>& inputs) {
  if (!video_select_)
    return;
  if (inputs.empty()) {
    dropMixer();
    return;
  }
  if (!ensureMixer(main_caption))
    return;
  mixer_->setCaption("main", main_caption);
  auto wanted = [&](const std::string& id) {
    for (const auto& i : inputs) {
      if (i.id == id)
        return &i;
    }
    return static_cast<const StageInput*>(nullptr);
  };
  // Leavers first (and a changed channel is a leave and a join).
  for (auto it = stage_sources_.begin(); it != stage_sources_.end();) {
    const StageInput* w = wanted(it->first);
    if (w && w->channel == it->second.input.channel &&
        w->interpreter == it->second.input.interpreter) {
      if (w->caption != it->second.input.caption) {
        mixer_->setCaption(it->first, w->caption);
        it->second.input.caption = w->caption;
      }
      ++it;
      continue;
    }
    if (it->second.input.interpreter && hooks_.interpreter)
      hooks_.interpreter(nullptr);
    silence(it->second.elements);
    mixer_->removeInput(it->first);
    dispose(std::move(it->second.elements));
    it = stage_sources_.erase(it);
  }
  for (const auto& input : inputs) {
    if (stage_sources_.count(input.id))
      continue;
    StageSource source{input, {}};
    GstElement* vsrc = add("intervideosrc");
    GstElement* asrc = input.interpreter ? nullptr : add("interaudiosrc");
    if (!vsrc || (!input.interpreter && !asrc))
      continue;
    g_object_set(vsrc, "channel", (input.channel + "-v").c_str(), nullptr);
    source.elements.push_back(vsrc);
    if (asrc) {
      g_object_set(asrc, "channel", (input.channel + "-a").c_str(), nullptr);
      source.elements.push_back(asrc);
    }
    GstPtr<GstPad> vpad(gst_element_get_static_pad(vsrc, "src"));
    GstPtr<GstPad> apad(asrc ? gst_element_get_static_pad(asrc, "src") : nullptr);
    auto added = mixer_->addInput(
        input.id, input.interpreter ? StageMixer::Slot::Interpreter : StageMixer::Slot::Guest,
        input.caption, vpad.get(), apad.get());
    if (!added) {
      log::warn("stage: participant not mixed",
                {{"room", room_}, {"id", input.id}, {"error", added.error().message}});
      for (GstElement* e : source.elements)
        gst_bin_remove(pipeline_, e);
      continue;
    }
    for (GstElement* e : source.elements)
      gst_element_sync_state_with_parent(e);
    stage_sources_.emplace(input.id, std::move(source));
  }
  select(mixer_->guests() > 0);
  if (mixer_->hasInterpreter() && hooks_.interpreter)
    hooks_.interpreter(mixer_->interpreterTee());
}

}  // namespace jobcast::media
