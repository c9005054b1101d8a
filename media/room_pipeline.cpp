// Runs on the control thread except the pad probes marked "streaming thread".

#include "media/room_pipeline.h"

#include <string>
#include <utility>

#include "core/log.h"
#include "media/teardown_worker.h"

namespace jobcast::media {

RoomPipeline::RoomPipeline(Loop& loop, TeardownWorker& worker, const MediaOptions& options,
                           Setup setup, Events events, Post post)
    : loop_(loop),
      worker_(worker),
      options_(options),
      setup_(std::move(setup)),
      events_(std::move(events)),
      post_(std::move(post)) {}

RoomPipeline::~RoomPipeline() {
  stop_timer_.cancel();
  bus_watch_.reset();
  releaseAll();
  pipeline_.reset();
}

void RoomPipeline::releaseAll() {
  if (!pipeline_)
    return;
  // Stopped first, so the mixer's removal finds every pad idle.
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  ingest_.reset();
  guest_.reset();
  ladder_.reset();
  recorder_.reset();
  switch_.reset();
}

Result<std::unique_ptr<RoomPipeline>> RoomPipeline::create(Loop& loop, TeardownWorker& worker,
                                                           const MediaOptions& options, Setup setup,
                                                           Events events, Post post) {
  JOBCAST_ASSERT_LOOP_THREAD(loop);
  std::unique_ptr<RoomPipeline> p(new RoomPipeline(loop, worker, options, std::move(setup),
                                                   std::move(events), std::move(post)));
  auto built = p->build();
  if (!built)
    return built.error();
  return p;
}

GstElement* RoomPipeline::add(const char* factory, const char* name) {
  return addElement(GST_BIN(pipeline_.get()), factory, name);
}

Result<bool> RoomPipeline::build() {
  std::string name = "room-" + setup_.room + "-" + setup_.session;
  pipeline_.reset(gst_pipeline_new(name.c_str()));
  gst_object_ref_sink(pipeline_.get());
  auto missing = [](const char* what) {
    return Error{"media_unavailable", std::string("GStreamer element missing: ") + what};
  };

  Ingest::Events in;
  in.answer = [this](Result<std::string> answer) {
    if (events_.answer)
      events_.answer(std::move(answer));
  };
  in.flowing = [this] {
    if (events_.flowing)
      events_.flowing();
  };
  in.gone = [this](const std::string& reason) {
    if (events_.gone)
      events_.gone(reason);
  };
  Post post = post_;
  ingest_ = std::make_unique<Ingest>(loop_, GST_BIN(pipeline_.get()), options_, setup_.room,
                                     setup_.session, std::move(in),
                                     [post](std::function<void(Ingest&)> task) {
                                       post([task = std::move(task)](RoomPipeline& p) {
                                         if (p.ingest_)
                                           task(*p.ingest_);
                                       });
                                     });
  auto ingested = ingest_->build();
  if (!ingested)
    return ingested;
  const bool guest = setup_.role == Role::Guest;

  // Programme audio: Opus kept for WebRTC viewers, decoded once, AAC encoded once.
  GstElement* vcaps = ingest_->videoOut();
  GstElement* adepay = ingest_->audioOut();
  video_tee_ = add("tee", "programme-video");
  GstElement* opus_tee = opus_tee_ = add("tee", "programme-opus");
  if (!video_tee_ || !opus_tee)
    return missing("tee");
  g_object_set(video_tee_, "allow-not-linked", TRUE, nullptr);
  g_object_set(opus_tee, "allow-not-linked", TRUE, nullptr);
  if (guest) {
    if (!gst_element_link(vcaps, video_tee_) || !gst_element_link(adepay, opus_tee))
      return Error{"media_error", "cannot link the guest's input"};
  } else {
    // Passthrough or composite: the switch picks what the programme is.
    ProgrammeSwitch::Hooks hooks;
    hooks.ask_publisher_keyframe = [this] { ingest_->requestKeyframe(); };
    hooks.switched = [this] {
      // The HLS renditions start a segment at the new source's keyframe
      // (MediaService marks the segment after the one in progress as a
      // discontinuity).
      if (ladder_)
        ladder_->splitNow();
    };
    hooks.interpreter = [this](GstElement* variant_tee) {
      if (!ladder_)
        return;
      if (variant_tee)
        ladder_->addInterpreter(variant_tee);
      else
        ladder_->dropInterpreter();
    };
    switch_ = std::make_unique<ProgrammeSwitch>(GST_BIN(pipeline_.get()), worker_, options_,
                                                setup_.room, std::move(hooks));
    auto built = switch_->build(vcaps, adepay, video_tee_, opus_tee);
    if (!built)
      return built;
  }
  {
    // One timeline for the programme, whichever source the selector passes.
    GstPtr<GstPad> pad(gst_element_get_static_pad(video_tee_, "sink"));
    ProgrammeSwitch::keepOneTimeline(pad.get(), true);
  }

  GstElement* aq = add("queue");
  GstElement* adec = add("opusdec");
  GstElement* aconv = add("audioconvert");
  GstElement* ares = add("audioresample");
  GstElement* acaps = add("capsfilter");
  GstElement* aenc = add("voaacenc");
  GstElement* aparse = add("aacparse");
  aac_tee_ = add("tee", "programme-aac");
  if (!aq || !adec || !aconv || !ares || !acaps || !aenc || !aparse || !aac_tee_) {
    return missing("rtpopusdepay/opusdec/voaacenc/aacparse");
  }
  g_object_set(aac_tee_, "allow-not-linked", TRUE, nullptr);
  CapsPtr raw(gst_caps_from_string("audio/x-raw,format=S16LE,rate=48000,channels=2"));
  g_object_set(acaps, "caps", raw.get(), nullptr);
  g_object_set(aenc, "bitrate", options_.audio_kbps * 1000, nullptr);
  // The decoded sound also feeds the audio-only rendition's own encoder.
  GstElement* pcm_tee = guest ? nullptr : add("tee", "programme-pcm");
  GstElement* pcm_queue = guest ? nullptr : add("queue");
  if (!guest && (!pcm_tee || !pcm_queue))
    return missing("tee/queue");
  if (pcm_tee)
    g_object_set(pcm_tee, "allow-not-linked", TRUE, nullptr);
  if (!gst_element_link_many(opus_tee, aq, adec, aconv, ares, acaps, nullptr) ||
      (!guest &&
       !gst_element_link_many(acaps, pcm_tee, pcm_queue, aenc, aparse, aac_tee_, nullptr))) {
    return Error{"media_error", "cannot link the audio input"};
  }
  if (!guest) {
    GstPtr<GstPad> pad(gst_element_get_static_pad(opus_tee, "sink"));
    ProgrammeSwitch::keepOneTimeline(pad.get(), false);
  }
  {
    // Publishers send a burst of queued audio when DTLS comes up, and the jitter
    // buffer's arrival-time stamps then jump backwards, which splitmuxsink
    // rejects. Audio is continuous: stamp it by sample count from its first
    // buffer, moving forward only across real gaps. Streaming thread.
    struct Clock {
      GstClockTime base = GST_CLOCK_TIME_NONE;
      guint64 samples = 0;
    };
    GstPtr<GstPad> pad(gst_element_get_static_pad(acaps, "src"));
    gst_pad_add_probe(
        pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
        +[](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
          auto* clock = static_cast<Clock*>(data);
          GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
          guint64 n = gst_buffer_get_size(buffer) / 4;  // S16LE stereo
          GstClockTime pts = GST_BUFFER_PTS(buffer);
          GstClockTime next =
              GST_CLOCK_TIME_IS_VALID(clock->base)
                  ? clock->base + gst_util_uint64_scale(clock->samples, GST_SECOND, 48000)
                  : GST_CLOCK_TIME_NONE;
          if (!GST_CLOCK_TIME_IS_VALID(next) ||
              (GST_CLOCK_TIME_IS_VALID(pts) && pts > next + 200 * GST_MSECOND)) {
            if (!GST_CLOCK_TIME_IS_VALID(pts))
              return GST_PAD_PROBE_DROP;
            clock->base = pts;
            clock->samples = 0;
            next = pts;
          }
          buffer = gst_buffer_make_writable(buffer);
          GST_BUFFER_PTS(buffer) = next;
          GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
          GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale(n, GST_SECOND, 48000);
          clock->samples += n;
          GST_PAD_PROBE_INFO_DATA(info) = buffer;
          return GST_PAD_PROBE_OK;
        },
        new Clock, [](gpointer d) { delete static_cast<Clock*>(d); });
  }

  if (guest) {
    guest_ = std::make_unique<GuestInput>(GST_BIN(pipeline_.get()), setup_.stage_channel);
    auto built = guest_->build(video_tee_, acaps);
    if (!built)
      return built;
  } else {
    ladder_ = std::make_unique<HlsLadder>(GST_BIN(pipeline_.get()), worker_, options_,
                                          [this](const std::string& rendition, double seconds,
                                                 std::shared_ptr<const std::string> bytes) {
                                            if (stopping() || !events_.segment)
                                              return;
                                            events_.segment(rendition, seconds, std::move(bytes),
                                                            ladder_->format(rendition));
                                          });
    ladder_->onPart([this](const std::string& rendition, const cmaf::Part& part) {
      if (stopping() || !events_.part)
        return;
      events_.part(rendition, part, ladder_->format(rendition));
    });
    auto ladder = ladder_->build(setup_.renditions, video_tee_, aac_tee_, pcm_tee);
    if (!ladder)
      return ladder;
  }
  if (!guest && !setup_.recording_dir.empty()) {
    recorder_ = std::make_unique<Recorder>(GST_BIN(pipeline_.get()), options_, setup_.recording_dir,
                                           [this](const RecordingPiece& piece) {
                                             if (events_.recording_closed)
                                               events_.recording_closed(piece);
                                             if (stopping())
                                               finishStop();
                                           });
    auto rec = recorder_->build(video_tee_, aac_tee_);
    if (!rec)
      return rec;
  }

  GstPtr<GstBus> bus(gst_element_get_bus(pipeline_.get()));
  GSource* watch = gst_bus_create_watch(bus.get());
  g_source_set_callback(
      watch, G_SOURCE_FUNC(+[](GstBus*, GstMessage* message, gpointer self) -> gboolean {
        return static_cast<RoomPipeline*>(self)->onBusMessage(message) ? TRUE : FALSE;
      }),
      this, nullptr);
  loop_.attach(watch);
  bus_watch_.reset(watch);
  return true;
}

void RoomPipeline::negotiate(SdpPtr offer, std::vector<OfferedMedia> media) {
  ingest_->negotiate(std::move(offer), std::move(media));
}

void RoomPipeline::askKeyframe() {
  if (switch_)
    switch_->askKeyframe();
  else if (ingest_)
    ingest_->requestKeyframe();
}

bool RoomPipeline::onBusMessage(GstMessage* message) {
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ERROR: {
      GError* error = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(message, &error, &debug);
      std::string text = error ? error->message : "error";
      log::error("media pipeline error", {{"room", setup_.room},
                                          {"session", setup_.session},
                                          {"element", GST_OBJECT_NAME(GST_MESSAGE_SRC(message))},
                                          {"error", text},
                                          {"debug", debug ? debug : ""}});
      if (error)
        g_error_free(error);
      g_free(debug);
      if (ingest_)
        ingest_->fail(text);
      break;
    }
    case GST_MESSAGE_ELEMENT:
      if (ladder_ && ladder_->onFragmentMessage(message))
        break;
      if (recorder_)
        recorder_->onFragmentMessage(message);
      break;
    default:
      break;
  }
  return true;
}

// The stage (control thread). Elements are added to the running pipeline and
// synced to its state; removal unlinks at an idle moment of the upstream pad.

void RoomPipeline::setStage(const std::string& main_caption,
                            const std::vector<StageInput>& inputs) {
  if (switch_ && !stopping() && pipeline_)
    switch_->setStage(main_caption, inputs);
}

GstPad* RoomPipeline::interpreterVideo() const {
  return switch_ ? switch_->interpreterVideo() : nullptr;
}

void RoomPipeline::stop(std::function<void()> done) {
  if (done)
    stop_waiters_.push_back(std::move(done));
  if (stopping())
    return;
  state_ = State::Stopping;
  if (ladder_)
    ladder_->stop();
  if (ingest_)
    ingest_->stop();
  if (recorder_ && recorder_->finish()) {
    // The recorder closes its piece (the MP4's moov) before the pipeline
    // goes, with a watchdog in case it never reports the piece closed.
    stop_timer_.start(loop_, std::chrono::milliseconds(4000), [this] {
      log::warn("recording did not finish in time", {{"room", setup_.room}});
      finishStop();
      return false;
    });
    return;
  }
  post_([](RoomPipeline& p) { p.finishStop(); });
}

namespace {

// Pool thread. A splitmuxsink input (an HLS rendition, the recorder) can be
// parked waiting for its other stream to reach the same cut point; when that
// stream has stopped (the publisher left, the mixer went), the state change to
// NULL would wait for it forever. A flush-start on its sink pads (not
// serialized, so it does not wait for the parked thread) wakes it; the
// pipeline is going anyway and every finished piece is already closed.
void wakeSplitmuxWaiters(GstElement* pipeline) {
  GstIterator* it = gst_bin_iterate_recurse(GST_BIN(pipeline));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    auto* element = GST_ELEMENT(g_value_get_object(&item));
    GstElementFactory* factory = gst_element_get_factory(element);
    if (factory && std::string(GST_OBJECT_NAME(factory)) == "splitmuxsink") {
      GstIterator* pads = gst_element_iterate_sink_pads(element);
      GValue pad = G_VALUE_INIT;
      while (gst_iterator_next(pads, &pad) == GST_ITERATOR_OK) {
        gst_pad_send_event(GST_PAD(g_value_get_object(&pad)), gst_event_new_flush_start());
        g_value_reset(&pad);
      }
      g_value_unset(&pad);
      gst_iterator_free(pads);
    }
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
}

}  // namespace

void RoomPipeline::finishStop() {
  if (!pipeline_ || state_ >= State::GoingNull)
    return;
  state_ = State::GoingNull;
  stop_timer_.cancel();
  bus_watch_.reset();
  // The state change to NULL joins every streaming thread; one that waits on
  // something (a serialized event, a keyframe) would hold the node's control
  // thread for as long. Nor may it wait behind the teardown worker: a mixer
  // being dropped there can be stuck in a push into a queue that only this
  // state change flushes (the ladder has stopped reading it), so the worker
  // would wait for the pipeline and the pipeline for the worker. It runs on
  // GStreamer's thread pool, and the rest of the teardown comes back to the
  // control thread when it is done.
  gst_element_call_async(
      pipeline_.get(),
      [](GstElement* pipeline, gpointer data) {
        wakeSplitmuxWaiters(pipeline);
        gst_element_set_state(pipeline, GST_STATE_NULL);
        (*static_cast<Post*>(data))([](RoomPipeline& p) { p.afterNull(); });
      },
      new Post(post_), [](gpointer data) { delete static_cast<Post*>(data); });
}

void RoomPipeline::afterNull() {
  releaseAll();  // the pipeline is in NULL already: only references go
  pipeline_.reset();
  state_ = State::Stopped;
  auto waiters = std::move(stop_waiters_);
  stop_waiters_.clear();
  for (auto& w : waiters)
    w();  // may destroy this object: nothing after
}

}  // namespace jobcast::media
