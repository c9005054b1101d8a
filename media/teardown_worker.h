#pragma once
// One owned thread that takes pipelines and parts of running pipelines down:
// a dropped stage mixer, an interpreter variant, a room pipeline going to
// NULL. Changing an element's state to NULL joins its streaming threads, and
// one of them may be waiting (for a keyframe the control thread asks for, on
// a full queue), so it never happens on the control thread.
//
// Jobs run one at a time in the order they were queued (a mixer dropped
// before its pipeline stops is gone before the pipeline goes to NULL). The
// destructor runs what is still queued and joins the thread. Jobs run on the
// worker's thread: they touch GStreamer objects they hold references to and
// post anything else back to the control thread.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace jobcast::media {

class TeardownWorker {
 public:
  TeardownWorker();
  ~TeardownWorker();  // runs every queued job, then joins
  TeardownWorker(const TeardownWorker&) = delete;
  TeardownWorker& operator=(const TeardownWorker&) = delete;

  // Queues a job. Safe from any thread, a streaming thread included.
  void run(std::function<void()> job);
  // Jobs queued or running; for tests and logs.
  size_t pending() const;

 private:
  void work();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  size_t running_ = 0;
  bool quitting_ = false;
  std::thread thread_;  // last: starts once the rest is ready
};

}  // namespace jobcast::media
