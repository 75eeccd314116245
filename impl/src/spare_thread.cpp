// The pool behind SpareThread: idle threads wait for a job on their own condition variable; a
// thread that finishes a job goes back to the idle list, or ends when kMaxIdle are idle already.
#include "impl/spare_thread.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace lockstep::impl {

struct SpareThread::Done {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
};

namespace {

constexpr std::size_t kMaxIdle = 8;

struct Worker {
  std::condition_variable cv;            // guarded by the pool's mutex
  std::function<void()> job;
  std::shared_ptr<SpareThread::Done> done;
};

class Pool {
 public:
  static Pool& get() {
    static Pool* p = new Pool;  // never destroyed: idle threads wait on it until the process ends
    return *p;
  }
  void start(std::function<void()> job, std::shared_ptr<SpareThread::Done> done) {
    std::unique_lock lk(m_);
    if (!idle_.empty()) {
      Worker* w = idle_.back();
      idle_.pop_back();
      w->job = std::move(job);
      w->done = std::move(done);
      w->cv.notify_one();
      return;
    }
    lk.unlock();
    auto* w = new Worker;  // owned by its thread
    w->job = std::move(job);
    w->done = std::move(done);
    std::thread([this, w] { serve(w); }).detach();
  }

 private:
  void serve(Worker* w) {
    for (;;) {
      w->job();
      w->job = nullptr;  // what the job captured goes now, not at the next job
      {
        const std::shared_ptr<SpareThread::Done> d = std::move(w->done);
        std::lock_guard g(d->m);
        d->done = true;
        d->cv.notify_all();
      }
      std::unique_lock lk(m_);
      if (idle_.size() >= kMaxIdle) break;
      idle_.push_back(w);
      w->cv.wait(lk, [w] { return static_cast<bool>(w->job); });
    }
    delete w;
  }

  std::mutex m_;
  std::vector<Worker*> idle_;
};

}  // namespace

SpareThread::SpareThread(std::function<void()> job) : done_(std::make_shared<Done>()) {
  Pool::get().start(std::move(job), done_);
}

SpareThread::SpareThread(SpareThread&& o) noexcept : done_(std::move(o.done_)) {}

SpareThread& SpareThread::operator=(SpareThread&& o) noexcept {
  if (this != &o) {
    if (joinable()) join();
    done_ = std::move(o.done_);
  }
  return *this;
}

SpareThread::~SpareThread() {
  if (joinable()) join();
}

void SpareThread::join() {
  std::unique_lock lk(done_->m);
  done_->cv.wait(lk, [this] { return done_->done; });
  lk.unlock();
  done_.reset();
}

void SpareThread::detach() { done_.reset(); }

}  // namespace lockstep::impl
