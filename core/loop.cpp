#include "core/loop.h"

#include <utility>

#include "core/guard.h"

namespace jobcast {

struct Timer::State {
  std::function<bool()> fn;
  Timer* owner;
};

Timer::Timer(Timer&& other) noexcept
    : source_(std::exchange(other.source_, nullptr)), state_(std::move(other.state_)) {
  if (state_)
    state_->owner = this;
}

Timer& Timer::operator=(Timer&& other) noexcept {
  if (this != &other) {
    cancel();
    source_ = std::exchange(other.source_, nullptr);
    state_ = std::move(other.state_);
    if (state_)
      state_->owner = this;
  }
  return *this;
}

void Timer::start(Loop& loop, std::chrono::milliseconds delay, std::function<bool()> fn) {
  cancel();
  state_ = std::make_shared<State>(State{std::move(fn), this});
  source_ = loop.clock().timeoutSource(delay);
  auto* keep = new std::shared_ptr<State>(state_);
  g_source_set_callback(
      source_,
      [](gpointer data) -> gboolean {
        // Hold a reference: fn may destroy or restart the Timer that owns it.
        std::shared_ptr<State> state = *static_cast<std::shared_ptr<State>*>(data);
        // A timer that throws keeps its schedule: the next tick may succeed.
        bool again = true;
        guarded("timer", [&] { again = state->fn && state->fn(); });
        if (!again && state->owner && state->owner->state_ == state) {
          // Source finishes by returning FALSE; drop our handle without destroying it twice.
          Timer* owner = state->owner;
          g_source_unref(owner->source_);
          owner->source_ = nullptr;
          owner->state_.reset();
        }
        return again ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
      },
      keep, [](gpointer data) { delete static_cast<std::shared_ptr<State>*>(data); });
  loop.attach(source_);
}

void Timer::cancel() {
  if (source_) {
    g_source_destroy(source_);
    g_source_unref(source_);
    source_ = nullptr;
  }
  if (state_) {
    // fn may be running right now (cancel from inside the callback): leave it to
    // die with the last reference to the state.
    state_->owner = nullptr;
    state_.reset();
  }
}

Loop::Loop(Clock& clock)
    : clock_(clock),
      context_(g_main_context_new()),
      loop_(g_main_loop_new(context_, FALSE)),
      owner_(std::this_thread::get_id()) {}

Loop::~Loop() {
  drain();
  g_main_loop_unref(loop_);
  g_main_context_unref(context_);
}

void Loop::run() {
  g_assert(isThreadSafe());
  g_main_context_push_thread_default(context_);
  g_main_loop_run(loop_);
  g_main_context_pop_thread_default(context_);
}

void Loop::quit() {
  if (isThreadSafe()) {
    g_main_loop_quit(loop_);
  } else {
    post([this] { g_main_loop_quit(loop_); });
  }
}

void Loop::drain(int max_iterations) {
  for (int i = 0; i < max_iterations && g_main_context_iteration(context_, FALSE); ++i) {
  }
}

void Loop::post(std::function<void()> fn) {
  GSource* source = g_idle_source_new();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  auto* boxed = new std::function<void()>(std::move(fn));
  g_source_set_callback(
      source,
      [](gpointer data) -> gboolean {
        guarded("posted task", *static_cast<std::function<void()>*>(data));
        return G_SOURCE_REMOVE;
      },
      boxed, [](gpointer data) { delete static_cast<std::function<void()>*>(data); });
  g_source_attach(source, context_);
  g_source_unref(source);
}

}  // namespace jobcast
