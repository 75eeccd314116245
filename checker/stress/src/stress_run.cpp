// record_stress: the run itself. Threads, their loops, the end at a quiescent point, the teardown.
//
// The run's life:
//   1. A kernel on the real backend (tick 0 at the run's epoch) behind the delay decorator; host
//      threads H0..Hn-1 and the reaper, each with its lane; `kthreads` kthreads created by H0 as
//      its first calls (they are part of the history).
//   2. Free running until `duration` or `ops`: hosts draw ops from their view (host_chooser.hpp),
//      kthread bodies loop on suspend_check + work and now and then exit, the reaper reaps.
//   3. The end: hosts and the reaper stop after their current call; a host still inside a call must
//      be waiting in the kernel (the snapshot's waits say so) within the grace, else it is stuck.
//      Then kthread bodies stop at their next iteration (a parked one stays parked). The §7
//      observation is taken, then the lanes are closed: the observation's instant comes before
//      every response that was still missing then.
//   4. The lanes become a lin::History (history_merge.cpp); the kernel is torn down on a helper
//      thread that is abandoned if it does not finish within the grace.
#include <condition_variable>
#include <future>
#include <map>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "checker/impl_commands.hpp"
#include "checker/observe_impl.hpp"
#include "checker/stress.hpp"
#include "history_merge.hpp"
#include "host_chooser.hpp"
#include "impl/delay_backend.hpp"
#include "impl/kernel.hpp"
#include "lane.hpp"
#include "model/model.hpp"
#include "model/op_traits.hpp"
#include "registry.hpp"

namespace lockstep::checker::stress {

using namespace lockstep::model;

namespace {

// The lane of the calling thread (set by each thread of the run), for the delay backend's
// on_first_wait hook.
thread_local Lane* tl_lane = nullptr;

// Everything the threads touch; shared, so that an abandoned teardown can keep it alive for ever.
struct Run {
  StressConfig c;
  Clock::time_point epoch;
  std::shared_ptr<impl::sync::DelayBackend> delay;
  Registry reg;
  std::unique_ptr<impl::Kernel> kernel;
  std::vector<std::unique_ptr<impl::HostContext>> ctx;  // H0..Hn-1, then the reaper
  std::vector<std::unique_ptr<Lane>> lanes;             // same order
  std::vector<std::unique_ptr<std::atomic<impl::HostId>>> host_ids;  // same order: each one's kernel id
  std::mutex kt_m;                                      // guards kt_lanes, kt_hosts
  std::vector<std::unique_ptr<Lane>> kt_lanes;
  std::vector<std::atomic<impl::HostId>*> kt_hosts;     // per kt lane: its kthread's host id (0 until it runs)
  std::vector<std::unique_ptr<std::atomic<impl::HostId>>> kt_host_store;
  std::atomic<bool> stop_hosts{false}, stop_kthreads{false}, failed{false};
  std::mutex latch_m;
  std::condition_variable latch_cv;
  bool released = false;  // guarded by latch_m: kthread bodies waiting at the end may return
  std::mutex fail_m;
  std::string panic;      // guarded by fail_m
  std::vector<std::thread> threads;
  std::atomic<int> kthreads_created{0};
  // The barrier gate: while a pause flag is set, the threads it pauses wait at the gate before their
  // next call (outside the kernel), so that the controller can observe a quiescent kernel.
  std::atomic<bool> pause_hosts{false}, pause_kthreads{false};
  std::mutex gate_m;
  std::condition_variable gate_cv;

  void gate(Lane& lane, const std::atomic<bool>& pause) {
    if (!pause.load(std::memory_order_acquire)) return;
    lane.at_gate(true);
    std::unique_lock l(gate_m);
    gate_cv.wait(l, [&] { return !pause.load() || stop_hosts.load() || stop_kthreads.load() || failed.load(); });
    l.unlock();
    lane.at_gate(false);
  }
  void open_gate() {
    {
      std::lock_guard l(gate_m);
      pause_hosts = false;
      pause_kthreads = false;
    }
    gate_cv.notify_all();
  }

  Run(const StressConfig& cfg, std::uint32_t lwps, std::uint32_t procs)
      : c(cfg), epoch(Clock::now()), reg(lwps, procs, static_cast<std::size_t>(cfg.max_kthreads) * 64 + cfg.kthreads + 16) {}

  void fail(std::string what) {
    std::lock_guard l(fail_m);
    if (panic.empty()) panic = std::move(what);
    failed = true;
  }
  std::uint64_t calls() {
    std::uint64_t n = 0;
    for (auto& l : lanes) n += l->calls();
    std::lock_guard l(kt_m);
    for (auto& k : kt_lanes) n += k->calls();
    return n;
  }
};

// The recorder's guess at the critical section where a call took effect (the judge's hint): the one
// it went to sleep in, for a call that waited (its request); else its last one, as a rule (a lookup
// first, the change last). A creating call is followed by the recorder's own reads of what it
// created (host_command), so its first phase: the last lock it took before it first released one.
// That is the instant its nested locks were all held (rfork copies the parent's fd table under the
// table lock, inside the process table lock: the copy, not the pid, is what other calls can tell
// apart; its first acquisition put an rfork before opens whose fds its copy holds).
std::int64_t effect_lock_ns(Creates creates) {
  using impl::sync::DelayBackend;
  if (const std::int64_t w = DelayBackend::wait_lock_ns()) return w;
  return creates == Creates::Nothing ? DelayBackend::last_lock_ns() : DelayBackend::first_phase_ns();
}

std::size_t lane_reserve(const StressConfig& c, int lanes) {
  const std::uint64_t per = c.ops ? c.ops / static_cast<std::uint64_t>(lanes) + 64 : 4096;
  return c.record ? static_cast<std::size_t>(std::min<std::uint64_t>(per, 1u << 20)) : 0;
}

void record_answer(Record& rec, const ImplResult& r, std::int64_t lwp_name) {
  switch (r.kind) {
    case ImplResult::Kind::Returned: rec.kind = OutcomeKind::Returned; break;
    case ImplResult::Kind::Fatal: rec.kind = OutcomeKind::Fatal; break;
    case ImplResult::Kind::Error: rec.kind = OutcomeKind::Dead; break;
  }
  rec.ret = r.ret;
  rec.err = r.err;
  rec.st_size = r.st_size;
  rec.lwp = lwp_name;
  rec.what = r.what;
}

// A kthread body: iterations of suspend_check + work, each recorded on the kthread's own lane; now
// and then an exit. At the end of the run it waits at the latch (outside the kernel) until teardown.
std::function<void()> kthread_body(Run* run, Lane* lane, std::atomic<impl::HostId>* host_id, KthreadEntry* entry,
                                   std::uint64_t seed) {
  return [run, lane, host_id, entry, seed] {
    const impl::KthreadSelf* self = impl::this_kthread();
    host_id->store(self->host.id());
    tl_lane = lane;
    impl::Kernel& k = self->kernel;
    const auto sym = static_cast<ProcId>(lane->actor().index);
    SplitMix rng(seed);
    auto guarded = [&](Record& rec, auto f) {
      try {
        f();
        record_answer(rec, value(0), -1);
      } catch (const impl::Panic& p) {
        ImplResult r;
        r.kind = ImplResult::Kind::Fatal;
        r.what = p.rule();
        record_answer(rec, r, -1);
        run->fail(fmt::format("{}: FATAL({})", lane->name(), p.rule()));
      }
      lane->end(effect_lock_ns(Creates::Nothing));
    };
    while (!run->stop_kthreads.load(std::memory_order_relaxed) && !run->failed.load(std::memory_order_relaxed)) {
      run->gate(*lane, run->pause_kthreads);
      if (run->stop_kthreads.load()) break;
      guarded(lane->begin(Op{lane->actor(), op::SuspendCheck{sym}}), [&] { k.kthread_suspend_check(self->host, self->proc); });
      if (run->stop_kthreads.load(std::memory_order_relaxed)) break;
      guarded(lane->begin(Op{lane->actor(), op::Work{}}), [&] { k.kthread_progress(self->host); });
      if ((entry->exit_asked.load(std::memory_order_relaxed) || rng.below(1000) < 2) && entry->try_exit()) {
        run->reg.alive.fetch_sub(1);
        // kthread_exit never returns: the response is written while its unwinding leaves this frame,
        // after the exit took effect (Kernel::kthread_exit changes the state before it unwinds).
        const int code = static_cast<int>(rng.below(4));
        Record& rec = lane->begin(Op{lane->actor(), op::KthreadExit{code}});
        struct Respond {
          Lane* lane;
          Record* rec;
          ~Respond() {
            record_answer(*rec, value(0), -1);
            lane->end();
            lane->finish();
          }
        } respond{lane, &rec};
        k.kthread_exit(self->host, code);
      }
      // Pace: a body that never sleeps would fill the history with its own iterations.
      std::this_thread::sleep_for(std::chrono::microseconds(100 + rng.below(200)));
    }
    lane->finish();
    std::unique_lock l(run->latch_m);
    run->latch_cv.wait(l, [&] { return run->released; });
  };
}

// One host call: chosen, recorded, made, learned from.
void host_step(Run& run, int index, HostView& view, SplitMix& rng, const HostLimits& lim, const std::optional<Op>& forced = {}) {
  Lane& lane = *run.lanes[static_cast<std::size_t>(index)];
  impl::HostContext& h = *run.ctx[static_cast<std::size_t>(index)];
  impl::Kernel& k = *run.kernel;
  HostView::Choice ch = forced ? HostView::Choice{*forced, {}} : view.choose(lane.actor(), run.reg, lim, rng);
  const Creates creates = traits(ch.op.body).creates;
  std::function<void()> body;
  KthreadEntry* entry = nullptr;
  Lane* kt_lane = nullptr;
  std::uint32_t kt_proc = 0, kt_lwp = 0;
  if (creates == Creates::Kthread) {
    entry = run.reg.reserve();
    if (entry == nullptr) return;  // the registry is full: no more kthreads this run
    kt_proc = run.reg.new_proc_symbol();
    kt_lwp = run.reg.new_lwp_symbol();
    entry->sym = kt_proc;
    std::lock_guard l(run.kt_m);
    run.kt_lanes.push_back(std::make_unique<Lane>(fmt::format("K{}", kt_proc), Actor::kthread(kt_proc), run.epoch, run.c.record,
                                                  lane_reserve(run.c, run.c.threads + run.c.max_kthreads)));
    run.kt_host_store.push_back(std::make_unique<std::atomic<impl::HostId>>(0));
    run.kt_hosts.push_back(run.kt_host_store.back().get());
    kt_lane = run.kt_lanes.back().get();
    body = kthread_body(&run, kt_lane, run.kt_hosts.back(), entry, rng.next());
  }
  Record& rec = lane.begin(ch.op);
  ImplResult r = host_command(k, h, ch.op, ch.args, body, entry ? &entry->handle : nullptr)();
  std::uint32_t lwp_sym = 0, proc_sym = 0;
  if (r.kind == ImplResult::Kind::Returned && r.ret == 0 && (creates == Creates::Lwp || creates == Creates::ProcessAndLwp)) {
    lwp_sym = run.reg.new_lwp_symbol();
    const bool fork = creates == Creates::ProcessAndLwp;
    const Pid pid = fork ? static_cast<Pid>(r.new_pid) : std::get<op::Newlwp>(ch.op.body).pid;
    if (fork) {
      proc_sym = run.reg.new_proc_symbol();
      rec.created[rec.n_created++] = Binding{Binding::Kind::Proc, proc_sym, pid};
    }
    rec.created[rec.n_created++] = Binding{Binding::Kind::Lwp, lwp_sym, pid};
    rec.lid = k.lwp_lid(r.new_lwp);
  }
  if (entry != nullptr && r.kind == ImplResult::Kind::Returned && r.ret == 0 && r.proc != nullptr) {
    entry->pid = static_cast<Pid>(r.new_pid);
    rec.created[rec.n_created++] = Binding{Binding::Kind::Proc, kt_proc, entry->pid};
    rec.created[rec.n_created++] = Binding{Binding::Kind::Lwp, kt_lwp, entry->pid};
    rec.lid = 1;  // a kthread's one lwp (SPEC §4)
    run.reg.alive.fetch_add(1);
    run.kthreads_created.fetch_add(1);
    run.reg.publish(entry);
  }
  if (kt_lane != nullptr && rec.n_created == 0) kt_lane->finish();  // never started
  if (ch.held != nullptr) ch.held->release();
  view.learn(ch, r, lwp_sym, proc_sym);
  if (creates == Creates::ProcessAndLwp && lwp_sym != 0) run.reg.publish_pid(static_cast<Pid>(r.new_pid));
  record_answer(rec, r, std::holds_alternative<op::Curlwp>(ch.op.body) ? view.name(r.lwp) : -1);
  lane.end(effect_lock_ns(creates));
  if (r.kind != ImplResult::Kind::Returned) run.fail(fmt::format("{} {}: {}", lane.name(), to_string(ch.op), r.what));
}

void host_loop(Run& run, int index, std::uint64_t seed) {
  tl_lane = run.lanes[static_cast<std::size_t>(index)].get();
  SplitMix rng(seed);
  HostView view(run.kernel->proc_handle(0), run.kernel->proc_handle(1));
  HostLimits lim;
  lim.max_kthreads = run.c.max_kthreads;
  lim.focus_percent = static_cast<std::uint32_t>(run.c.focus_percent);
  lim.max_timo = max_timo_for_tick(run.c.tick.count());
  // H0 starts the run's kthreads: they are the first calls of the history.
  if (index == 0)
    for (int i = 0; i < run.c.kthreads && !run.failed; ++i)
      host_step(run, index, view, rng, lim, Op{Actor::host(0), op::KthreadCreate{4, fmt::format("worker{}", i)}});
  while (!run.stop_hosts.load(std::memory_order_relaxed) && !run.failed.load(std::memory_order_relaxed)) {
    run.gate(*run.lanes[static_cast<std::size_t>(index)], run.pause_hosts);
    if (run.stop_hosts.load()) break;
    host_step(run, index, view, rng, lim);
  }
  run.lanes[static_cast<std::size_t>(index)]->finish();
}

// The reaper: reaps the kthreads whose bodies chose to exit, and now and then one that did not
// (EBUSY while it lives, ESRCH once reaped).
void reaper_loop(Run& run, std::uint64_t seed) {
  const auto index = static_cast<std::size_t>(run.c.threads);
  Lane& lane = *run.lanes[index];
  SplitMix rng(seed);
  std::size_t cursor = 0;
  while (!run.stop_hosts.load(std::memory_order_relaxed) && !run.failed.load(std::memory_order_relaxed)) {
    run.gate(lane, run.pause_hosts);
    std::this_thread::sleep_for(std::chrono::microseconds(100 + rng.below(300)));
    if (run.stop_hosts.load()) break;
    const std::size_t n = run.reg.count();
    if (n == 0) continue;
    KthreadEntry* pick = nullptr;
    for (std::size_t i = 0; i < n && pick == nullptr; ++i) {
      KthreadEntry& e = run.reg.at((cursor + i) % n);
      if (e.exiting.load() && !e.reaped.load()) pick = &e;
    }
    if (pick == nullptr) {
      if (!rng.percent(5)) continue;
      pick = &run.reg.at(n - 1 - rng.below(static_cast<std::uint32_t>(std::min<std::size_t>(n, 64))));  // a recent one (host_chooser.cpp)
    }
    cursor = (cursor + 1) % n;
    const Op op{Actor::reaper(), op::Reap{pick->sym}};
    Record& rec = lane.begin(op);
    const ImplResult r = host_command(*run.kernel, *run.ctx[index], op, OpHandles{nullptr, pick->handle}, {}, nullptr)();
    record_answer(rec, r, -1);
    lane.end(effect_lock_ns(Creates::Nothing));
    if (r.kind == ImplResult::Kind::Returned && r.ret == 0) pick->reaped = true;
    if (r.kind != ImplResult::Kind::Returned) run.fail(fmt::format("reaper {}: {}", to_string(op), r.what));
  }
  lane.finish();
}

// Runs `f` on a thread of its own and waits at most `limit` for it: a kernel that deadlocked with a
// lock held must not hang the run. On a timeout the thread is left behind (it keeps `keep` alive).
template <class R, class F>
std::optional<R> within(std::chrono::milliseconds limit, std::shared_ptr<Run> keep, F f) {
  auto done = std::make_shared<std::promise<R>>();
  std::future<R> fut = done->get_future();
  std::thread([keep = std::move(keep), done, f = std::move(f)]() mutable {
    try {
      done->set_value(f());
    } catch (...) {
      done->set_exception(std::current_exception());
    }
  }).detach();
  if (fut.wait_for(limit) != std::future_status::ready) return std::nullopt;
  return fut.get();
}

// Waits until every lane of `lanes` has finished, waits at the gate, or is inside a call that the
// kernel lists as a wait (a host blocked in suspend / wait_exit, a parked kthread; with
// `untimed_only`, only a wait without timeout); returns the names of the lanes that did none of
// these within `grace`.
struct LaneRef {
  Lane* lane;
  const std::atomic<impl::HostId>* host;  // the kernel's id of the lane's host thread (0: not started yet)
};

std::vector<std::string> settle(const std::shared_ptr<Run>& run, const std::vector<LaneRef>& refs, std::chrono::milliseconds grace,
                                bool untimed_only = false) {
  const auto deadline = Clock::now() + grace;
  std::vector<std::string> stuck;
  while (true) {
    stuck.clear();
    std::optional<impl::Snapshot> snap;
    bool all = true;
    for (std::size_t i = 0; i < refs.size(); ++i) {
      const Lane* lane = refs[i].lane;
      if (lane->finished() || lane->at_gate()) continue;
      if (!lane->in_call() || (untimed_only && !lane->untimed())) { all = false; stuck.push_back(lane->name()); continue; }
      if (!snap) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        snap = within<impl::Snapshot>(std::max(left, std::chrono::milliseconds(1)), run, [k = run->kernel.get()] { return k->snapshot(); });
        if (!snap) {  // the kernel does not answer: every lane still busy is stuck
          for (std::size_t j = i; j < refs.size(); ++j)
            if (!refs[j].lane->finished()) stuck.push_back(refs[j].lane->name());
          return stuck;
        }
      }
      // A timed wait counts only while its deadline is more than a tick away: one that has expired
      // ends at its tick in the model, but the impl's waiter has yet to wake and leave the wait list,
      // and an observation in between would show it still blocked.
      bool waiting = false, expiring = false;
      const impl::HostId id = refs[i].host->load();
      const impl::sync::Ticks now = run->kernel->now();
      for (const impl::WaitSnapshot& w : snap->blocked)
        if (id != 0 && w.host == id) {
          waiting = true;
          expiring = w.deadline && *w.deadline <= now + 1;
        }
      if (!waiting || expiring) { all = false; stuck.push_back(lane->name()); }
    }
    if (all || Clock::now() >= deadline) return stuck;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::vector<LaneRef> host_refs(Run& run) {
  std::vector<LaneRef> out;
  for (std::size_t i = 0; i < run.lanes.size(); ++i) out.push_back(LaneRef{run.lanes[i].get(), run.host_ids[i].get()});
  return out;
}

std::vector<LaneRef> kthread_refs(Run& run) {
  std::lock_guard l(run.kt_m);
  std::vector<LaneRef> out;
  for (std::size_t i = 0; i < run.kt_lanes.size(); ++i) out.push_back(LaneRef{run.kt_lanes[i].get(), run.kt_hosts[i]});
  return out;
}

// A barrier: hosts and the reaper pause at the gate (kthreads still acknowledge the suspends that wait
// for them), then the kthread bodies; once every thread is at the gate or in an untimed kernel wait,
// the §7 observation is taken and everyone goes on. A barrier that does not settle within `limit` (a
// long timed wait, say kproc_shutdown's 60 * hz) is skipped. Returns the observation and its ns.
std::optional<std::pair<std::int64_t, Observation>> barrier(const std::shared_ptr<Run>& run, std::chrono::milliseconds limit,
                                                            const std::vector<impl::HostId>& hosts, const std::map<impl::HostId, int>& index) {
  std::optional<std::pair<std::int64_t, Observation>> out;
  run->pause_hosts = true;
  if (settle(run, host_refs(*run), limit, true).empty()) {
    run->pause_kthreads = true;
    if (settle(run, kthread_refs(*run), limit, true).empty() && run->c.record) {
      const std::int64_t at = run->lanes[0]->now_ns();
      if (auto obs = within<Observation>(run->c.grace, run, [r = run.get(), hosts, index] { return observe_kernel(*r->kernel, hosts, index); }))
        out = std::pair{at, std::move(*obs)};
    }
  }
  run->open_gate();
  return out;
}

// Ends control of the kernel and destroys it on a helper thread; false when that did not finish
// within the grace (the run is then kept alive for ever: its threads may still be inside the impl).
bool teardown(const std::shared_ptr<Run>& run, std::chrono::milliseconds grace) {
  auto done = within<bool>(grace, run, [r = run.get()] {
    {
      std::lock_guard l(r->latch_m);
      r->released = true;
    }
    r->latch_cv.notify_all();
    r->stop_hosts = true;
    r->stop_kthreads = true;
    r->kernel->interrupt_waits();
    for (std::thread& t : r->threads) t.join();
    r->ctx.clear();
    r->kernel.reset();
    return true;
  });
  if (!done) {
    static std::mutex m;
    static std::vector<std::shared_ptr<Run>> abandoned;  // never destroyed: their threads may still run
    std::lock_guard l(m);
    abandoned.push_back(run);
  }
  return done.has_value();
}

}  // namespace

std::optional<std::string> check_config(const StressConfig& c) {
  if (c.threads < 1 || c.threads > 256) return fmt::format("--threads must be in 1..256, not {}", c.threads);
  if (c.kthreads < 0 || c.kthreads > 64) return fmt::format("--kthreads must be in 0..64, not {}", c.kthreads);
  if (c.max_kthreads < c.kthreads) return fmt::format("the live kthread bound {} is below --kthreads {}", c.max_kthreads, c.kthreads);
  if (!(c.duration > 0) || c.duration > 86400) return fmt::format("--duration must be in (0, 86400] seconds, not {}", c.duration);
  if (!(c.delay_probability >= 0 && c.delay_probability <= 1))
    return fmt::format("--delay-prob must be in [0, 1], not {}", c.delay_probability);
  if (!(c.spurious_probability >= 0 && c.spurious_probability < 1))
    return fmt::format("--spurious-prob must be in [0, 1), not {}", c.spurious_probability);
  if (c.max_delay.count() < 0 || c.max_delay.count() > 1'000'000) return "the maximum delay must be in 0..1000000 us";
  if (c.tick.count() < 100'000 || c.tick > std::chrono::seconds(1)) return "--tick must be in 0.1..1000 ms";
  if (c.grace.count() < 10) return "the grace period must be at least 10 ms";
  if (c.focus_percent < 0 || c.focus_percent > 100) return fmt::format("--focus-percent must be in 0..100, not {}", c.focus_percent);
  return std::nullopt;
}

StressRecording record_stress(const StressConfig& c, const Progress& progress) {
  if (auto bad = check_config(c)) throw std::invalid_argument(*bad);
  StressRecording out;
  out.hosts = c.threads;
  const std::size_t kt_capacity = static_cast<std::size_t>(c.max_kthreads) * 64 + static_cast<std::size_t>(c.kthreads) + 16;
  // Large enough that no creation ever meets it: a full table would make kproc_start FATAL(K6-panic).
  out.maxproc = 8 * c.threads + static_cast<int>(kt_capacity) + 8;
  out.pid_max = model::kPidMax;
  Model m(model::Config{out.maxproc, true, out.pid_max});
  const State& before = m.state();

  auto run = std::make_shared<Run>(c, static_cast<std::uint32_t>(before.lwps.size()), static_cast<std::uint32_t>(before.procs.size()));
  impl::sync::DelayOptions dopt;
  dopt.probability = c.delay_probability;
  dopt.max_delay = c.max_delay;
  dopt.seed = c.seed;
  dopt.stamp_locks = c.record;
  dopt.spurious_probability = c.spurious_probability;
  dopt.on_first_wait = [](std::int64_t ns) {
    if (tl_lane != nullptr) tl_lane->waited_at(ns);
  };
  run->delay = std::make_shared<impl::sync::DelayBackend>(impl::sync::make_real_backend(c.tick, run->epoch), dopt);
  impl::KernelConfig kc;
  kc.maxproc = out.maxproc;
  kc.pid_max = out.pid_max;
  kc.backend = run->delay;
  kc.tick = c.tick;
  kc.faults = c.faults;
  kc.panic_hook = [](const impl::PanicInfo&) {};  // returning makes the op throw impl::Panic
  run->kernel = std::make_unique<impl::Kernel>(kc);
  std::map<impl::HostId, int> host_index;
  std::vector<impl::HostId> host_ids;
  const std::size_t reserve = lane_reserve(c, c.threads + c.max_kthreads + 1);
  for (int i = 0; i <= c.threads; ++i) {
    const bool reaper = i == c.threads;
    const std::string name = reaper ? "reaper" : fmt::format("H{}", i);
    run->ctx.push_back(std::make_unique<impl::HostContext>(*run->kernel, name));
    run->lanes.push_back(std::make_unique<Lane>(name, reaper ? Actor::reaper() : Actor::host(static_cast<HostId>(i)), run->epoch,
                                                c.record, reserve));
    host_index[run->ctx.back()->id()] = i;
    run->host_ids.push_back(std::make_unique<std::atomic<impl::HostId>>(run->ctx.back()->id()));
    if (!reaper) host_ids.push_back(run->ctx.back()->id());
  }
  SplitMix seeds(c.seed);
  for (int i = 0; i < c.threads; ++i) run->threads.emplace_back(host_loop, std::ref(*run), i, seeds.next());
  run->threads.emplace_back(reaper_loop, std::ref(*run), seeds.next());

  // Free running, with a barrier every c.barrier.
  std::vector<std::pair<std::int64_t, Observation>> observations;
  const auto start = Clock::now();
  auto last_progress = start, last_barrier = start;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (c.barrier.count() > 0 && Clock::now() - last_barrier >= c.barrier) {
      // Without recording the barriers still pause the threads (so that the two runs compare), but
      // observe nothing.
      if (auto o = barrier(run, std::chrono::milliseconds(200), host_ids, host_index)) observations.push_back(std::move(*o));
      else if (c.record) ++out.stats.barriers_skipped;
      last_barrier = Clock::now();
    }
    const auto now = Clock::now();
    const double secs = std::chrono::duration<double>(now - start).count();
    const std::uint64_t calls = run->calls();
    if (progress && now - last_progress >= std::chrono::milliseconds(100)) {
      progress(secs, calls);
      last_progress = now;
    }
    if (secs >= c.duration || (c.ops != 0 && calls >= c.ops) || run->failed) break;
  }
  out.stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();

  // The end: hosts and the reaper first (kthreads keep acknowledging the suspends they wait for),
  // then the kthread bodies.
  run->stop_hosts = true;
  run->open_gate();
  std::vector<Lane*> host_lanes, kt_lanes;
  for (const LaneRef& r : host_refs(*run)) host_lanes.push_back(r.lane);
  out.stuck = settle(run, host_refs(*run), c.grace);
  run->stop_kthreads = true;
  run->open_gate();
  for (const LaneRef& r : kthread_refs(*run)) kt_lanes.push_back(r.lane);
  if (out.stuck.empty()) {
    for (std::string& s : settle(run, kthread_refs(*run), c.grace)) out.stuck.push_back(std::move(s));
  }

  // The observation, at a quiescent point (only calls waiting in the kernel are in flight), then
  // the lanes' records up to now.
  // No deadline may fall due between the check that every timed wait's deadline is more than a tick
  // away and the end of the observation: the impl's waiter would still show blocked where the model
  // ended its wait at the tick. The hosts' settle above is too early for that check (the kthreads'
  // settle can take ticks), so it is made again here, and the observation counts only if check and
  // observation together took less than a tick; else both are made again.
  std::int64_t obs_ns = 0;
  std::optional<Observation> obs;
  for (int attempt = 0; attempt < 5 && out.stuck.empty() && c.record; ++attempt) {
    const std::int64_t checked_ns = host_lanes[0]->now_ns();
    out.stuck = settle(run, host_refs(*run), c.grace);
    if (!out.stuck.empty()) break;
    obs_ns = host_lanes[0]->now_ns();
    obs = within<Observation>(c.grace, run, [r = run.get(), host_ids, host_index] { return observe_kernel(*r->kernel, host_ids, host_index); });
    if (!obs || (host_lanes[0]->now_ns() - checked_ns) < c.tick.count()) break;
    obs.reset();
  }
  std::vector<std::vector<Record>> records;
  std::vector<Lane*> every = host_lanes;
  every.insert(every.end(), kt_lanes.begin(), kt_lanes.end());
  for (Lane* l : every) records.push_back(l->close());
  const std::int64_t end_ns = host_lanes[0]->now_ns();
  for (Lane* l : host_lanes) out.stats.host_ops += l->calls();
  out.stats.focused = run->reg.focused_draws.load();
  for (Lane* l : kt_lanes) out.stats.kthread_ops += l->calls();
  out.stats.sync_points = run->delay->points();
  out.stats.delays = run->delay->delays();
  out.stats.spurious_wakeups = run->delay->spurious_wakeups();
  out.stats.kthreads_created = run->kthreads_created.load();
  out.stats.barriers = observations.size();
  {
    std::lock_guard l(run->fail_m);
    if (!run->panic.empty()) out.panic = run->panic;
  }
  if (auto p = run->kernel->panicked(); p && !out.panic) out.panic = fmt::format("FATAL({}): {}", p->rule, p->reason);

  if (c.record) {
    MergeInput in;
    in.before = before;
    in.hosts = c.threads;
    in.tick_ns = c.tick.count();
    in.end_ns = end_ns;
    in.observations = std::move(observations);
    if (obs) in.observations.emplace_back(obs_ns, std::move(*obs));
    store_merged(merge_history(std::move(in), records), out);
    out.observed = !out.history.observations.empty();
  }
  out.abandoned = !teardown(run, c.grace);
  return out;
}

}  // namespace lockstep::checker::stress
