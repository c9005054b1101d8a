// The IDLE pad probe of removeInput() (the interpreter) may run on an upstream
// streaming thread; it only unlinks and queues the rest on the teardown
// worker. The destructor runs on the teardown worker (RoomPipeline drops a
// mixer there). Everything else runs on the control thread.

#include "media/stage_mixer.h"

#include <gst/video/video.h>

#include "core/log.h"
#include "media/teardown_worker.h"
#include "media/x264.h"

namespace jobcast::media {
namespace {

std::string videoCaps(int w, int h, int fps) {
  return "video/x-raw,format=I420,width=" + std::to_string(w) + ",height=" + std::to_string(h) +
         ",framerate=" + std::to_string(fps) + "/1,pixel-aspect-ratio=1/1";
}

void setCaps(GstElement* filter, const std::string& caps) {
  CapsPtr parsed(gst_caps_from_string(caps.c_str()));
  g_object_set(filter, "caps", parsed.get(), nullptr);
}

bool linkAll(const std::vector<GstElement*>& chain) {
  for (size_t i = 1; i < chain.size(); ++i) {
    if (!gst_element_link(chain[i - 1], chain[i]))
      return false;
  }
  return true;
}

}  // namespace

struct StageMixer::Variant {
  std::vector<GstElement*> elements;
  GstElement* compositor = nullptr;
  PadPtr tee_pad;   // request pad on raw_tee_
  PadPtr base_pad;  // the composite's pad on the variant compositor
  PadPtr video_out;
  std::unique_ptr<Input> input;
};

StageMixer::Rect StageMixer::place(const Options& o, Slot slot, int index) {
  int margin = o.height / 30;
  switch (slot) {
    case Slot::Main:
      return {0, 0, o.width, o.height};
    case Slot::Guest: {
      int w = (o.width * 3 / 10) & ~1;
      int h = (w * 9 / 16) & ~1;
      return {o.width - w - margin, o.height - (index + 1) * (h + margin), w, h};
    }
    case Slot::Interpreter: {
      int w = (o.width / 4) & ~1;
      int h = (w * 9 / 16) & ~1;
      return {margin, o.height - h - margin, w, h};
    }
  }
  return {};
}

GstElement* StageMixer::add(const char* factory, const std::string& name) {
  GstElement* element = makeElement(factory, name.empty() ? nullptr : name.c_str());
  if (element)
    gst_bin_add(parent_, element);
  return element;
}

StageMixer::StageMixer(GstBin* parent, Options options, TeardownWorker& worker)
    : parent_(parent), options_(options), worker_(worker) {
  ensureGstreamer();
  const auto& o = options_;
  // A live black picture and live silence under everything keep the output
  // running at a steady rate whatever the participants' streams do.
  GstElement* background = add("videotestsrc");
  g_object_set(background, "is-live", TRUE, nullptr);
  gst_util_set_object_arg(G_OBJECT(background), "pattern", "black");
  GstElement* background_caps = add("capsfilter");
  setCaps(background_caps, videoCaps(o.width, o.height, o.fps));
  compositor_ = add("compositor");
  gst_util_set_object_arg(G_OBJECT(compositor_), "background", "black");
  GstElement* out_caps = add("capsfilter");
  setCaps(out_caps, videoCaps(o.width, o.height, o.fps));
  raw_tee_ = add("tee");
  g_object_set(raw_tee_, "allow-not-linked", TRUE, nullptr);
  GstElement* queue = add("queue");
  g_object_set(queue, "max-size-buffers", 3u, "max-size-bytes", 0u, "max-size-time", guint64{0},
               nullptr);
  // A slow encoder drops composite pictures rather than hold the compositor back.
  gst_util_set_object_arg(G_OBJECT(queue), "leaky", "downstream");
  GstElement* encoder = add("x264enc");
  configureX264(encoder, {.kbps = o.video_kbps, .key_int_max = o.key_interval_frames});
  GstElement* profile = add("capsfilter");
  setCaps(profile, kBaselineH264Caps);
  GstElement* parse = add("h264parse");
  g_object_set(parse, "config-interval", -1, nullptr);
  GstElement* video_tee = video_tee_ = add("tee");
  g_object_set(video_tee, "allow-not-linked", TRUE, nullptr);

  GstElement* silence = add("audiotestsrc");
  g_object_set(silence, "is-live", TRUE, nullptr);
  gst_util_set_object_arg(G_OBJECT(silence), "wave", "silence");
  audiomixer_ = add("audiomixer");
  GstElement* audio_caps = add("capsfilter");
  setCaps(audio_caps, "audio/x-raw,rate=48000,channels=2");
  GstElement* opus = add("opusenc");
  g_object_set(opus, "bitrate", o.audio_bps, nullptr);
  GstElement* audio_tee = audio_tee_ = add("tee");
  g_object_set(audio_tee, "allow-not-linked", TRUE, nullptr);

  elements_ = {background, background_caps, compositor_, out_caps, raw_tee_,
               queue,      encoder,         profile,     parse,    video_tee,
               silence,    audiomixer_,     audio_caps,  opus,     audio_tee};
  linkAll({background, background_caps, compositor_, out_caps, raw_tee_});
  PadPtr tee_src(gst_element_request_pad_simple(raw_tee_, "src_%u"));
  PadPtr queue_sink(gst_element_get_static_pad(queue, "sink"));
  gst_pad_link(tee_src.get(), queue_sink.get());
  linkAll({queue, encoder, profile, parse, video_tee});
  linkAll({silence, audiomixer_, audio_caps, opus, audio_tee});
  video_out_.reset(gst_element_get_static_pad(parse, "src"));
  audio_out_.reset(gst_element_get_static_pad(opus, "src"));
  for (GstElement* e : elements_)
    gst_element_sync_state_with_parent(e);
}

StageMixer::~StageMixer() {
  if (interpreter_)
    removeInterpreter(/*now=*/true);
  // On the teardown worker already: released here, in order, before the
  // fixed part goes.
  for (auto& [id, input] : inputs_)
    release(*input, compositor_);
  inputs_.clear();
  video_out_.reset();
  audio_out_.reset();
  dispose(elements_);
}

void StageMixer::dispose(std::vector<GstElement*>& elements) {
  disposeIn(parent_, elements);
}

void StageMixer::disposeIn(GstBin* parent, std::vector<GstElement*>& elements) {
  // Downstream first: an element going down flushes what an upstream thread
  // may be blocked pushing into it.
  for (auto it = elements.rbegin(); it != elements.rend(); ++it)
    gst_element_set_state(*it, GST_STATE_NULL);
  for (GstElement* e : elements)
    gst_bin_remove(parent, e);
  elements.clear();
}

size_t StageMixer::guests() const {
  size_t n = 0;
  for (const auto& [id, input] : inputs_)
    n += input->slot == Slot::Guest;
  return n;
}

GstPad* StageMixer::interpreterVideoOut() const {
  return interpreter_ ? interpreter_->video_out.get() : nullptr;
}

GstElement* StageMixer::interpreterTee() const {
  return interpreter_ && !interpreter_->elements.empty() ? interpreter_->elements.back() : nullptr;
}

Result<bool> StageMixer::buildVideoChain(Input& input, GstElement* compositor, Rect rect,
                                         int zorder, const std::string& caption) {
  GstElement* queue = add("queue");
  // Never hold the publisher back: drop old frames if the mixer lags.
  g_object_set(queue, "max-size-buffers", 2u, "max-size-bytes", 0u, "max-size-time", guint64{0},
               nullptr);
  gst_util_set_object_arg(G_OBJECT(queue), "leaky", "downstream");
  GstElement* convert = add("videoconvert");
  GstElement* scale = add("videoscale");
  GstElement* caps = add("capsfilter");
  setCaps(caps, "video/x-raw,width=" + std::to_string(rect.width) +
                    ",height=" + std::to_string(rect.height) + ",pixel-aspect-ratio=1/1");
  GstElement* overlay = add("textoverlay");
  if (!queue || !convert || !scale || !caps || !overlay)
    return Error{"media_failed", "mixer elements are missing"};
  g_object_set(overlay, "text", caption.c_str(), "silent", caption.empty() ? TRUE : FALSE,
               "shaded-background", TRUE, "font-desc",
               (rect.width >= options_.width ? "Sans Bold 18" : "Sans Bold 12"), nullptr);
  gst_util_set_object_arg(G_OBJECT(overlay), "valignment", "bottom");
  gst_util_set_object_arg(G_OBJECT(overlay), "halignment", "center");
  input.caption = overlay;
  std::vector<GstElement*> chain = {queue, convert, scale, caps, overlay};
  input.elements.insert(input.elements.end(), chain.begin(), chain.end());
  if (!linkAll(chain))
    return Error{"media_failed", "cannot link the mixer input"};
  input.mixer_video_pad.reset(gst_element_request_pad_simple(compositor, "sink_%u"));
  g_object_set(input.mixer_video_pad.get(), "xpos", rect.x, "ypos", rect.y, "width", rect.width,
               "height", rect.height, "zorder", static_cast<guint>(zorder), nullptr);
  PadPtr overlay_src(gst_element_get_static_pad(overlay, "src"));
  if (gst_pad_link(overlay_src.get(), input.mixer_video_pad.get()) != GST_PAD_LINK_OK)
    return Error{"media_failed", "cannot link to the compositor"};
  input.chain_video_sink.reset(gst_element_get_static_pad(queue, "sink"));
  for (GstElement* e : chain)
    gst_element_sync_state_with_parent(e);
  return true;
}

Result<bool> StageMixer::addInput(const std::string& id, Slot slot, const std::string& caption,
                                  GstPad* video, GstPad* audio) {
  if (inputs_.count(id))
    return Error{"exists", "this participant is already mixed"};
  int guest_index = 0;
  for (const auto& [other_id, other] : inputs_) {
    if (other->slot == slot && slot != Slot::Guest)
      return Error{"stage_full", "that stage slot is taken"};
    guest_index += other->slot == Slot::Guest;
  }
  if (slot == Slot::Interpreter && interpreter_)
    return Error{"stage_full", "an interpreter is on stage already"};
  if (slot == Slot::Guest && guest_index >= 2)
    return Error{"stage_full", "the stage has two guests already"};

  auto input = std::make_unique<Input>();
  input->id = id;
  input->slot = slot;
  GstElement* compositor = compositor_;
  if (slot == Slot::Interpreter) {
    // The variant: the composite as it is, with the interpreter on top, encoded once more.
    interpreter_ = std::make_unique<Variant>();
    auto& v = *interpreter_;
    GstElement* queue = add("queue");
    g_object_set(queue, "max-size-buffers", 2u, "max-size-bytes", 0u, "max-size-time", guint64{0},
                 nullptr);
    gst_util_set_object_arg(G_OBJECT(queue), "leaky", "downstream");
    v.compositor = add("compositor");
    gst_util_set_object_arg(G_OBJECT(v.compositor), "background", "black");
    GstElement* out_caps = add("capsfilter");
    setCaps(out_caps, videoCaps(options_.width, options_.height, options_.fps));
    GstElement* encoder = add("x264enc");
    configureX264(encoder,
                  {.kbps = options_.video_kbps, .key_int_max = options_.key_interval_frames});
    GstElement* profile = add("capsfilter");
    setCaps(profile, kBaselineH264Caps);
    GstElement* parse = add("h264parse");
    g_object_set(parse, "config-interval", -1, nullptr);
    GstElement* tee = add("tee");
    g_object_set(tee, "allow-not-linked", TRUE, nullptr);
    v.elements = {queue, v.compositor, out_caps, encoder, profile, parse, tee};
    linkAll({v.compositor, out_caps, encoder, profile, parse, tee});
    v.base_pad.reset(gst_element_request_pad_simple(v.compositor, "sink_%u"));
    g_object_set(v.base_pad.get(), "zorder", 0u, nullptr);
    PadPtr queue_src(gst_element_get_static_pad(queue, "src"));
    gst_pad_link(queue_src.get(), v.base_pad.get());
    v.video_out.reset(gst_element_get_static_pad(parse, "src"));
    for (GstElement* e : v.elements)
      gst_element_sync_state_with_parent(e);
    v.tee_pad.reset(gst_element_request_pad_simple(raw_tee_, "src_%u"));
    PadPtr queue_sink(gst_element_get_static_pad(queue, "sink"));
    gst_pad_link(v.tee_pad.get(), queue_sink.get());
    compositor = v.compositor;
  }
  Rect rect = place(options_, slot, guest_index);
  int zorder = slot == Slot::Main ? 1 : 2;
  auto built = buildVideoChain(*input, compositor, rect, zorder, caption);
  if (!built) {
    release(*input, compositor);
    return built;
  }
  if (audio && slot != Slot::Interpreter) {
    GstElement* queue = add("queue");
    g_object_set(queue, "max-size-time", guint64{200} * GST_MSECOND, "max-size-buffers", 0u,
                 "max-size-bytes", 0u, nullptr);
    gst_util_set_object_arg(G_OBJECT(queue), "leaky", "downstream");
    GstElement* convert = add("audioconvert");
    GstElement* resample = add("audioresample");
    std::vector<GstElement*> chain = {queue, convert, resample};
    input->elements.insert(input->elements.end(), chain.begin(), chain.end());
    linkAll(chain);
    input->mixer_audio_pad.reset(gst_element_request_pad_simple(audiomixer_, "sink_%u"));
    PadPtr src(gst_element_get_static_pad(resample, "src"));
    gst_pad_link(src.get(), input->mixer_audio_pad.get());
    input->chain_audio_sink.reset(gst_element_get_static_pad(queue, "sink"));
    for (GstElement* e : chain)
      gst_element_sync_state_with_parent(e);
    input->upstream_audio = retain(audio);
    gst_pad_link(audio, input->chain_audio_sink.get());
  }
  input->upstream_video = retain(video);
  if (gst_pad_link(video, input->chain_video_sink.get()) != GST_PAD_LINK_OK) {
    release(*input, compositor);
    return Error{"media_failed", "cannot link the participant's video"};
  }
  inputs_[id] = std::move(input);
  if (slot == Slot::Interpreter)
    interpreter_->input = std::move(inputs_[id]);
  if (slot == Slot::Interpreter)
    inputs_.erase(id);
  log::info("stage input added", {{"id", id}, {"guests", guests()}});
  return true;
}

void StageMixer::release(Input& input, GstElement* compositor) {
  releaseIn(parent_, audiomixer_, input, compositor);
}

void StageMixer::releaseIn(GstBin* parent, GstElement* audiomixer, Input& input,
                           GstElement* compositor) {
  // Flushing the chain first wakes every thread blocked in it or at the
  // mixer's pad (an aggregator drops a lone flush, it does not forward it).
  for (GstPad* sink : {input.chain_video_sink.get(), input.chain_audio_sink.get()}) {
    if (sink)
      gst_pad_send_event(sink, gst_event_new_flush_start());
  }
  // The mixer's pads go first: releasing an aggregator pad flushes it, which
  // wakes an upstream thread waiting there (a serialized query or a full
  // pad). Then the chain stops, which wakes anything waiting in its queue,
  // and only then is it unlinked from upstream. The other way round, a
  // thread blocked in a query held its stream lock and set_state waited on
  // it for ever.
  if (input.mixer_video_pad)
    gst_element_release_request_pad(compositor, input.mixer_video_pad.get());
  if (input.mixer_audio_pad)
    gst_element_release_request_pad(audiomixer, input.mixer_audio_pad.get());
  disposeIn(parent, input.elements);
  for (auto* upstream : {input.upstream_video.get(), input.upstream_audio.get()}) {
    GstPtr<GstPad> peer(upstream ? gst_pad_get_peer(upstream) : nullptr);
    if (peer)
      gst_pad_unlink(upstream, peer.get());
  }
  input = Input{};  // the references go
}

void StageMixer::removeInput(const std::string& id) {
  if (interpreter_ && interpreter_->input && interpreter_->input->id == id) {
    removeInterpreter(/*now=*/false);
    log::info("stage interpreter removed", {{"id", id}});
    return;
  }
  auto it = inputs_.find(id);
  if (it == inputs_.end())
    return;
  // Released on the teardown worker: stopping the input's chain joins its
  // streaming thread. It takes what it needs along.
  std::shared_ptr<Input> input(std::move(it->second));
  inputs_.erase(it);
  layout();
  worker_.run([input, compositor = sharedRef(compositor_), audiomixer = sharedRef(audiomixer_),
               parent = sharedRef(parent_)] {
    releaseIn(parent.get(), audiomixer.get(), *input, compositor.get());
  });
  log::info("stage input removed", {{"id", id}, {"guests", guests()}});
}

void StageMixer::removeInterpreter(bool now) {
  if (now)
    release(*interpreter_->input, interpreter_->compositor);
  // The variant goes as a whole once the raw tee's pad into it is idle: the
  // interpreter's input released, the tee's pad released, the variant's
  // elements stopped and removed, on the teardown worker. What it needs
  // travels with it, so the mixer may be gone by then.
  struct Doomed {
    std::unique_ptr<Variant> variant;
    GObjectPtr<GstElement> raw_tee;
    GObjectPtr<GstElement> audiomixer;
    GObjectPtr<GstBin> parent;
  };
  auto doomed = std::make_shared<Doomed>();
  doomed->variant = std::move(interpreter_);
  doomed->raw_tee = retain(raw_tee_);
  doomed->audiomixer = retain(audiomixer_);
  doomed->parent = retain(parent_);
  auto finish = [doomed] {
    auto& v = *doomed->variant;
    if (v.input)
      releaseIn(doomed->parent.get(), doomed->audiomixer.get(), *v.input, v.compositor);
    gst_element_release_request_pad(doomed->raw_tee.get(), v.tee_pad.get());
    v.tee_pad.reset();
    v.video_out.reset();
    gst_element_release_request_pad(v.compositor, v.base_pad.get());
    v.base_pad.reset();
    disposeIn(doomed->parent.get(), v.elements);
  };
  GstPad* tee_pad = doomed->variant->tee_pad.get();
  if (now) {
    // Already on the worker, with the mixer's sources silenced.
    GstPtr<GstPad> peer(gst_pad_get_peer(tee_pad));
    if (peer)
      gst_pad_unlink(tee_pad, peer.get());
    finish();
    return;
  }
  TeardownWorker* worker = &worker_;
  unlinkWhenIdle(tee_pad, [worker, finish] { worker->run(finish); });
}

void StageMixer::layout() {
  int guest_index = 0;
  for (auto& [id, input] : inputs_) {
    if (input->slot != Slot::Guest || !input->mixer_video_pad)
      continue;
    Rect rect = place(options_, Slot::Guest, guest_index++);
    g_object_set(input->mixer_video_pad.get(), "xpos", rect.x, "ypos", rect.y, nullptr);
  }
}

void StageMixer::setCaption(const std::string& id, const std::string& caption) {
  Input* input = nullptr;
  if (auto it = inputs_.find(id); it != inputs_.end())
    input = it->second.get();
  else if (interpreter_ && interpreter_->input && interpreter_->input->id == id)
    input = interpreter_->input.get();
  if (input && input->caption) {
    g_object_set(input->caption, "text", caption.c_str(), "silent", caption.empty(), nullptr);
  }
}

}  // namespace jobcast::media
