#include "instance.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "impl/spare_thread.hpp"

namespace lockstep::checker {

namespace {

// Abandoned instances. Never destroyed, not even at exit (a stuck thread may still run then):
// what they hold stays reachable, so leak checkers stay quiet about instances we chose to keep.
std::mutex graveyard_lock;
std::vector<std::shared_ptr<Instance>>* graveyard = new std::vector<std::shared_ptr<Instance>>;

std::string state_name(const Sched::ThreadInfo& t) {
  switch (t.state) {
    case Sched::State::running: return "running (stuck)";
    case Sched::State::blocked: return "blocked on " + t.object;
    case Sched::State::runnable: return "runnable";
    case Sched::State::exited: return "exited";
  }
  return "?";
}

// Turns the teardown's run-down may take: as a step's settling (lockstep.cpp), a livelock past it.
constexpr std::size_t kMaxRunDownTurns = 100000;

bool all_exited(const Sched& s) {
  for (const Sched::ThreadInfo& t : s.threads())
    if (t.state != Sched::State::exited) return false;
  return true;
}

// The usual end of a program, on the caller's thread and under the scheduler: every kernel wait
// interrupted, every mailbox closed, then every runnable thread run (earliest first, as the free
// runner would) until none is. True when every thread has exited: nothing is left that could block
// the rest of the teardown. False (a thread blocked for good or spinning, a lock held by a stopped
// thread, a scheduler a watchdog took over): the bounded teardown goes on from where this stopped
// (each of these actions may be done again). Handing the whole teardown to a helper thread and a
// free-running fiber runner cost about a fifth of a short program's time in thread hand-offs.
// Bounded by `budget` (each run's watchdog, and the whole run-down: past it, the rest is left to the
// bounded teardown).
bool run_down_in_control(Instance& inst, std::chrono::milliseconds budget) {
  const auto until = std::chrono::steady_clock::now() + budget;
  Sched& s = *inst.sched;
  try {
    // Nothing may hold a sync mutex the actions below take, nor be running (a runaway a watchdog
    // left behind, stuck where no scheduler sees it, may hold one no snapshot of the scheduler shows).
    if (s.free_running()) return false;
    for (const Sched::ThreadInfo& t : s.threads())
      if (t.state == Sched::State::running || t.held > 0) return false;
    inst.kernel->interrupt_waits_in_control();
    for (auto& h : inst.hosts) h->mbox->quit();
    for (auto& k : inst.kthreads) k->mbox->quit();
    for (std::size_t turns = 0;; ++turns) {
      const std::vector<Sched::ThreadId> runnable = s.runnable();
      if (runnable.empty()) break;
      if (turns == kMaxRunDownTurns || std::chrono::steady_clock::now() >= until) return false;
      if (s.run(runnable.front(), budget).stop == Sched::Stop::watchdog) return false;
    }
    return all_exited(s);
  } catch (const std::exception&) {
    return false;  // run() refused: a watchdog took the scheduler over during the program
  }
}

}  // namespace

std::function<void()> Instance::kthread_body(OpThread* a) const {
  Sched* s = sched.get();
  return [s, a] {
    a->newp_at_start = a->newp;  // the body's first instruction
    a->tid = s->self().value_or(0);
    a->mbox->serve();
  };
}

std::unique_ptr<Instance> make_instance(const LockstepConfig& c) {
  auto inst = std::make_unique<Instance>();
  Sched::Options options{false, c.watchdog};
  options.fibers = c.fibers;
  // A strategy that interleaves stops threads inside operations, at every sync point.
  if (effective(c.schedule).kind != Strategy::Kind::Op) options.preempt = Sched::Preempt::every_sync_point;
  // The op threads' mailboxes are the checker's, not the kernel's: no switch points there.
  options.quiet_suffix = std::string(impl::sync::mailbox_suffix);
  inst->sched = std::make_shared<Sched>(options);
  impl::KernelConfig kc;
  kc.maxproc = c.program.maxproc;
  kc.pid_max = c.program.pid_max;
  kc.backend = inst->sched;
  kc.faults = c.faults;
  kc.panic_hook = [](const impl::PanicInfo&) {};  // returning makes the op throw impl::Panic
  inst->kernel = std::make_unique<impl::Kernel>(kc);
  const int n = c.program.chooser.hosts;
  for (int i = 0; i <= n; ++i) {  // H0..H{n-1}, then the reaper
    auto a = std::make_unique<OpThread>();
    a->name = i < n ? fmt::format("H{}", i) : "reaper";
    a->ctx = std::make_unique<impl::HostContext>(*inst->kernel, a->name);
    a->mbox = std::make_unique<Mailbox>(*inst->sched, a->name);
    inst->host_index[a->ctx->id()] = i;
    OpThread* raw = a.get();
    Sched* sched = inst->sched.get();  // the thread may outlive its runner (an abandoned instance)
    a->thread = inst->sched->spawn(a->name, [sched, raw] {
      raw->tid = sched->self().value_or(0);
      raw->mbox->serve();
    });
    inst->hosts.push_back(std::move(a));
  }
  return inst;
}

OpThread* add_kthread_op_thread(Instance& inst) {
  auto a = std::make_unique<OpThread>();
  a->name = fmt::format("kthread#{}", inst.kthreads.size());
  a->mbox = std::make_unique<Mailbox>(*inst.sched, "kthread");
  inst.kthreads.push_back(std::move(a));
  return inst.kthreads.back().get();
}

std::optional<std::string> teardown(std::unique_ptr<Instance> owned, std::chrono::milliseconds grace) {
  const auto began = std::chrono::steady_clock::now();
  if (run_down_in_control(*owned, grace / 2)) {
    // Every thread has exited: joining them and destroying the contexts and the kernel cannot wait.
    for (auto& h : owned->hosts) h->thread->join();
    for (auto& h : owned->hosts) h->ctx.reset();
    owned->kernel.reset();
    return std::nullopt;
  }
  grace = std::max(grace / 2, grace - std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began));
  std::shared_ptr<Instance> inst(std::move(owned));
  struct Done {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    bool joining = false;  // every thread has been released and every wait and mailbox ended
  };
  auto done = std::make_shared<Done>();
  // Each action may block on a lock a stuck thread holds, so none of them runs on the caller's thread.
  impl::SpareThread helper([inst, done] {
    inst->sched->release_all();
    inst->kernel->interrupt_waits();  // every caller blocked in a kernel wait returns
    for (auto& h : inst->hosts) h->mbox->quit();
    for (auto& k : inst->kthreads) k->mbox->quit();  // expected by the model or not
    {
      std::lock_guard g(done->m);
      done->joining = true;
    }
    for (auto& h : inst->hosts) h->thread->join();
    for (auto& h : inst->hosts) h->ctx.reset();
    inst->kernel.reset();  // joins the kthreads, which left their mailboxes
    std::lock_guard g(done->m);
    done->done = true;
    done->cv.notify_all();
  });
  // Once nothing is left to wake anyone, a thread still blocked on a sync object is blocked for
  // good (free-running time does not advance, so no timed wait expires either): no need to wait out
  // the grace period for it. A thread shown as running may be spinning or stuck outside the sync
  // layer, and only the grace period can tell.
  auto stuck_for_good = [&] {
    bool any = false;
    for (const Sched::ThreadInfo& t : inst->sched->threads()) {
      if (t.state == Sched::State::exited) continue;
      if (t.state != Sched::State::blocked) return false;
      any = true;
    }
    return any;
  };
  const auto until = std::chrono::steady_clock::now() + grace;
  int stuck_polls = 0;
  bool cycle = false;
  for (;;) {
    std::unique_lock l(done->m);
    if (done->cv.wait_for(l, std::chrono::milliseconds(5), [&] { return done->done; })) {
      l.unlock();
      helper.join();
      return std::nullopt;  // `inst` goes with the last reference: every thread has been joined
    }
    const bool joining = done->joining;
    l.unlock();
    // Threads that wait for each other's mutexes (an AB-BA deadlock) never go on, and the teardown,
    // which takes kernel locks too, may be waiting behind them before it could ever get to joining.
    cycle = !inst->sched->lock_cycle().empty();
    stuck_polls = (joining && stuck_for_good()) || cycle ? stuck_polls + 1 : 0;
    if (stuck_polls >= 4 || std::chrono::steady_clock::now() >= until) break;
  }
  std::string report = fmt::format("teardown did not finish{}; the instance is abandoned (never joined). Threads:\n",
                                   stuck_polls < 4 ? fmt::format(" within {} ms", grace.count())
                                   : cycle         ? std::string(" (threads wait for each other's locks in a cycle)")
                                                   : std::string(" (every thread left is blocked for good)"));
  for (const Sched::ThreadInfo& t : inst->sched->threads())
    if (t.state != Sched::State::exited) report += fmt::format("  #{} {:<10} {}\n", t.id, t.name, state_name(t));
  {
    std::lock_guard g(graveyard_lock);
    graveyard->push_back(inst);
  }
  helper.detach();  // it holds `inst` too; if it ever finishes, the graveyard's reference keeps the rest
  return report;
}

std::size_t abandoned_instances() {
  std::lock_guard g(graveyard_lock);
  return graveyard->size();
}

}  // namespace lockstep::checker
