// The controlled backend: one std::mutex (m_) guards the whole scheduler state; each registered thread
// waits on its own std::condition_variable until the scheduler hands it the token (running_ == it).
// Kernel mutexes and conditions are pure bookkeeping under m_ (owner, FIFO waiter queues), so every
// block, wake and handoff is a scheduler event.
#include "impl/controlled.hpp"

#include "impl/assert.hpp"
#include "impl/coarse_clock.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>

#include "fiber.hpp"

namespace lockstep::impl::sync {

struct ControlledBackend::Rec {
  ThreadId id = 0;  // 0 for an unregistered ("external") thread
  std::string name;
  bool external = false;
  std::thread::id os_id;
  State state = State::runnable;
  Reason reason = Reason::start;
  std::string object;
  Point point = Point::none;   // meaningful while reason == preempted
  std::optional<Ticks> deadline;
  std::uint64_t order = 0;
  std::condition_variable cv;  // this thread waits here for its turn
  int held = 0;                // sync mutexes it owns
  bool timed_out = false;      // result of its last condition wait
  CCond* waiting_on = nullptr; // the condition whose queue holds it
  const CMutex* blocked_on = nullptr;  // the mutex it waits for, until it is handed over
  std::thread thread;          // registered threads only; joined by its ThreadImpl or the destructor
  std::vector<Rec*> joiners;   // registered threads blocked in join() on this one
  // Fiber mode: the registered thread as a fiber, and its slot of thread_slot().
  std::unique_ptr<detail::Fiber> fiber;
  const void* local = nullptr;
  // A watchdog took the control over while it ran: it keeps its old OS thread and from then on
  // waits there like an OS thread of this backend (cv), never suspending as a fiber again.
  bool runaway = false;
};

// Fiber mode's watchdog: what run() arms, per backend. One OS thread watches every backend's
// (watchdog_thread() below); past the deadline it takes the control context over
// (Fiber::take_over), so run() returns on that thread while the runaway keeps the old one.
struct ControlledBackend::Watchdog {
  std::mutex m;
  detail::Fiber* armed = nullptr;  // guarded by m
  std::uint64_t resume_no = 0;
  std::chrono::steady_clock::time_point deadline;
};

namespace {

// The one watchdog thread: it polls the armed runs every few ms (a run() only writes its entry,
// no wake-up), and a thread that takes a control context over starts its successor first.
class WatchdogThread {
 public:
  static WatchdogThread& get() {
    static WatchdogThread* w = new WatchdogThread;  // never destroyed: it outlives every backend
    return *w;
  }
  void add(const std::shared_ptr<ControlledBackend::Watchdog>& w) {
    std::lock_guard g(m_);
    std::erase_if(list_, [](const auto& e) { return e.expired(); });
    list_.push_back(w);
    if (!running_) start_locked();
  }

 private:
  void start_locked() {
    running_ = true;
    std::thread([this] { main(); }).detach();
  }
  void main() {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      std::vector<std::shared_ptr<ControlledBackend::Watchdog>> live;
      {
        std::lock_guard g(m_);
        for (const auto& e : list_)
          if (auto w = e.lock()) live.push_back(std::move(w));
      }
      const auto now = std::chrono::steady_clock::now();
      for (const auto& w : live) {
        std::unique_lock lk(w->m);
        if (w->armed == nullptr || now < w->deadline) continue;
        detail::Fiber* f = std::exchange(w->armed, nullptr);
        // Claimed under w->m: run() disarms under it before its backend may free the fiber, so the
        // fiber is alive here (a claim after unlocking read freed memory when the fiber came back
        // and its program ended in between).
        if (!f->abandon(w->resume_no)) continue;  // it came back first
        lk.unlock();
        {
          // This thread becomes a control thread now: a successor watches from here on.
          std::lock_guard g(m_);
          start_locked();
        }
        // Nothing may stay referenced only from this frame: after a take-over this stack is parked
        // for good, and no leak checker scans it.
        std::vector<std::shared_ptr<ControlledBackend::Watchdog>>().swap(live);
        f->take_over();
      }
    }
  }

  std::mutex m_;
  std::vector<std::weak_ptr<ControlledBackend::Watchdog>> list_;
  bool running_ = false;
};

}  // namespace

struct ControlledBackend::CMutex final : MutexImpl {
  CMutex(ControlledBackend& b, std::string n) : b(b), name_(std::move(n)) {}
  void lock() override { b.lock_mutex(*this); }
  void unlock() override { b.unlock_mutex(*this); }
  bool held() const override { return b.owned_by_caller(*this); }
  const std::string& name() const override { return name_; }
  ControlledBackend& b;
  const std::string name_;
  Rec* owner = nullptr;         // guarded by b.m_
  std::deque<Rec*> waiters;     // guarded by b.m_, FIFO: the handoff order is deterministic
};

struct ControlledBackend::CCond final : CondImpl {
  CCond(ControlledBackend& b, std::string n) : b(b), name(std::move(n)) {}
  WaitStatus wait(MutexImpl& m, const Ticks* deadline) override {
    return b.cond_wait(*this, static_cast<CMutex&>(m), deadline);
  }
  void notify_one() override { b.notify(*this, false); }
  void notify_all() override { b.notify(*this, true); }
  ControlledBackend& b;
  const std::string name;
  std::deque<Rec*> waiters;     // guarded by b.m_
};

class CThread final : public ThreadImpl {
 public:
  CThread(ControlledBackend& b, ControlledBackend::Rec* r) : b_(&b), r_(r) {}
  void join() override;
  std::uint32_t id() const override;

 private:
  ControlledBackend* b_;
  ControlledBackend::Rec* r_;
};

namespace {
std::atomic<std::uint64_t> g_backend_serial{1};
// The registration of the calling thread (registered with at most one backend): set once by an OS
// thread's thread_main, around each resume in fiber mode. Reached through functions the compiler
// cannot fold, because after a watchdog's take-over the control context continues on another OS
// thread, where a thread-local address kept from before the switch would name the old one's slot.
__attribute__((noinline)) ControlledBackend::Rec*& rec_slot() {
  static thread_local ControlledBackend::Rec* rec = nullptr;
  asm volatile("" ::: "memory");
  return rec;
}
__attribute__((noinline)) std::uint64_t& serial_slot() {
  static thread_local std::uint64_t serial = 0;
  asm volatile("" ::: "memory");
  return serial;
}
__attribute__((noinline)) const void*& plain_slot() {
  static thread_local const void* slot = nullptr;
  asm volatile("" ::: "memory");
  return slot;
}
// Registered threads that a destroyed backend could not finish (fiber mode): kept reachable.
std::mutex g_graveyard_mu;
std::vector<std::unique_ptr<ControlledBackend::Rec>>* g_graveyard = new std::vector<std::unique_ptr<ControlledBackend::Rec>>;
}  // namespace

const void*& thread_slot() {
  ControlledBackend::Rec* r = rec_slot();
  if (r != nullptr && r->fiber) return r->local;
  return plain_slot();
}

std::uint32_t CThread::id() const { return r_->id; }  // immutable after spawn

void CThread::join() { b_->join_thread(r_); }

// A registered thread blocks in the scheduler until `target` exits (finished_locked wakes it).
void ControlledBackend::wait_in_join_locked(std::unique_lock<std::mutex>& lk, Rec* me, Rec* target) {
  LOCKSTEP_ASSERT_GUARDS(lk, m_);
  me->state = State::blocked;
  me->reason = Reason::join;
  me->object = target->name;
  me->order = ++seq_;
  target->joiners.push_back(me);
  stop_and_wait(lk, me);
}

void ControlledBackend::join_thread(Rec* target) {
  if (fiber_mode()) {
    std::unique_lock lk(m_);
    Rec* me = find_current_locked(lk);
    if (target->state == State::exited) return;
    if (me != nullptr && !me->external) {
      wait_in_join_locked(lk, me, target);
      return;
    }
    // Under control only run() makes a fiber progress: an unregistered thread that waited here would
    // wait forever (with OS threads, too). Free running, the runner (or a runaway's OS thread) ends it.
    if (!free_ && !target->runaway) misuse("unregistered thread joins '" + target->name + "' under control");
    control_cv_.wait(lk, [&] { return target->state == State::exited; });
    return;
  }
  {
    std::unique_lock lk(m_);
    Rec* me = find_current_locked(lk);
    // A registered thread that waited for the OS thread outside the scheduler would keep the token
    // (RUNNING) while the thread it joins could never be scheduled to finish: a hang of the run.
    if (me != nullptr && !me->external && !free_ && target->state != State::exited) wait_in_join_locked(lk, me, target);
  }
  if (target->thread.joinable()) target->thread.join();
}

ControlledBackend::ControlledBackend() : ControlledBackend(Options{}) {}
ControlledBackend::ControlledBackend(Options opts)
    : opts_(opts), mode_(opts.mode()), serial_(g_backend_serial++) {}

ControlledBackend::~ControlledBackend() {
  release_all();
  if (fiber_mode()) {
    {
      // Every fiber that can still run finishes (the runner runs them); one blocked for good stays
      // as it is, as an OS thread would.
      std::unique_lock lk(m_);
      control_cv_.wait(lk, [&] { return runner_idle_; });
      runner_stop_ = true;
      drive_cv_.notify_all();
    }
    if (runner_.joinable()) runner_.join();
    {
      std::lock_guard lk(m_);
      std::lock_guard g(g_graveyard_mu);
      for (auto& r : recs_)
        if (taken_over_ || (r->fiber && r->fiber->started() && !r->fiber->finished())) g_graveyard->push_back(std::move(r));
    }
    watchdog_.reset();  // the watchdog thread forgets an entry no backend holds
    return;
  }
  for (auto& r : recs_)
    if (r->thread.joinable()) r->thread.join();
}

void ControlledBackend::misuse(const std::string& what) {
  throw std::logic_error("controlled backend: " + what);
}

ControlledBackend::Rec* ControlledBackend::find_current_locked(const std::unique_lock<std::mutex>& lk) const {
  LOCKSTEP_ASSERT_GUARDS(lk, m_);
  if (serial_slot() == serial_) return rec_slot();
  const auto me = std::this_thread::get_id();
  for (auto& e : externals_)
    if (e->os_id == me) return e.get();
  return nullptr;
}

ControlledBackend::Rec* ControlledBackend::current_locked(std::unique_lock<std::mutex>& lk) {
  LOCKSTEP_ASSERT_GUARDS(lk, m_);
  if (Rec* r = find_current_locked(lk)) return r;
  const auto me = std::this_thread::get_id();
  auto e = std::make_unique<Rec>();
  e->external = true;
  e->os_id = me;
  e->name = "external";
  e->state = State::running;
  externals_.push_back(std::move(e));
  return externals_.back().get();
}

bool ControlledBackend::can_run(const Rec* r) const {
  // A fiber runs only when resumed: by run() (running_) or, after release_all(), by a driver that
  // marks it running first.
  if (r->fiber && !r->runaway) return free_ ? r->state == State::running : running_ == r;
  if (r->external || free_) return r->state != State::blocked;
  return running_ == r;
}

void ControlledBackend::stop_and_wait(std::unique_lock<std::mutex>& lk, Rec* r) {
  if (running_ == r) {
    running_ = nullptr;
    if (!r->fiber || r->runaway) control_cv_.notify_all();
  }
  if (r->fiber && !r->runaway) {
    // Back to whoever resumed this fiber (run(), or the runner after release_all()); it resumes it
    // when it may run.
    while (!can_run(r)) {
      lk.unlock();
      detail::Fiber::suspend();
      lk.lock();
    }
  } else {
    r->cv.wait(lk, [&] { return can_run(r); });
  }
  r->state = State::running;
}

bool ControlledBackend::preempts_at(Point p, const Rec& r) const {
  switch (mode_) {
    case Preempt::none: return false;
    case Preempt::locks: return p == Point::lock && r.held == 0;  // between critical sections only
    case Preempt::every_sync_point: return true;
  }
  return false;
}

// Only a registered thread that holds the token stops, and only while the scheduler is in control:
// unregistered threads (the control thread taking a snapshot, posting to a mailbox) run through.
void ControlledBackend::preempt_locked(std::unique_lock<std::mutex>& lk, Rec* r, Point p, const std::string& object) {
  LOCKSTEP_ASSERT_GUARDS(lk, m_);
  if (free_ || r->external || running_ != r || !preempts_at(p, *r)) return;
  if (!opts_.quiet_suffix.empty() && object.ends_with(opts_.quiet_suffix)) return;
  r->state = State::runnable;
  r->reason = Reason::preempted;
  r->point = p;
  r->object = object;
  r->order = ++seq_;
  stop_and_wait(lk, r);
}

void ControlledBackend::make_runnable(Rec* w, Reason why) {
  w->state = State::runnable;
  w->reason = why;
  w->order = ++seq_;
  if (w->fiber && !w->runaway) {
    if (free_) drive_cv_.notify_all();
  } else {
    w->cv.notify_all();
  }
}

Ticks ControlledBackend::now() {
  std::lock_guard lk(m_);
  return now_;
}

std::unique_ptr<MutexImpl> ControlledBackend::make_mutex(std::string name) {
  return std::make_unique<CMutex>(*this, std::move(name));
}

std::unique_ptr<CondImpl> ControlledBackend::make_cond(std::string name) {
  return std::make_unique<CCond>(*this, std::move(name));
}

void ControlledBackend::acquire_locked(std::unique_lock<std::mutex>& lk, CMutex& m, Rec* r) {
  LOCKSTEP_ASSERT_GUARDS(lk, m_);
  while (m.owner != nullptr && m.owner != r) {
    if (r->external && !free_ && !(m.owner->external || m.owner == running_))
      misuse("unregistered thread would block on mutex '" + m.name_ + "' held by stopped thread '" +
             m.owner->name + "'");
    r->state = State::blocked;
    r->reason = Reason::mutex;
    r->object = m.name_;
    r->order = ++seq_;
    r->blocked_on = &m;
    m.waiters.push_back(r);
    stop_and_wait(lk, r);
  }
  r->blocked_on = nullptr;
  if (m.owner != r) {  // not handed over by the previous owner
    m.owner = r;
    ++r->held;
  }
}

void ControlledBackend::lock_mutex(CMutex& m) {
  std::unique_lock lk(m_);
  Rec* r = current_locked(lk);
  if (m.owner == r) misuse("recursive lock of '" + m.name_ + "' by '" + r->name + "'");
  preempt_locked(lk, r, Point::lock, m.name_);
  acquire_locked(lk, m, r);
}

void ControlledBackend::release_locked(std::unique_lock<std::mutex>& lk, CMutex& m, Rec* r) {
  LOCKSTEP_ASSERT_GUARDS(lk, m_);
  --r->held;
  m.owner = nullptr;
  if (!m.waiters.empty()) {  // hand over: the first waiter owns it from now on
    Rec* w = m.waiters.front();
    m.waiters.pop_front();
    m.owner = w;
    ++w->held;
    w->blocked_on = nullptr;
    make_runnable(w, Reason::handed_mutex);
  }
}

// An unregistered thread that never touched this backend owns none of its mutexes (and gets no Rec
// from being asked).
bool ControlledBackend::owned_by_caller(const CMutex& m) const {
  std::unique_lock lk(m_);
  const Rec* r = find_current_locked(lk);
  return r != nullptr && m.owner == r;
}

void ControlledBackend::unlock_mutex(CMutex& m) {
  std::unique_lock lk(m_);
  Rec* r = current_locked(lk);
  if (m.owner != r) misuse("unlock of '" + m.name_ + "' by a thread that does not own it");
  release_locked(lk, m, r);
  // After the unlock, so that another thread can take the mutex before this one goes on.
  preempt_locked(lk, r, Point::unlock, m.name_);
}

WaitStatus ControlledBackend::cond_wait(CCond& c, CMutex& m, const Ticks* deadline) {
  std::unique_lock lk(m_);
  Rec* r = current_locked(lk);
  if (m.owner != r) misuse("wait on '" + c.name + "' without holding '" + m.name_ + "'");
  if (r->external && !free_) misuse("unregistered thread would wait on '" + c.name + "' under control");
  release_locked(lk, m, r);
  r->timed_out = false;
  if (deadline != nullptr && *deadline <= now_) {
    r->timed_out = true;  // already expired: no stop
  } else {
    r->state = State::blocked;
    r->reason = Reason::cond;
    r->object = c.name;
    r->deadline = deadline ? std::optional<Ticks>(*deadline) : std::nullopt;
    r->order = ++seq_;
    r->waiting_on = &c;
    c.waiters.push_back(r);
    stop_and_wait(lk, r);
  }
  r->deadline.reset();
  const WaitStatus st = r->timed_out ? WaitStatus::timed_out : WaitStatus::notified;
  acquire_locked(lk, m, r);  // re-acquiring after a wait is part of the wait: no preemption point
  return st;
}

void ControlledBackend::notify(CCond& c, bool all) {
  std::unique_lock lk(m_);
  // Before the notify: a waiter that is about to wait (or to re-check) may still run first.
  if (Rec* r = find_current_locked(lk)) preempt_locked(lk, r, Point::notify, c.name);
  while (!c.waiters.empty()) {
    Rec* w = c.waiters.front();
    c.waiters.pop_front();
    w->waiting_on = nullptr;
    make_runnable(w, Reason::woken);
    if (!all) break;
  }
}

void ControlledBackend::thread_main(Rec* r, const std::function<void()>& body) {
  rec_slot() = r;
  serial_slot() = serial_;
  {
    std::unique_lock lk(m_);
    r->cv.wait(lk, [&] { return can_run(r); });
    r->state = State::running;
  }
  body();
  std::unique_lock lk(m_);
  finished_locked(r);
}

void ControlledBackend::finished_locked(Rec* r) {
  r->state = State::exited;
  r->reason = Reason::exited;
  for (Rec* j : r->joiners) make_runnable(j, Reason::woken);
  r->joiners.clear();
  if (running_ == r) running_ = nullptr;
  control_cv_.notify_all();  // run(), or a join from outside the scheduler
}

// A fiber is resumed only when it may run, so unlike thread_main it need not wait for its turn.
void ControlledBackend::fiber_main(Rec* r, const std::function<void()>& body) {
  {
    std::unique_lock lk(m_);
    r->state = State::running;
  }
  body();  // an exception escaping it ends the process, as it does an OS thread's
  std::unique_lock lk(m_);
  finished_locked(r);
}

bool ControlledBackend::resume_fiber(std::unique_lock<std::mutex>& lk, Rec* r) {
  LOCKSTEP_ASSERT_GUARDS(lk, m_);
  Rec* const outer_rec = rec_slot();
  const std::uint64_t outer_serial = serial_slot();
  rec_slot() = r;
  serial_slot() = serial_;
  lk.unlock();
  const detail::Fiber::Back back = r->fiber->resume();
  // Possibly on another OS thread now (a watchdog's take-over): these are its slots.
  rec_slot() = outer_rec;
  serial_slot() = outer_serial;
  lk.lock();
  if (back == detail::Fiber::Back::abandoned) {
    taken_over_ = true;
    r->runaway = true;
    return false;
  }
  if (r->fiber->error) std::rethrow_exception(r->fiber->error);
  return true;
}

ControlledBackend::Rec* ControlledBackend::first_runnable_fiber() const {
  Rec* best = nullptr;
  for (auto& r : recs_)
    if (r->fiber && !r->runaway && r->state == State::runnable && (best == nullptr || r->order < best->order)) best = r.get();
  return best;
}

// After release_all() in fiber mode: fibers run here, on their own OS thread, as free-running OS
// threads would, earliest runnable first.
void ControlledBackend::runner_main() {
  std::unique_lock lk(m_);
  while (!runner_stop_) {
    Rec* f = first_runnable_fiber();
    if (f == nullptr) {
      runner_idle_ = true;
      control_cv_.notify_all();
      drive_cv_.wait(lk);
      continue;
    }
    runner_idle_ = false;
    f->state = State::running;
    resume_fiber(lk, f);
  }
}
std::unique_ptr<ThreadImpl> ControlledBackend::spawn(std::string name, std::function<void()> body) {
  Rec* r;
  {
    std::unique_lock lk(m_);
    auto rec = std::make_unique<Rec>();
    rec->id = static_cast<ThreadId>(recs_.size() + 1);
    rec->name = std::move(name);
    rec->state = State::runnable;
    rec->reason = Reason::start;
    rec->order = ++seq_;
    r = rec.get();
    recs_.push_back(std::move(rec));
  }
  if (fiber_mode()) {
    // Made outside m_: it maps (or takes from the pool) the fiber's stack.
    r->fiber = std::make_unique<detail::Fiber>([this, r, body = std::move(body)] { fiber_main(r, body); }, opts_.fiber_stack);
    if (free_) {
      std::unique_lock lk(m_);
      start_runner_locked(lk);
      drive_cv_.notify_all();
    }
  } else {
    r->thread = std::thread([this, r, body = std::move(body)] { thread_main(r, body); });
  }
  {
    // The new thread is runnable now: a spawner that is itself scheduled may be stopped so that the
    // new thread runs first (what the creator publishes after spawn() may not be there yet).
    std::unique_lock lk(m_);
    if (Rec* me = find_current_locked(lk)) preempt_locked(lk, me, Point::spawn, r->name);
  }
  return std::make_unique<CThread>(*this, r);
}

void ControlledBackend::yield_point(const char* what) {
  std::unique_lock lk(m_);
  if (Rec* r = find_current_locked(lk)) preempt_locked(lk, r, Point::yield, what);
}

bool ControlledBackend::wake_spuriously(ThreadId id) {
  std::unique_lock lk(m_);
  if (id == 0 || id > recs_.size()) misuse("wake_spuriously() of unknown thread " + std::to_string(id));
  Rec* w = recs_[id - 1].get();
  if (w->state != State::blocked || w->waiting_on == nullptr) return false;
  auto& q = w->waiting_on->waiters;
  q.erase(std::find(q.begin(), q.end(), w));
  w->waiting_on = nullptr;
  w->timed_out = false;  // as if notified
  make_runnable(w, Reason::spurious);
  return true;
}

bool ControlledBackend::any_stopped_holding_locks() const {
  std::lock_guard lk(m_);
  for (auto& r : recs_)
    if (r.get() != running_ && r->state != State::exited && r->held > 0) return true;
  return false;
}

void ControlledBackend::release_all() {
  std::unique_lock lk(m_);
  free_ = true;
  for (auto& r : recs_) r->cv.notify_all();
  for (auto& r : externals_) r->cv.notify_all();
  control_cv_.notify_all();
  start_runner_locked(lk);
  drive_cv_.notify_all();
}

// Fiber mode after release_all(): the runner, once some fiber may still run. A backend whose threads
// have all exited (as a teardown that ran them down under control leaves it) needs none.
void ControlledBackend::start_runner_locked(std::unique_lock<std::mutex>& lk) {
  LOCKSTEP_ASSERT_GUARDS(lk, m_);
  if (!fiber_mode() || !free_ || runner_.joinable()) return;
  if (std::none_of(recs_.begin(), recs_.end(), [](const auto& r) { return r->fiber && r->state != State::exited; })) return;
  runner_idle_ = false;
  runner_ = SpareThread([this] { runner_main(); });
}

ControlledBackend::ThreadInfo ControlledBackend::info(const Rec& r) {
  const Point p = r.reason == Reason::preempted ? r.point : Point::none;
  return ThreadInfo{r.id, r.name, r.state, r.reason, r.object, r.deadline, r.order, p, r.held};
}

ControlledBackend::RunResult ControlledBackend::run(ThreadId id) { return run(id, opts_.watchdog); }

ControlledBackend::RunResult ControlledBackend::run(ThreadId id, std::chrono::milliseconds watchdog) {
  std::unique_lock lk(m_);
  if (serial_slot() == serial_) misuse("run() called by a registered thread");
  if (free_) misuse("run() after release_all()");
  if (taken_over_) misuse("run() after a watchdog took the control over");
  if (running_ != nullptr) misuse("run() while thread '" + running_->name + "' is still running");
  if (id == 0 || id > recs_.size()) misuse("run() of unknown thread " + std::to_string(id));
  Rec* r = recs_[id - 1].get();
  if (r->state != State::runnable) misuse("run() of thread '" + r->name + "' that is not runnable");
  r->state = State::running;
  running_ = r;
  if (r->fiber) {
    if (!watchdog_) {
      watchdog_ = std::make_shared<Watchdog>();
      WatchdogThread::get().add(watchdog_);
    }
    {
      std::lock_guard g(watchdog_->m);
      watchdog_->armed = r->fiber.get();
      watchdog_->resume_no = r->fiber->resumes() + 1;
      watchdog_->deadline = coarse_steady_now() + watchdog;  // a few ms early at most (coarse_clock.hpp)
    }
    const bool back = resume_fiber(lk, r);
    {
      std::lock_guard g(watchdog_->m);
      watchdog_->armed = nullptr;
    }
    if (!back) return RunResult{Stop::watchdog, info(*r)};
  } else {
    r->cv.notify_all();
    if (!control_cv_.wait_for(lk, watchdog, [&] { return running_ != r; }))
      return RunResult{Stop::watchdog, info(*r)};
  }
  const Stop s = r->state == State::exited    ? Stop::exited
                 : r->state == State::blocked ? Stop::blocked
                                              : Stop::preempted;
  return RunResult{s, info(*r)};
}

std::vector<ControlledBackend::RunResult> ControlledBackend::run_until_quiescent(std::size_t max_runs) {
  std::vector<RunResult> out;
  while (out.size() < max_runs) {
    const auto ids = runnable();
    if (ids.empty()) break;
    out.push_back(run(ids.front()));
    if (out.back().stop == Stop::watchdog) break;
  }
  return out;
}

void ControlledBackend::tick(Ticks n) {
  std::unique_lock lk(m_);
  now_ = clock_after(now_, n);
  std::vector<Rec*> expired;
  auto collect = [&](auto& v) {
    for (auto& r : v)
      if (r->state == State::blocked && r->waiting_on != nullptr && r->deadline && *r->deadline <= now_)
        expired.push_back(r.get());
  };
  collect(recs_);
  collect(externals_);
  std::sort(expired.begin(), expired.end(), [](const Rec* a, const Rec* b) {
    return *a->deadline != *b->deadline ? *a->deadline < *b->deadline : a->order < b->order;
  });
  for (Rec* w : expired) {
    auto& q = w->waiting_on->waiters;
    q.erase(std::find(q.begin(), q.end(), w));
    w->waiting_on = nullptr;
    w->timed_out = true;
    make_runnable(w, Reason::timed_out);
  }
}

std::vector<ControlledBackend::ThreadInfo> ControlledBackend::threads() const {
  std::lock_guard lk(m_);
  std::vector<ThreadInfo> out;
  for (auto& r : recs_) out.push_back(info(*r));
  return out;
}

void ControlledBackend::threads(std::vector<ThreadInfo>& out) const { fill_threads(out, false); }
void ControlledBackend::live_threads(std::vector<ThreadInfo>& out) const { fill_threads(out, true); }

// Into out's elements, which keep their strings' storage from call to call.
void ControlledBackend::fill_threads(std::vector<ThreadInfo>& out, bool live_only) const {
  std::lock_guard lk(m_);
  std::size_t n = 0;
  for (const auto& rec : recs_) {
    const Rec& r = *rec;
    if (live_only && r.state == State::exited) continue;
    if (n == out.size()) out.emplace_back();
    ThreadInfo& t = out[n++];
    t.id = r.id;
    t.name.assign(r.name);
    t.state = r.state;
    t.reason = r.reason;
    t.object.assign(r.object);
    t.deadline = r.deadline;
    t.order = r.order;
    t.point = r.reason == Reason::preempted ? r.point : Point::none;
    t.held = r.held;
  }
  out.resize(n);
}

std::optional<ControlledBackend::ThreadInfo> ControlledBackend::thread(ThreadId id) const {
  std::lock_guard lk(m_);
  if (id == 0 || id > recs_.size()) return std::nullopt;
  return info(*recs_[id - 1]);
}

std::vector<ControlledBackend::ThreadId> ControlledBackend::runnable() const {
  std::lock_guard lk(m_);
  std::vector<const Rec*> rs;
  for (auto& r : recs_)
    if (r->state == State::runnable) rs.push_back(r.get());
  std::sort(rs.begin(), rs.end(), [](const Rec* a, const Rec* b) { return a->order < b->order; });
  std::vector<ThreadId> out;
  for (auto* r : rs) out.push_back(r->id);
  return out;
}

std::optional<ControlledBackend::ThreadId> ControlledBackend::running() const {
  std::lock_guard lk(m_);
  if (running_ == nullptr) return std::nullopt;
  return running_->id;
}

std::optional<Ticks> ControlledBackend::next_deadline() const {
  std::lock_guard lk(m_);
  std::optional<Ticks> best;
  for (auto& r : recs_)
    if (r->state == State::blocked && r->deadline && (!best || *r->deadline < *best)) best = r->deadline;
  return best;
}

bool ControlledBackend::deadlocked() const {
  std::lock_guard lk(m_);
  if (running_ != nullptr) return false;
  bool blocked = false;
  for (auto& r : recs_) {
    if (r->state == State::runnable) return false;
    if (r->state == State::blocked) {
      if (r->deadline) return false;
      blocked = true;
    }
  }
  return blocked;
}

std::string ControlledBackend::lock_cycle() const {
  std::lock_guard lk(m_);
  const std::size_t bound = recs_.size() + externals_.size();
  for (const auto* list : {&recs_, &externals_})
    for (const auto& start : *list) {
      // Follow "waits for a mutex owned by": a walk of more steps than there are threads has met a
      // thread twice, and one that comes back to its start is a cycle through it.
      const Rec* cur = start.get();
      for (std::size_t n = 0; n <= bound && cur->blocked_on != nullptr; ++n) {
        cur = cur->blocked_on->owner;
        if (cur == nullptr) break;
        if (cur != start.get()) continue;
        std::string text;
        do {
          text += (text.empty() ? "" : ", ") + cur->name + " waits for " + cur->blocked_on->name_ + " (held by " + cur->blocked_on->owner->name + ")";
          cur = cur->blocked_on->owner;
        } while (cur != start.get());
        return text;
      }
    }
  return {};
}

bool ControlledBackend::free_running() const {
  std::lock_guard lk(m_);
  return free_;
}

std::optional<ControlledBackend::ThreadId> ControlledBackend::self() const {
  if (serial_slot() == serial_) return rec_slot()->id;
  return std::nullopt;
}

}  // namespace lockstep::impl::sync
