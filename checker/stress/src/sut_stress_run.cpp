// record_sut_stress: free-running stress on a plug-in SUT (stress_sut.hpp). One thread of lockstep
// drives every thread of the child: each host thread, the reaper and each kthread body has a lane
// and at most one call in flight; the loop sends the next call of every idle lane that is due, then
// reads replies until the next one is due. A call's interval runs from just before its request is
// written to just after its reply is read, so it contains the SUT's real call: real-time order
// between two calls is never invented, only lost, which the judge reads as more orders (sound).
//
// The clock. The SUT counts ticks from inside rump_init, which lockstep sees only from outside: tick
// k begins in [t0 + k * tick, t1 + k * tick], t0 and t1 rump_init's request and reply. The history's
// tick operations span that window (MergeInput::tick_slack_ns), so a rump_init longer than half a
// tick is refused.
//
// The end. Hosts and the reaper stop first (kthread bodies keep acknowledging), then the bodies; a
// call still in flight after the grace is left in flight if the SPEC lets it block, and is stuck (a
// DEADLOCK) otherwise. A SUT that dies gives the calls in flight that cannot block (or else the last
// one sent) its panic's FATAL, or a death no order explains.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "checker/stress_sut.hpp"
#include "checker/sut_calls.hpp"
#include "checker/sut_state.hpp"
#include "history_merge.hpp"
#include "host_chooser.hpp"
#include "lane.hpp"
#include "model/model.hpp"
#include "model/op_traits.hpp"
#include "registry.hpp"

namespace lockstep::checker::stress {

using namespace lockstep::model;
using sut::Call;
using sut::Reply;
using sut::ReplyKind;
using sut::Request;
using sut::Runner;

namespace {

// How far past a tick's window a barrier's instant keeps (the window's end is only known to the slack).
constexpr std::chrono::nanoseconds kTickMargin = std::chrono::microseconds(500);

bool has(std::uint64_t mask, Call c) { return ((mask >> static_cast<unsigned>(c)) & 1u) != 0; }

// One thread of the child as lockstep drives it.
struct Driver {
  enum class Kind { Host, Reaper, Kthread } kind = Kind::Host;
  std::uint16_t index = 0;                 // host thread, or kthread slot
  std::unique_ptr<Lane> lane;
  std::unique_ptr<HostView> view;          // hosts
  SplitMix rng{1};
  bool busy = false, active = true;        // active: may be given calls (a kthread once created, until it exits)
  Clock::time_point due{}, sent{};
  Op op;
  Record* rec = nullptr;
  // A host's call in flight.
  HostView::Choice choice;
  KthreadEntry* creating = nullptr;        // the kthread its create makes
  std::size_t creating_driver = 0;
  std::uint32_t kt_proc = 0, kt_lwp = 0;
  KthreadEntry* reaping = nullptr;         // the reaper's target
  // A kthread body.
  KthreadEntry* self = nullptr;
  bool next_is_work = false;
  bool exiting = false;
};

class SutStress {
 public:
  SutStress(const StressConfig& c, const SutStressOptions& s, SutStressInfo& info, const Progress& progress)
      : c_(c), s_(s), info_(info), progress_(progress), model_(Config{s.maxproc, true, model::kPidMax}),
        reg_(static_cast<std::uint32_t>(model_.state().lwps.size()), static_cast<std::uint32_t>(model_.state().procs.size()),
             static_cast<std::size_t>(c.max_kthreads) * 64 + static_cast<std::size_t>(c.kthreads) + 16) {}

  StressRecording run() {
    // A rump_init that took half a tick or more (a loaded machine) leaves the clock's phase unknown:
    // a fresh child tries again, a few times; then, when the tick is lockstep's to choose, a longer one.
    for (int attempt = 1;; ++attempt) {
      start_child();
      if (init()) break;
      if (attempt < 5) {
        p_->kill();
        continue;
      }
      if (!reads_clock() || !may_lengthen_tick()) break;
      p_->kill();
      lengthen_tick();
      attempt = 0;
    }
    if (2 * slack_ns_ >= tick_ns_ && reads_clock())
      throw std::runtime_error(fmt::format("rump_init took {:.3f} ms in 5 children, half the SUT's tick ({:.3f} ms) or more: the clock's "
                                           "phase cannot be placed; use a longer tick",
                                           static_cast<double>(slack_ns_) / 1e6, static_cast<double>(tick_ns_) / 1e6));
    if (2 * slack_ns_ >= tick_ns_) slack_ns_ = tick_ns_ / 2 - 1;  // no call reads the clock: its phase does not matter
    info_.clock_slack_ns = slack_ns_;
    start_drivers();
    loop();
    finish();
    return std::move(out_);
  }

 private:
  // --- the child --------------------------------------------------------------------------------

  void start_child() {
    sut::SpawnOptions so = spawn_;
    so.threads = c_.threads + 1;  // the hosts and the reaper
    so.env.emplace_back("LOCKSTEP_MAXPROC", std::to_string(s_.maxproc));
    std::string error;
    p_ = sut::SutProcess::start(so, error);
    if (!p_) throw std::runtime_error(fmt::format("the SUT could not be started: {}", error));
    mask_ = p_->capabilities();
    info_.exported.clear();
    info_.generated.clear();
    info_.not_generated.clear();
    info_.spawn_seconds = p_->spawn_seconds();
    std::vector<std::string> missing;
    for (std::size_t i = 0; i < sut::kCallCount; ++i) {
      if ((mask_ >> i) & 1u) info_.exported.emplace_back(sut::kCallNames[i]);
      else if (i < sut::kRequiredCalls) missing.emplace_back(sut::kCallNames[i]);
    }
    if (!missing.empty()) throw std::runtime_error(fmt::format("{} does not export the required {}", so.library, fmt::join(missing, ", ")));
    tick_ns_ = p_->tick_ns() > 0 ? p_->tick_ns() : s_.tick_ns;
    lim_.max_timo = max_timo_for_tick(tick_ns_);
    info_.max_timo = lim_.max_timo;
    introspect_ = sut::has_introspection(mask_);
    info_.tick_ns = tick_ns_;
    choose_kinds();
  }

  // The op kinds drawn: those whose call the SUT exports, and whose new objects the run can name (a
  // process needs its pid: rump_sys_getpid after rfork). A kthread's pid is not needed: without
  // lockstep_proc_pid it is left to the judge (kPidUnsaid), since only an EBUSY could show it.
  void choose_kinds() {
    lim_.max_kthreads = c_.max_kthreads;
    lim_.focus_percent = static_cast<std::uint32_t>(c_.focus_percent);
    lim_.user_proc_handles = false;
    lim_.kthread_pids_unsaid = !has(mask_, Call::ProcPid);
    lim_.supported = 0;
    for (std::size_t k = 0; k < kOpKindCount; ++k) {
      const OpBody b = default_op(k);
      const Call call = sut::call_of(b);
      std::string why;
      if (call == Call::Count || call == Call::RumpInit) continue;  // the clock; rump_init is the run's own first call
      if (!has(mask_, call)) why = fmt::format("{} not exported", sut::kCallNames[static_cast<std::size_t>(call)]);
      else if (std::holds_alternative<op::Rfork>(b) && !has(mask_, Call::Getpid)) why = "needs rump_sys_getpid for the new pid";
      if (why.empty()) {
        lim_.supported |= 1u << k;
        info_.generated.emplace_back(kOpTraits[k].name);
      } else {
        info_.not_generated.push_back(fmt::format("{} ({})", kOpTraits[k].name, why));
      }
    }
  }
  bool kind_on(std::size_t k) const { return ((lim_.supported >> k) & 1u) != 0; }
  template <class T> bool kind_on() const { return kind_on(OpBody(T{}).index()); }

  // rump_init on H0; false when it took half a tick or more.
  bool init() {
    Request q;
    q.seq = ++seq_;
    q.call = Call::RumpInit;
    const auto t0 = Clock::now();
    Reply r;
    if (!p_->send(q) || p_->next(r, t0 + std::chrono::seconds(10)) != sut::SutProcess::Event::Reply || r.kind != ReplyKind::Returned)
      throw std::runtime_error(fmt::format("rump_init did not return: {}", p_->termination().empty() ? "no answer in 10 s" : p_->termination()));
    const auto t1 = Clock::now();
    if (r.ret != 0) throw std::runtime_error(fmt::format("rump_init returned {}", r.ret));
    epoch_ = t0;
    started_ = t1;
    slack_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
    return 2 * slack_ns_ < tick_ns_;
  }

  // The child's LOCKSTEP_TICK_US, as lockstep passes it (0: none).
  std::int64_t tick_us_asked() const {
    for (const auto& [k, v] : spawn_.env)
      if (k == "LOCKSTEP_TICK_US") return std::strtoll(v.c_str(), nullptr, 10);
    return 0;
  }

  // Only a SUT that shows it runs at the tick lockstep asks for (it exports that tick) can be given a
  // longer one; a SUT that does not export its tick is taken at the caller's word, which stays.
  bool may_lengthen_tick() const {
    return s_.may_lengthen_tick && p_->tick_ns() > 0 && p_->tick_ns() == tick_us_asked() * 1000 && tick_ns_ < kLongestTickNs;
  }

  // Four times rump_init's last time, in whole milliseconds, and at least twice the tick: two such
  // steps cover a machine whose load keeps growing.
  void lengthen_tick() {
    if (info_.requested_tick_ns == 0) info_.requested_tick_ns = tick_ns_;
    const std::int64_t ms = 1'000'000;
    const std::int64_t next = std::min(kLongestTickNs, std::max(2 * tick_ns_, (4 * slack_ns_ + ms - 1) / ms * ms));
    for (auto& [k, v] : spawn_.env)
      if (k == "LOCKSTEP_TICK_US") v = std::to_string(next / 1000);
  }
  static constexpr std::int64_t kLongestTickNs = 1'000'000'000;

  // Whether a drawn call's answer depends on the clock (a timeout).
  bool reads_clock() const {
    return kind_on<op::Suspend>() || kind_on<op::WaitExit>() || kind_on<op::KprocShutdown>();
  }

  void start_drivers() {
    const std::size_t reserve = 4096;
    SplitMix seeds(c_.seed);
    for (int i = 0; i <= c_.threads; ++i) {
      Driver d;
      const bool reaper = i == c_.threads;
      d.kind = reaper ? Driver::Kind::Reaper : Driver::Kind::Host;
      d.index = static_cast<std::uint16_t>(i);
      d.lane = std::make_unique<Lane>(reaper ? "reaper" : fmt::format("H{}", i), reaper ? Actor::reaper() : Actor::host(static_cast<HostId>(i)),
                                      epoch_, true, reserve);
      if (!reaper) {
        d.view = std::make_unique<HostView>(nullptr, nullptr);
        // No lid of a new lwp is recorded here; barriers show them (without introspection there are
        // no observations, so no commits, and nothing to keep).
        if (introspect_) d.view->keep_new_lwps_until_observed();
      }
      d.rng = SplitMix(seeds.next());
      d.active = !reaper || has(mask_, Call::Reap);
      d.due = started_;
      drivers_.push_back(std::move(d));
    }
    hosts_ = drivers_.size();
    if (!kind_on<op::KthreadCreate>()) initial_kthreads_ = 0;
    else initial_kthreads_ = c_.kthreads;
  }

  // --- sending ----------------------------------------------------------------------------------

  Request request(const Driver& d, const Op& op, const OpHandles& args) {
    Request q;
    q.seq = ++seq_;
    q.runner = d.kind == Driver::Kind::Kthread ? Runner::Kthread : Runner::Host;
    q.index = d.index;
    sut::fill_arguments(q, op.body, [&](LwpId) { return reinterpret_cast<std::uint64_t>(args.lwp); },
                        [&](ProcId) { return reinterpret_cast<std::uint64_t>(args.proc); });
    return q;
  }

  bool send(std::size_t di, const Op& op, const OpHandles& args, std::uint32_t slot = 0) {
    Driver& d = drivers_[di];
    Request q = request(d, op, args);
    q.slot = slot;
    d.op = op;
    d.rec = &d.lane->begin(op);  // stamped before the write (a descheduled parent only widens the interval)
    d.sent = Clock::now();
    d.busy = true;
    in_flight_[q.seq] = di;
    if (!p_->send(q)) {
      // The child is gone (it panicked before its reply pipe's end was read): this request never
      // reached it, so the call stays in its lane without a response (the judge need not place it),
      // and the calls in flight get what the child did. Setting only gone_ here left them all in
      // flight: a panic at maxproc was judged a DEADLOCK of the calls it had stopped.
      d.busy = false;
      in_flight_.erase(q.seq);
      died(p_->termination().empty() ? "ended" : p_->termination());
      return false;
    }
    last_sent_ = di;
    ++calls_;
    return true;
  }

  std::uint32_t take_slot() { return sut::take_slot(next_slot_, free_slots_); }

  void issue_host(std::size_t di) {
    Driver& d = drivers_[di];
    HostView::Choice ch;
    if (initial_kthreads_ > 0 && di == 0) {
      --initial_kthreads_;
      ch.op = Op{Actor::host(0), op::KthreadCreate{4, fmt::format("worker{}", initial_kthreads_)}};
    } else {
      ch = d.view->choose(d.lane->actor(), reg_, lim_, d.rng);
    }
    const Creates creates = traits(ch.op.body).creates;
    std::uint32_t slot = 0;
    d.creating = nullptr;
    if (creates == Creates::Kthread) {
      slot = take_slot();
      KthreadEntry* e = slot < sut::kMaxSlots ? reg_.reserve() : nullptr;
      if (e == nullptr) {  // no slot or registry entry left: no more kthreads this run
        if (slot < sut::kMaxSlots) free_slots_.push_back(slot);
        lim_.supported &= ~(1u << OpBody(op::KthreadCreate{}).index()) & ~(1u << OpBody(op::KprocStart{}).index());
        d.due = Clock::now();
        return;
      }
      d.creating = e;
      d.kt_proc = reg_.new_proc_symbol();
      d.kt_lwp = reg_.new_lwp_symbol();
      e->sym = d.kt_proc;
      Driver k;
      k.kind = Driver::Kind::Kthread;
      k.index = static_cast<std::uint16_t>(slot);
      k.lane = std::make_unique<Lane>(fmt::format("K{}", d.kt_proc), Actor::kthread(d.kt_proc), epoch_, true, 1024);
      k.rng = SplitMix(d.rng.next());
      k.active = false;
      k.self = e;
      // `d` refers into drivers_, which push_back may move: everything of `d` is set before it.
      d.creating_driver = drivers_.size();
      drivers_.push_back(std::move(k));
    }
    Driver& dd = drivers_[di];  // drivers_ may have grown
    dd.choice = std::move(ch);
    send(di, dd.choice.op, dd.choice.args, slot);
  }

  void issue_kthread(std::size_t di) {
    Driver& d = drivers_[di];
    const auto sym = static_cast<ProcId>(d.lane->actor().index);
    const bool can_check = kind_on<op::SuspendCheck>(), can_work = has(mask_, Call::Progress);
    if (has(mask_, Call::KthreadExit) && (d.self->exit_asked.load(std::memory_order_relaxed) || d.rng.below(1000) < 2) && d.self->try_exit()) {
      reg_.alive.fetch_sub(1);
      d.exiting = true;
      send(di, Op{d.lane->actor(), op::KthreadExit{static_cast<int>(d.rng.below(4))}}, {});
      return;
    }
    if (d.next_is_work && can_work) send(di, Op{d.lane->actor(), op::Work{}}, {});
    else if (can_check) send(di, Op{d.lane->actor(), op::SuspendCheck{sym}}, OpHandles{nullptr, d.self->handle});
    else if (can_work) send(di, Op{d.lane->actor(), op::Work{}}, {});
    else d.due = Clock::now() + std::chrono::milliseconds(1);  // a body with nothing to call idles
    d.next_is_work = !d.next_is_work;
  }

  void issue_reaper(std::size_t di) {
    Driver& d = drivers_[di];
    const std::size_t n = reg_.count();
    d.due = Clock::now() + std::chrono::microseconds(100 + d.rng.below(300));
    if (n == 0) return;
    KthreadEntry* pick = nullptr;
    for (std::size_t i = 0; i < n && pick == nullptr; ++i) {
      KthreadEntry& e = reg_.at((reap_cursor_ + i) % n);
      if (e.exiting.load() && !e.reaped.load()) pick = &e;
    }
    if (pick == nullptr) {
      if (!d.rng.percent(5)) return;
      pick = &reg_.at(n - 1 - d.rng.below(static_cast<std::uint32_t>(std::min<std::size_t>(n, 64))));
    }
    reap_cursor_ = (reap_cursor_ + 1) % n;
    d.reaping = pick;
    send(di, Op{Actor::reaper(), op::Reap{pick->sym}}, OpHandles{nullptr, pick->handle});
  }

  // --- receiving --------------------------------------------------------------------------------

  void returned(std::size_t di, const Reply& r) {
    Driver& d = drivers_[di];
    d.busy = false;
    Record& rec = *d.rec;
    rec.kind = r.text[0] == '\0' ? OutcomeKind::Returned : OutcomeKind::Dead;
    rec.what = r.text;
    rec.ret = r.ret;
    rec.err = static_cast<int>(r.err);
    rec.st_size = r.b;
    rec.lwp = -1;
    const auto now = Clock::now();
    switch (d.kind) {
      case Driver::Kind::Host: host_returned(di, r); break;
      case Driver::Kind::Reaper:
        if (r.ret == 0 && d.reaping != nullptr) d.reaping->reaped = true;
        break;
      case Driver::Kind::Kthread:
        // Paced so that hosts, each a pipe round trip per call, are not drowned in kthread iterations.
        d.due = now + std::chrono::microseconds(500 + d.rng.below(1000));
        if (d.exiting) {
          d.active = false;
          d.lane->end();
          d.lane->finish();
          free_slots_.push_back(d.index);  // its thread has ended (the host answers kthread_exit then)
          return;
        }
        break;
    }
    if (d.kind == Driver::Kind::Host) d.due = now;
    drivers_[di].lane->end();
  }

  void host_returned(std::size_t di, const Reply& r) {
    Driver& d = drivers_[di];
    Record& rec = *d.rec;
    const Op& op = d.choice.op;
    ImplResult ir;
    ir.ret = r.ret;
    ir.err = static_cast<int>(r.err);
    ir.lwp = reinterpret_cast<::lwp*>(r.lwp);
    ir.proc = reinterpret_cast<::proc*>(r.proc);
    ir.st_size = r.b;
    ir.new_pid = static_cast<pid_t>(r.new_pid);
    ir.new_lwp = reinterpret_cast<::lwp*>(r.lwp);
    // A finding of the host's (a body that ran before *newp was set) makes the record a violation for
    // the judge, but the kthread exists and its body runs: it is tracked as made.
    if (rec.kind != OutcomeKind::Returned && r.finding == sut::Finding::None) ir.kind = ImplResult::Kind::Error;
    const Creates creates = traits(op.body).creates;
    std::uint32_t lwp_sym = 0, proc_sym = 0;
    if (ir.kind == ImplResult::Kind::Returned && r.ret == 0 && (creates == Creates::Lwp || creates == Creates::ProcessAndLwp)) {
      lwp_sym = reg_.new_lwp_symbol();
      const bool fork = creates == Creates::ProcessAndLwp;
      const Pid pid = fork ? static_cast<Pid>(r.new_pid) : std::get<op::Newlwp>(op.body).pid;
      if (fork) {
        proc_sym = reg_.new_proc_symbol();
        rec.created[rec.n_created++] = Binding{Binding::Kind::Proc, proc_sym, pid};
      }
      rec.created[rec.n_created++] = Binding{Binding::Kind::Lwp, lwp_sym, pid};
    }
    if (KthreadEntry* e = d.creating) {
      Driver& k = drivers_[d.creating_driver];
      if (ir.kind == ImplResult::Kind::Returned && r.ret == 0 && r.proc != 0) {
        e->handle = reinterpret_cast<::proc*>(r.proc);
        e->pid = r.new_pid > 0 ? static_cast<Pid>(r.new_pid) : kPidUnsaid;
        rec.created[rec.n_created++] = Binding{Binding::Kind::Proc, d.kt_proc, e->pid};
        rec.created[rec.n_created++] = Binding{Binding::Kind::Lwp, d.kt_lwp, e->pid};
        rec.lid = 1;  // a kthread's one lwp (SPEC §4)
        reg_.alive.fetch_add(1);
        ++kthreads_created_;
        reg_.publish(e);
        k.active = true;
        k.due = Clock::now();
      } else {
        k.lane->finish();  // never started
        free_slots_.push_back(k.index);
      }
      d.creating = nullptr;
    }
    if (d.choice.held != nullptr) d.choice.held->release();
    d.choice.held = nullptr;
    d.view->learn(d.choice, ir, lwp_sym, proc_sym);
    if (creates == Creates::ProcessAndLwp && lwp_sym != 0) reg_.publish_pid(static_cast<Pid>(r.new_pid));
    if (std::holds_alternative<op::Curlwp>(op.body)) rec.lwp = d.view->name(ir.lwp);
  }

  // The child is gone (or untrustworthy): the calls in flight that cannot block get what it did.
  void died(const std::string& how) {
    gone_ = true;
    const std::string err = p_->stderr_text();
    const std::optional<std::string> rule = sut::panic_rule(err);
    out_.panic = fmt::format("the SUT {}{}", how, rule ? fmt::format(" (panic: {})", *rule) : std::string());
    std::vector<std::size_t> victims;
    for (std::size_t i = 0; i < drivers_.size(); ++i)
      if (drivers_[i].busy && !traits(drivers_[i].op.body).can_block) victims.push_back(i);
    if (victims.empty() && last_sent_ < drivers_.size() && drivers_[last_sent_].busy) victims.push_back(last_sent_);
    for (std::size_t i : victims) {
      Driver& d = drivers_[i];
      d.busy = false;
      d.rec->kind = rule ? OutcomeKind::Fatal : OutcomeKind::Dead;
      d.rec->what = rule ? *rule : fmt::format("the SUT {}", how);
      d.lane->end();
    }
  }

  void handle(const Reply& r) {
    if (r.kind == ReplyKind::Forked) return died(fmt::format("called fork() (the copy is pid {}); its results are not trusted", r.pid));
    if (r.kind == ReplyKind::Exited) return died(fmt::format("called exit({})", r.ret));
    auto it = in_flight_.find(r.seq);
    if (it == in_flight_.end() || r.kind != ReplyKind::Returned) return;  // an answer to nothing lockstep asked: ignored
    const std::size_t di = it->second;
    in_flight_.erase(it);
    ++replies_;
    returned(di, r);
  }

  // --- the run ----------------------------------------------------------------------------------

  // Sends what is due; reads replies until `until` or the next due call.
  void pump(bool hosts_on, bool kthreads_on, Clock::time_point until) {
    auto now = Clock::now();
    Clock::time_point next = until;
    for (std::size_t i = 0; i < drivers_.size() && !gone_; ++i) {
      Driver& d = drivers_[i];
      if (d.busy || !d.active) continue;
      const bool on = d.kind == Driver::Kind::Kthread ? kthreads_on : hosts_on;
      if (!on) continue;
      if (d.due <= now) {
        switch (d.kind) {
          case Driver::Kind::Host: issue_host(i); break;
          case Driver::Kind::Reaper: issue_reaper(i); break;
          case Driver::Kind::Kthread: issue_kthread(i); break;
        }
      }
      if (!drivers_[i].busy) next = std::min(next, drivers_[i].due);
    }
    if (gone_) return;
    Reply r;
    switch (p_->next(r, std::max(next, Clock::now()))) {
      case sut::SutProcess::Event::Reply:
        handle(r);
        // Whatever else has arrived, without waiting.
        while (!gone_ && p_->next(r, Clock::now()) == sut::SutProcess::Event::Reply) handle(r);
        break;
      case sut::SutProcess::Event::Timeout: break;
      case sut::SutProcess::Event::Gone: died(p_->termination().empty() ? "ended" : p_->termination()); break;
    }
  }

  bool any_busy(Driver::Kind which, bool blocking_too) const {
    for (const Driver& d : drivers_)
      if (d.busy && (d.kind == Driver::Kind::Kthread) == (which == Driver::Kind::Kthread) &&
          (blocking_too || !traits(d.op.body).can_block))
        return true;
    return false;
  }

  // A call in flight that may wait without a timeout (the only kind a barrier lets stay in flight).
  bool busy_not_untimed(bool kthreads) const {
    for (const Driver& d : drivers_)
      if (d.busy && (d.kind == Driver::Kind::Kthread) == kthreads && !Lane::untimed_wait(d.op)) return true;
    return false;
  }

  // A barrier (with introspection): hosts and the reaper pause, then the kthread bodies, until only
  // untimed waits are in flight; then the SUT's §7 state is read. It counts only if nothing returned
  // while it was read and every call still in flight shows in it as waiting (a host in `blocked`, a
  // body PARKED): then the state is that of a quiescent point, which lets the judge commit. A barrier
  // that does not settle within max(200 ms, 12 ticks) is skipped. Returns the state and its instant.
  std::optional<std::pair<std::int64_t, Observation>> barrier() {
    const auto limit = Clock::now() + std::max<std::chrono::nanoseconds>(std::chrono::milliseconds(200), std::chrono::nanoseconds(12 * tick_ns_));
    for (bool kthreads : {false, true})
      while (busy_not_untimed(kthreads)) {
        if (gone_ || Clock::now() >= limit) return std::nullopt;
        pump(false, !kthreads, std::min(limit, Clock::now() + std::chrono::milliseconds(2)));
      }
    // Calls that only look untimed (a suspend_check with nothing to acknowledge) return at once:
    // let them, until 2 ms pass with no answer.
    for (std::uint64_t before = replies_ + 1; before != replies_ && Clock::now() < limit && !gone_;) {
      before = replies_;
      pump(false, false, Clock::now() + std::chrono::milliseconds(2));
    }
    // The state is placed at the instant before it is asked for. If a tick's window (its phase is
    // known to within the slack) contains that instant, the judge may not commit there (either order
    // of the tick and the state is possible, and they differ in `now`): start the read after it.
    const std::int64_t phase = drivers_[0].lane->now_ns() % tick_ns_;
    if (phase <= slack_ns_ + kTickMargin.count()) std::this_thread::sleep_for(std::chrono::nanoseconds(slack_ns_ + kTickMargin.count() - phase + 1));
    const std::uint64_t replies = replies_;
    Request q;
    q.seq = ++seq_;
    q.call = Call::State;
    const std::int64_t at = drivers_[0].lane->now_ns();
    if (!p_->send(q)) return std::nullopt;
    std::optional<Reply> got;
    const auto deadline = Clock::now() + c_.grace;
    while (!got && !gone_) {
      Reply r;
      switch (p_->next(r, deadline)) {
        case sut::SutProcess::Event::Reply:
          if (r.seq == q.seq && r.kind == ReplyKind::Returned) got = r;
          else handle(r);
          break;
        case sut::SutProcess::Event::Timeout: died(fmt::format("did not return from lockstep_sut_state within {} ms", c_.grace.count())); return std::nullopt;
        case sut::SutProcess::Event::Gone: died(p_->termination().empty() ? "ended" : p_->termination()); return std::nullopt;
      }
    }
    if (!got || replies_ != replies) return std::nullopt;
    std::string error;
    std::optional<Observation> obs = sut::read_state(*p_, *got, c_.threads, error);
    if (!obs) {
      died(fmt::format("answered lockstep_sut_state wrongly: {}", error));
      return std::nullopt;
    }
    for (const Driver& d : drivers_) {
      if (!d.busy) continue;
      if (d.kind == Driver::Kind::Kthread) {
        const auto p = std::find_if(obs->procs.begin(), obs->procs.end(), [&](const ObsProc& x) { return x.pid == d.self->pid; });
        if (p == obs->procs.end() || p->kstate != KState::Parked) return std::nullopt;
      } else if (std::none_of(obs->blocked.begin(), obs->blocked.end(), [&](const ObsWait& w) { return w.host == d.index; })) {
        return std::nullopt;
      }
    }
    return std::pair{at, std::move(*obs)};
  }

  void loop() {
    const auto start = Clock::now();
    auto last_barrier = start;
    auto last_progress = start;
    while (!gone_) {
      const auto now = Clock::now();
      const double secs = std::chrono::duration<double>(now - start).count();
      if (secs >= c_.duration || (c_.ops != 0 && calls_ >= c_.ops)) break;
      if (progress_ && now - last_progress >= std::chrono::milliseconds(100)) {
        progress_(secs, calls_);
        last_progress = now;
      }
      if (introspect_ && c_.barrier.count() > 0 && now - last_barrier >= c_.barrier) {
        if (auto o = barrier()) {
          observations_.push_back(std::move(*o));
          for (Driver& d : drivers_)
            if (d.view) d.view->observed();  // untimed waits in flight keep the curlwp too
        } else {
          ++out_.stats.barriers_skipped;
        }
        last_barrier = Clock::now();
        continue;
      }
      pump(true, true, now + std::chrono::milliseconds(2));
    }
    out_.stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    // The end: hosts and the reaper first, then the kthread bodies, each within the grace; calls
    // that may block are let be once only they are left.
    auto settle = [&](Driver::Kind which, bool kthreads_on) {
      const auto deadline = Clock::now() + c_.grace;
      while (!gone_ && Clock::now() < deadline && any_busy(which, false)) pump(false, kthreads_on, std::min(deadline, Clock::now() + std::chrono::milliseconds(5)));
      // Let the blocking ones a few ticks to end on their own (timeouts), without waiting the grace.
      const auto ticks = Clock::now() + std::chrono::nanoseconds(std::min<std::int64_t>(12 * tick_ns_, 200'000'000));
      while (!gone_ && Clock::now() < std::min(ticks, deadline) && any_busy(which, true)) pump(false, kthreads_on, std::min(ticks, Clock::now() + std::chrono::milliseconds(5)));
    };
    settle(Driver::Kind::Host, true);
    settle(Driver::Kind::Kthread, false);
    for (const Driver& d : drivers_)
      if (d.busy && !traits(d.op.body).can_block)
        out_.stuck.push_back(fmt::format("{} in {}", d.lane->name(), to_string(d.op)));
    // The state at the end, when only untimed waits are left.
    if (introspect_ && out_.stuck.empty() && !gone_)
      if (auto o = barrier()) {
        observations_.push_back(std::move(*o));
        out_.observed = true;
      }
  }

  void finish() {
    const std::int64_t end_ns = drivers_[0].lane->now_ns();
    std::vector<std::vector<Record>> records;
    for (Driver& d : drivers_) {
      records.push_back(d.lane->close());
      (d.kind == Driver::Kind::Kthread ? out_.stats.kthread_ops : out_.stats.host_ops) += d.lane->calls();
    }
    out_.stats.focused = reg_.focused_draws.load();
    info_.output = p_->output();
    p_->kill();
    out_.hosts = c_.threads;
    out_.maxproc = s_.maxproc;
    out_.pid_max = model::kPidMax;
    out_.stats.kthreads_created = kthreads_created_;
    MergeInput in;
    in.before = model_.state();
    in.hosts = c_.threads;
    in.tick_ns = tick_ns_;
    in.tick_slack_ns = slack_ns_;
    in.end_ns = end_ns;
    out_.stats.barriers = observations_.size() - (out_.observed ? 1 : 0);
    in.observations = std::move(observations_);
    store_merged(merge_history(std::move(in), records), out_);
    out_.plugin = true;
    out_.introspected = introspect_;
  }

  const StressConfig& c_;
  const SutStressOptions& s_;
  sut::SpawnOptions spawn_ = s_.spawn;  // its LOCKSTEP_TICK_US lengthened when rump_init is too slow for the tick
  SutStressInfo& info_;
  const Progress& progress_;
  Model model_;
  Registry reg_;
  HostLimits lim_;
  std::unique_ptr<sut::SutProcess> p_;
  std::uint64_t mask_ = 0;
  std::int64_t tick_ns_ = 0, slack_ns_ = 0;
  Clock::time_point epoch_{}, started_{};
  std::vector<Driver> drivers_;
  std::size_t hosts_ = 0;
  int initial_kthreads_ = 0;
  std::map<std::uint32_t, std::size_t> in_flight_;  // request seq -> driver
  std::uint32_t seq_ = 0;
  std::size_t last_sent_ = ~std::size_t{0};
  std::vector<std::uint32_t> free_slots_;
  std::uint32_t next_slot_ = 0;
  std::size_t reap_cursor_ = 0;
  std::uint64_t calls_ = 0;
  int kthreads_created_ = 0;
  bool gone_ = false;
  bool introspect_ = false;
  std::uint64_t replies_ = 0;  // calls answered so far (a barrier's state counts only if none came while it was read)
  std::vector<std::pair<std::int64_t, Observation>> observations_;
  StressRecording out_;
};

}  // namespace

StressRecording record_sut_stress(const StressConfig& c, const SutStressOptions& s, SutStressInfo& info, const Progress& progress) {
  if (auto bad = check_config(c)) throw std::invalid_argument(*bad);
  ::signal(SIGPIPE, SIG_IGN);  // a child that died must be a verdict, not the end of lockstep
  SutStress run(c, s, info, progress);
  return run.run();
}

}  // namespace lockstep::checker::stress
