// Lockstep execution of one program (see lockstep.hpp). The control thread (the
// caller) owns the model and the comparisons; actor threads only call the impl and
// post what it returned. Every actor runs under the controlled scheduler, one at a
// time: a step runs its actor until it returns or blocks in the kernel, then lets
// every thread the step woke run to its next blocking point, then compares.
#include "checker/lockstep.hpp"

#include <rump/rump_syscalls.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "checker/actor.hpp"
#include "checker/observation.hpp"
#include "impl/controlled.hpp"
#include "impl/kernel.hpp"
#include "instance.hpp"
#include "model/invariants.hpp"
#include "model/model.hpp"

namespace lockstep::checker {

using namespace lockstep::model;
namespace sync = impl::sync;
using Clock = std::chrono::steady_clock;

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Agree: return "agree";
    case Verdict::Diverge: return "DIVERGE";
    case Verdict::Deadlock: return "DEADLOCK";
  }
  return "?";
}

namespace {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

bool is_sys_call(const OpBody& b) {
  return std::holds_alternative<op::Open>(b) || std::holds_alternative<op::Write>(b) ||
         std::holds_alternative<op::Fstat>(b) || std::holds_alternative<op::Close>(b) ||
         std::holds_alternative<op::Dup>(b) || std::holds_alternative<op::Setuid>(b);
}
bool is_void(const OpBody& b) {
  return std::holds_alternative<op::Switch>(b) || std::holds_alternative<op::Release>(b) ||
         std::holds_alternative<op::KprocShutdown>(b) || std::holds_alternative<op::Work>(b) ||
         std::holds_alternative<op::KthreadExit>(b) || std::holds_alternative<op::SuspendCheck>(b) ||
         std::holds_alternative<op::Tick>(b) || std::holds_alternative<op::Init>(b) ||
         std::holds_alternative<op::KprocStart>(b);
}

std::string errno_name(int e) {
  switch (e) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case ESRCH: return "ESRCH";
    case EBUSY: return "EBUSY";
    case EBADF: return "EBADF";
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case EAGAIN: return "EAGAIN/EWOULDBLOCK";
    default: return fmt::format("errno {}", e);
  }
}

std::string lwp_name(LwpId l) { return l == kNoLwp ? "NULL" : fmt::format("lwp#{}", l); }

// A returned value as the C API shows it; shared by both sides' renderings so they read alike.
std::string render_returned(const OpBody& b, std::int64_t ret, int err, std::int64_t st_size, const std::string& lwp) {
  if (std::holds_alternative<op::Curlwp>(b)) return lwp;
  if (is_void(b)) return "returned";
  if (is_sys_call(b) && ret == -1) return fmt::format("-1 {}", errno_name(err));
  if (std::holds_alternative<op::Fstat>(b)) return fmt::format("0 st_size={}", st_size);
  if (std::holds_alternative<op::Getpid>(b) || std::holds_alternative<op::Getppid>(b) ||
      std::holds_alternative<op::Getuid>(b) || is_sys_call(b))
    return fmt::format("{}", ret);
  return errno_name(static_cast<int>(ret));
}

std::string render_model(const Outcome& o, const OpBody& b) {
  switch (o.kind) {
    case OutcomeKind::Blocked: return "BLOCKED";
    case OutcomeKind::Fatal: return std::string(o.label);
    case OutcomeKind::NotRunnable: return fmt::format("not runnable ({})", o.label);
    case OutcomeKind::Dead: return "dead";
    case OutcomeKind::Returned: break;
  }
  return render_returned(b, o.ret, o.err, o.st_size, lwp_name(o.lwp));
}

using HostActor = ActorThread;
using KthreadActor = ActorThread;

// Settling after a step runs every woken thread to its next stop. Threads that keep waking each
// other for this many turns are a livelock, reported like a deadlock.
constexpr std::size_t kMaxSettleTurns = 100000;
// Teardown always gets at least this long, even past the deadline.
constexpr std::chrono::milliseconds kMinTeardownGrace{50};

// How one scheduling turn (or a settle) ended.
enum class Turn : std::uint8_t { ok, watchdog, out_of_time, livelock };

class Runner {
 public:
  Runner(const LockstepConfig& c, Model model) : c_(c), model_(std::move(model)) {
    inst_ = std::make_unique<Instance>();
    inst_->sched = std::make_shared<Sched>(Sched::Options{false, c.watchdog});
    sched_ = inst_->sched.get();
    impl::KernelConfig kc;
    kc.maxproc = c.program.maxproc;
    kc.pid_max = c.program.pid_max;
    kc.backend = inst_->sched;
    kc.faults = c.faults;
    kc.panic_hook = [](const impl::PanicInfo&) {};  // returning makes the op throw impl::Panic
    inst_->kernel = std::make_unique<impl::Kernel>(kc);
    kernel_ = inst_->kernel.get();
    proc_of_ = {kernel_->proc_handle(0), kernel_->proc_handle(1)};
    const int n = c.program.chooser.hosts;
    for (int i = 0; i <= n; ++i) {  // H0..H{n-1}, then the reaper
      auto a = std::make_unique<HostActor>();
      a->name = i < n ? fmt::format("H{}", i) : "reaper";
      a->ctx = std::make_unique<impl::HostContext>(*kernel_, a->name);
      a->mbox = std::make_unique<Mailbox>(*sched_, a->name);
      host_index_[a->ctx->id()] = i;
      HostActor* raw = a.get();
      Sched* sched = sched_;  // the thread may outlive this Runner (an abandoned instance): no `this`
      a->thread = sched_->spawn(a->name, [sched, raw] {
        raw->tid = sched->self().value_or(0);
        raw->mbox->serve();
      });
      hosts_.push_back(raw);
      inst_->hosts.push_back(std::move(a));
    }
    start_ = settle();
  }

  ~Runner() {
    if (inst_) (void)teardown(std::move(inst_), c_.teardown_grace);
  }

  LockstepResult run(const std::function<std::optional<Op>(const State&)>& next, std::size_t max_steps) {
    LockstepResult res;
    try {
      if (start_ != Turn::ok) {
        stopped(res, start_, "before the first step (the actor threads did not reach their mailboxes)");
      } else {
        for (std::size_t i = 0; i < max_steps; ++i) {
          if (c_.deadline && Clock::now() >= *c_.deadline) {
            res.cut_short = true;
            break;
          }
          std::optional<Op> op = next(model_.state());
          if (!op) break;
          if (!step(i, *op, res)) break;
        }
      }
    } catch (const std::exception& e) {
      // The impl left the scheduler in a state the checker cannot drive or observe (for example a
      // thread stopped while holding a lock the observation needs): the run cannot go on.
      deadlock(res, fmt::format("(the checker could not go on: {})", e.what()));
    }
    finish(res);
    return res;
  }

 private:
  // ---- one step ------------------------------------------------------------------------------------
  bool step(std::size_t index, const Op& op, LockstepResult& res) {
    StepRecord rec;
    rec.index = index;
    rec.op = op;
    in_flight_ = op;
    if (!model_.runnable(op.actor)) return false;  // a resolved step always names a runnable actor

    // 1. The impl runs the step, then every thread it woke runs to its next blocking point.
    std::optional<ImplResult> acting;
    KthreadActor* newborn = nullptr;
    std::optional<std::string> gone;  // the acting thread could not take the op: why
    if (op.actor.kind == Actor::Kind::Clock) {
      sched_->tick(static_cast<sync::Ticks>(std::get<op::Tick>(op.body).n));
      if (Turn t = settle(); t != Turn::ok) return stopped(res, t, "after tick");
      acting = value(0);  // the clock's step always returns
    } else {
      ActorThread& a = op.actor.kind == Actor::Kind::Kthread ? *kthreads_.at(op.actor.index) : host_actor(op.actor);
      const Sched::ThreadId tid = a.tid;
      if (op.actor.kind == Actor::Kind::Kthread) {
        a.pending = op;
        a.mbox->post(kthread_command(a, op));
      } else {
        a.pending = op;
        if (creates_kthread(op.body)) newborn = new_kthread_actor();
        a.mbox->post(host_command(a, op, newborn));
      }
      gone = not_waiting_for_ops(tid, to_string(op.actor));
      if (!gone) {
        if (Turn t = turn(tid); t != Turn::ok) return stopped(res, t, fmt::format("{} did not return or block", to_string(op.actor)));
        if (Turn t = settle(); t != Turn::ok) return stopped(res, t, "after the step");
        acting = a.mbox->take_result();
        if (acting) clear_pending(op.actor);
        else if (const auto t = sched_->thread(tid); t && t->state == Sched::State::exited)
          gone = fmt::format("{}'s thread exited inside the call", to_string(op.actor));
      }
    }
    std::map<std::string, std::pair<Op, ImplResult>> impl_done = collect_completions();

    // 2. The model takes the same step, binding the pid the impl chose.
    Choice choice;
    if (acting && acting->kind == ImplResult::Kind::Returned && acting->new_pid > 0) choice.pid = acting->new_pid;
    std::optional<State> before;
    if (c_.invariants) before = model_.state();
    const StepResult mr = model_.apply(op, choice);
    res.coverage.count(mr.outcome);
    for (const Completion& done : mr.completions) res.coverage.count(done.outcome);
    rec.outcome = mr.outcome;
    rec.woke = mr.completions;
    rec.expected = render_model(mr.outcome, op.body);
    rec.observed = gone ? "never ran" : acting ? render_impl(*acting, op.body) : "BLOCKED";
    rec.impl = impl_outcome(acting);
    if (gone) rec.impl = ImplOutcome{ImplOutcome::Kind::Error, 0, 0, kNoLwp, 0, *gone};
    for (const auto& [who, r] : impl_done) rec.impl_woke.emplace_back(r.first.actor, impl_outcome(r.second));
    res.steps.push_back(rec);
    StepRecord& saved = res.steps.back();

    if (gone) return diverge(res, mr.outcome.rule, fmt::format("{} outcome ({})", op_name(op.body), *gone), saved.expected, "never ran");
    if (mr.outcome.kind == OutcomeKind::NotRunnable)
      return diverge(res, mr.outcome.label == "pid-not-allowed" ? Rule::R5 : mr.outcome.rule, "pid choice",
                     "a pid not in the table", fmt::format("pid {} (in use)", choice.pid.value_or(0)));
    // 3. The acting op's outcome.
    if (auto why = compare(mr.outcome, acting, op.body))
      return diverge(res, mr.outcome.rule, fmt::format("{} outcome{}", op_name(op.body), *why), saved.expected, saved.observed);
    if (mr.outcome.is_fatal()) return false;  // §2: both sides FATAL with the same id: agreement, the program ends
    bind(op, mr, acting, newborn, saved);

    // 4. The callers this step woke, with what they returned.
    std::map<std::string, std::pair<Op, Outcome>> model_done;
    for (const Completion& d : mr.completions)
      model_done.emplace(to_string(d.actor), std::pair{blocked_op(d.actor).value_or(Op{d.actor, {}}), d.outcome});
    for (const auto& [who, m] : model_done) {
      auto it = impl_done.find(who);
      const OpBody& body = it != impl_done.end() ? it->second.first.body : m.first.body;
      saved.completions.push_back(fmt::format("{} -> {}", who, render_model(m.second, body)));
      if (it == impl_done.end())
        return diverge(res, m.second.rule, fmt::format("wake-up of {}", who), fmt::format("woken ({})", render_model(m.second, body)),
                       "still blocked");
      if (auto why = compare(m.second, it->second.second, body))
        return diverge(res, m.second.rule, fmt::format("wake-up of {}{}", who, *why), render_model(m.second, body),
                       render_impl(it->second.second, body));
    }
    for (const auto& [who, r] : impl_done)
      if (!model_done.contains(who))
        return diverge(res, wake_rule(r.first.body), fmt::format("wake-up of {} in {}", who, op_name(r.first.body)), "still blocked",
                       fmt::format("woken ({})", render_impl(r.second, r.first.body)));

    // 5. Everything else SPEC §7 names.
    const Observation expected = observe(model_.state(), c_.program.chooser.hosts);
    const Observation observed = observe_impl();
    saved.digest = digest(expected);
    if (!(expected == observed)) {
      saved.impl_state = observed;
      if (auto d = first_difference(expected, observed, mr.outcome.rule)) return diverge(res, d->rule, "state after the step", d->text, "");
    }

    // 6. The invariants, on the model (a violation here is the model's own bug).
    if (before) {
      std::vector<Violation> v = check_step(*before, op, mr, model_.state());
      std::vector<Violation> vs = check_state(model_.state());
      v.insert(v.end(), vs.begin(), vs.end());
      if (!v.empty()) return diverge(res, v.front().rule, "model invariant", "holds", v.front().reason);
    }
    return true;
  }

  // ---- impl commands -------------------------------------------------------------------------------
  static bool creates_kthread(const OpBody& b) {
    return std::holds_alternative<op::KthreadCreate>(b) || std::holds_alternative<op::KprocStart>(b);
  }

  template <class F>
  static Mailbox::Command guarded(F f) {
    return [f = std::move(f)]() -> ImplResult {
      ImplResult r;
      try {
        r = f();
      } catch (const impl::Panic& p) {
        r = ImplResult{};
        r.kind = ImplResult::Kind::Fatal;
        r.what = p.rule();
      } catch (const std::exception& e) {
        r = ImplResult{};
        r.kind = ImplResult::Kind::Error;
        r.what = e.what();
      } catch (...) {
        r = ImplResult{};
        r.kind = ImplResult::Kind::Error;
        r.what = "an exception of unknown type";
      }
      return r;
    };
  }

  static ImplResult sys(long v) {
    ImplResult r;
    if (v < 0) {
      r.ret = -1;
      r.err = static_cast<int>(-v);
    } else {
      r.ret = v;
    }
    return r;
  }
  static ImplResult value(std::int64_t v) {
    ImplResult r;
    r.ret = v;
    return r;
  }

  ::lwp* lwp_handle(LwpId l) const {
    if (l == kNoLwp) return nullptr;
    if (l < lwp_of_.size() && lwp_of_[l] != nullptr) return lwp_of_[l];
    return kernel_->never_issued_lwp();
  }
  ::proc* proc_handle(ProcId p) const {
    if (p < proc_of_.size() && proc_of_[p] != nullptr) return proc_of_[p];
    return kernel_->never_issued_proc();
  }

  // The actor of a kthread a step may create. The instance owns it from now on, whatever the step's
  // outcome: a kthread the impl creates and the model refuses serves it too, and teardown closes it.
  KthreadActor* new_kthread_actor() {
    auto a = std::make_unique<KthreadActor>();
    a->name = fmt::format("kthread#{}", inst_->kthreads.size());
    a->mbox = std::make_unique<Mailbox>(*sched_, "kthread");
    inst_->kthreads.push_back(std::move(a));
    return inst_->kthreads.back().get();
  }

  Mailbox::Command host_command(HostActor& a, const Op& op, KthreadActor* newborn) {
    impl::Kernel& k = *kernel_;
    impl::HostContext& h = *a.ctx;
    return std::visit(
        overloaded{
            [&](const op::Init&) { return guarded([] { return value(0); }); },
            [&](const op::Rfork& o) {
              return guarded([&k, &h, f = o.flags] {
                ImplResult r = value(k.rfork(h, f));
                if (r.ret == 0) {
                  r.new_pid = k.getpid(h);
                  r.new_lwp = k.curlwp(h);
                  r.new_proc = k.proc_handle(r.new_pid);
                }
                return r;
              });
            },
            [&](const op::Newlwp& o) {
              return guarded([&k, &h, pid = o.pid] {
                ImplResult r = value(k.newlwp(h, pid));
                if (r.ret == 0) r.new_lwp = k.curlwp(h);
                return r;
              });
            },
            [&](const op::Switch& o) {
              return guarded([&k, &h, l = lwp_handle(o.lwp)] {
                k.switch_lwp(h, l);
                return value(0);
              });
            },
            [&](const op::Release&) { return guarded([&k, &h] { k.releaselwp(h); return value(0); }); },
            [&](const op::Curlwp&) {
              return guarded([&k, &h] {
                ImplResult r;
                r.lwp = k.curlwp(h);
                return r;
              });
            },
            [&](const op::Getpid&) { return guarded([&k, &h] { return value(k.getpid(h)); }); },
            [&](const op::Getppid&) { return guarded([&k, &h] { return value(k.getppid(h)); }); },
            [&](const op::Open& o) {
              return guarded([&k, &h, path = o.path, create = o.create] {
                return sys(k.open(h, path, create ? (RUMP_O_RDWR | RUMP_O_CREAT) : RUMP_O_RDWR));
              });
            },
            [&](const op::Write& o) {
              return guarded([&k, &h, fd = o.fd, n = o.n] { return sys(k.write(h, fd, static_cast<std::size_t>(n))); });
            },
            [&](const op::Fstat& o) {
              return guarded([&k, &h, fd = o.fd] {
                std::uint64_t size = 0;
                ImplResult r = sys(k.fstat(h, fd, &size));
                r.st_size = static_cast<std::int64_t>(size);
                return r;
              });
            },
            [&](const op::Close& o) { return guarded([&k, &h, fd = o.fd] { return sys(k.close(h, fd)); }); },
            [&](const op::Dup& o) { return guarded([&k, &h, fd = o.fd] { return sys(k.dup(h, fd)); }); },
            [&](const op::Getuid&) { return guarded([&k, &h] { return value(k.getuid(h)); }); },
            [&](const op::Setuid& o) { return guarded([&k, &h, uid = o.uid] { return sys(k.setuid(h, uid)); }); },
            [&](const op::KthreadCreate& o) {
              return guarded([&k, &h, body = inst_->kthread_body(newborn), flags = o.flags, name = o.name] {
                ::proc* np = nullptr;
                ImplResult r = value(k.kthread_create(h, body, &np, flags, 0, name));
                r.proc = np;
                if (r.ret == 0) r.new_pid = k.proc_pid(np);
                return r;
              });
            },
            [&](const op::KprocStart& o) {
              return guarded([&k, &h, body = inst_->kthread_body(newborn), name = o.name] {
                ::proc* np = nullptr;
                k.kproc_start(h, body, name, &np);
                ImplResult r = value(0);
                r.proc = np;
                r.new_pid = k.proc_pid(np);
                return r;
              });
            },
            [&](const op::Suspend& o) {
              return guarded([&k, &h, p = proc_handle(o.proc), t = o.timo] { return value(k.kthread_suspend(h, p, t)); });
            },
            [&](const op::Resume& o) { return guarded([&k, &h, p = proc_handle(o.proc)] { return value(k.kthread_resume(h, p)); }); },
            [&](const op::SuspendCheck& o) {
              return guarded([&k, &h, p = proc_handle(o.proc)] { k.kthread_suspend_check(h, p); return value(0); });
            },
            [&](const op::KprocShutdown& o) {
              return guarded([&k, &h, p = proc_handle(o.proc)] { k.kproc_shutdown(h, p, 0); return value(0); });
            },
            [&](const op::WaitExit& o) {
              return guarded([&k, &h, p = proc_handle(o.proc), t = o.timo] { return value(k.kthread_wait_exit(h, p, t)); });
            },
            [&](const op::Reap& o) { return guarded([&k, &h, p = proc_handle(o.proc)] { return value(k.kthread_reap(h, p)); }); },
            // Performed by other actors; a host never posts these.
            [&](const auto&) {
              return guarded([]() -> ImplResult { throw std::logic_error("op posted to the wrong actor"); });
            },
        },
        op.body);
  }

  // Runs on the kthread's own thread. kthread_exit never returns (it unwinds this body), so its
  // result is posted first; only exceptions derived from std::exception are converted, so the
  // exit's unwinding (and the kernel's shutdown unwinding) pass through.
  Mailbox::Command kthread_command(KthreadActor& ka, const Op& op) {
    impl::Kernel& k = *kernel_;
    Mailbox* mbox = ka.mbox.get();
    auto self_host = []() -> impl::HostContext& { return impl::this_kthread()->host; };
    auto fatal = [](const impl::Panic& p) {
      ImplResult r;
      r.kind = ImplResult::Kind::Fatal;
      r.what = p.rule();
      return r;
    };
    auto error = [](const std::exception& e) {
      ImplResult r;
      r.kind = ImplResult::Kind::Error;
      r.what = e.what();
      return r;
    };
    if (const auto* chk = std::get_if<op::SuspendCheck>(&op.body)) {
      return [&k, self_host, fatal, error, p = proc_handle(chk->proc)]() -> ImplResult {
        try {
          k.kthread_suspend_check(self_host(), p);
        } catch (const impl::Panic& e) {
          return fatal(e);
        } catch (const std::exception& e) {
          return error(e);
        }
        return value(0);
      };
    }
    if (std::holds_alternative<op::Work>(op.body)) {
      return [&k, self_host, fatal, error]() -> ImplResult {
        try {
          k.kthread_progress(self_host());
        } catch (const impl::Panic& e) {
          return fatal(e);
        } catch (const std::exception& e) {
          return error(e);
        }
        return value(0);
      };
    }
    const int code = std::get<op::KthreadExit>(op.body).code;
    return [&k, self_host, mbox, code]() -> ImplResult {
      mbox->post_result(value(0));
      k.kthread_exit(self_host(), code);
    };
  }

  // ---- results and bindings ------------------------------------------------------------------------
  HostActor& host_actor(const Actor& a) {
    return *hosts_[a.kind == Actor::Kind::Reaper ? hosts_.size() - 1 : a.index];
  }

  // The op an actor is still blocked in (the impl has not returned from it).
  std::optional<Op> blocked_op(const Actor& a) {
    if (a.kind == Actor::Kind::Kthread) {
      auto it = kthreads_.find(a.index);
      return it == kthreads_.end() ? std::nullopt : it->second->pending;
    }
    if (a.kind == Actor::Kind::Host && a.index < hosts_.size()) return hosts_[a.index]->pending;
    return std::nullopt;
  }

  void clear_pending(const Actor& a) {
    if (a.kind == Actor::Kind::Kthread) kthreads_.at(a.index)->pending.reset();
    else host_actor(a).pending.reset();
  }

  // Every actor that was blocked in the kernel and has now returned, by actor name.
  std::map<std::string, std::pair<Op, ImplResult>> collect_completions() {
    std::map<std::string, std::pair<Op, ImplResult>> done;
    for (auto& h : hosts_)
      if (h->pending)
        if (auto r = h->mbox->take_result()) {
          done.emplace(to_string(h->pending->actor), std::pair{*h->pending, *r});
          h->pending.reset();
        }
    for (auto& [id, k] : kthreads_)
      if (k->pending)
        if (auto r = k->mbox->take_result()) {
          done.emplace(to_string(k->pending->actor), std::pair{*k->pending, *r});
          k->pending.reset();
        }
    return done;
  }

  void bind(const Op& op, const StepResult& mr, const std::optional<ImplResult>& r, KthreadActor* newborn, StepRecord& rec) {
    const State& s = model_.state();
    lwp_of_.resize(s.lwps.size(), nullptr);
    proc_of_.resize(s.procs.size(), nullptr);
    if (!r || !mr.outcome.returned() || mr.outcome.ret != 0) return;
    const bool new_lwp = std::holds_alternative<op::Rfork>(op.body) || std::holds_alternative<op::Newlwp>(op.body);
    if (new_lwp) {
      const LwpId l = static_cast<LwpId>(s.lwps.size() - 1);
      lwp_of_[l] = r->new_lwp;
      lwp_ids_[r->new_lwp] = l;
      rec.bindings.push_back(fmt::format("lwp#{} = {}", l, static_cast<const void*>(r->new_lwp)));
      rec.bound.push_back(Binding{Binding::Kind::Lwp, l, s.procs[s.lwps[l].proc].pid});
    }
    if (std::holds_alternative<op::Rfork>(op.body)) {
      proc_of_[s.procs.size() - 1] = r->new_proc;
      rec.bindings.push_back(fmt::format("proc#{} = pid {}", s.procs.size() - 1, r->new_pid));
      rec.bound.push_back(Binding{Binding::Kind::Proc, static_cast<std::uint32_t>(s.procs.size() - 1), r->new_pid});
    }
    if (creates_kthread(op.body) && newborn) {
      const ProcId p = mr.outcome.proc;
      proc_of_[p] = r->proc;
      kthreads_[p] = newborn;
      rec.bindings.push_back(fmt::format("proc#{} = kthread pid {}", p, r->new_pid));
      rec.bound.push_back(Binding{Binding::Kind::Proc, p, r->new_pid});
    }
  }

  std::optional<std::string> compare(const Outcome& m, const std::optional<ImplResult>& r, const OpBody& b) const {
    if (m.kind == OutcomeKind::Blocked) {
      if (r) return std::string(" (the call should block)");
      return std::nullopt;
    }
    if (!r) return std::string(" (the call blocked)");
    if (r->kind == ImplResult::Kind::Error) return fmt::format(" (the impl threw: {})", r->what);
    if (m.kind == OutcomeKind::Fatal) {
      if (r->kind != ImplResult::Kind::Fatal || r->what != fatal_name(m.fatal)) return std::string();
      return std::nullopt;
    }
    if (r->kind == ImplResult::Kind::Fatal) return std::string();
    if (std::holds_alternative<op::Curlwp>(b)) {
      auto it = lwp_ids_.find(r->lwp);
      const LwpId got = r->lwp == nullptr ? kNoLwp : it == lwp_ids_.end() ? kNoLwp - 1 : it->second;
      if (got != m.lwp) return std::string();
      return std::nullopt;
    }
    if (is_void(b)) return std::nullopt;
    if (m.ret != r->ret || (m.ret == -1 && is_sys_call(b) && m.err != r->err)) return std::string();
    if (std::holds_alternative<op::Fstat>(b) && m.ret == 0 && m.st_size != r->st_size) return std::string(" (st_size)");
    return std::nullopt;
  }

  ImplOutcome impl_outcome(const std::optional<ImplResult>& r) const {
    ImplOutcome o;
    if (!r) {
      o.kind = ImplOutcome::Kind::Blocked;
      return o;
    }
    o.kind = r->kind == ImplResult::Kind::Fatal   ? ImplOutcome::Kind::Fatal
             : r->kind == ImplResult::Kind::Error ? ImplOutcome::Kind::Error
                                                  : ImplOutcome::Kind::Returned;
    o.ret = r->ret;
    o.err = r->err;
    o.st_size = r->st_size;
    o.what = r->what;
    if (r->lwp != nullptr) {
      auto it = lwp_ids_.find(r->lwp);
      o.lwp = it == lwp_ids_.end() ? kNoLwp - 1 : it->second;
    }
    return o;
  }

  std::string render_impl(const ImplResult& r, const OpBody& b) const {
    if (r.kind == ImplResult::Kind::Fatal) return fmt::format("FATAL({})", r.what);
    if (r.kind == ImplResult::Kind::Error) return fmt::format("exception: {}", r.what);
    std::string lwp = "NULL";
    if (r.lwp != nullptr) {
      auto it = lwp_ids_.find(r.lwp);
      lwp = it == lwp_ids_.end() ? fmt::format("an lwp never bound ({})", static_cast<const void*>(r.lwp)) : lwp_name(it->second);
    }
    return render_returned(b, r.ret, r.err, r.st_size, lwp);
  }

  static Rule wake_rule(const OpBody& b) {
    if (std::holds_alternative<op::Suspend>(b) || std::holds_alternative<op::KprocShutdown>(b)) return Rule::S2;
    if (std::holds_alternative<op::WaitExit>(b)) return Rule::S5;
    if (std::holds_alternative<op::SuspendCheck>(b)) return Rule::S3;
    return Rule::K3;
  }

  Observation observe_impl() const {
    const impl::Snapshot snap = kernel_->snapshot();
    Observation o;
    auto bound = [&](const std::optional<impl::HostId>& h) -> std::int32_t {
      if (!h) return kUnbound;
      if (const impl::HostSnapshot* hs = snap.host(*h); hs != nullptr && hs->kernel_thread) return kKernelThread;
      auto it = host_index_.find(*h);
      return it == host_index_.end() ? 1000 + static_cast<std::int32_t>(*h) : it->second;
    };
    std::vector<std::uint64_t> table_keys;
    std::vector<std::vector<std::pair<int, std::uint64_t>>> fd_keys;
    for (const impl::ProcSnapshot& p : snap.procs) {
      ObsProc op;
      op.pid = p.pid;
      op.ppid = p.ppid;
      op.comm = p.comm;
      op.kind = static_cast<ProcKind>(static_cast<int>(p.kind));
      op.uid = p.uid;
      for (const impl::LwpSnapshot& l : p.lwps) op.lwps.push_back(ObsLwp{l.lid, bound(l.bound_to), l.released});
      if (p.kthread) {
        op.kstate = static_cast<KState>(static_cast<int>(p.kthread->state));
        op.suspend_requested = p.kthread->suspend_requested;
        op.progress = p.kthread->progress;
        op.exit_code = p.kthread->exit_code.value_or(0);
      }
      table_keys.push_back(p.fdtable);
      std::vector<std::pair<int, std::uint64_t>> fds;
      if (const impl::FdTableSnapshot* t = snap.fdtable(p.fdtable))
        for (const impl::FdSnapshot& f : t->fds) fds.emplace_back(f.fd, f.description);
      fd_keys.push_back(std::move(fds));
      o.procs.push_back(std::move(op));
    }
    canonicalize_fds(o.procs, table_keys, fd_keys);
    o.nprocs = snap.nprocs;
    for (int i = 0; i < c_.program.chooser.hosts; ++i) {
      ObsHost oh;
      if (const impl::HostSnapshot* hs = snap.host(hosts_[i]->ctx->id())) {
        if (hs->curlwp != 0 && hs->curlwp_pid && hs->curlwp_lid) oh.curlwp = std::pair{*hs->curlwp_pid, *hs->curlwp_lid};
        oh.pid = hs->current_pid;
      }
      o.hosts.push_back(oh);
    }
    for (const impl::WaitSnapshot& w : snap.blocked) {
      if (w.kind == impl::WaitKind::park) continue;  // a parked kthread shows as its state
      auto it = host_index_.find(w.host);
      o.blocked.push_back(ObsWait{it == host_index_.end() ? 1000 + static_cast<int>(w.host) : it->second,
                                  w.kind == impl::WaitKind::suspend ? "kthread_suspend" : "kthread_wait_exit", w.target});
    }
    std::stable_sort(o.blocked.begin(), o.blocked.end(), [](const ObsWait& a, const ObsWait& b) { return a.host < b.host; });
    for (const impl::FileSnapshot& f : snap.files) o.files[f.path] = static_cast<std::int64_t>(f.size);
    o.console = snap.console;
    return o;
  }

  // ---- verdicts and scheduling ---------------------------------------------------------------------
  bool diverge(LockstepResult& res, Rule rule, std::string what, std::string expected, std::string observed) {
    res.verdict = Verdict::Diverge;
    res.divergence = Divergence{res.steps.empty() ? 0 : res.steps.back().index, rule, std::move(what), std::move(expected),
                                std::move(observed)};
    return false;
  }

  static std::string state_text(const Sched::ThreadInfo& t) {
    return t.state == Sched::State::running   ? "RUNNING (stuck)"
           : t.state == Sched::State::blocked ? "blocked on " + t.object
           : t.state == Sched::State::exited  ? "exited"
                                              : "runnable";
  }
  static std::string thread_line(const Sched::ThreadInfo& t) { return fmt::format("  #{} {:<10} {}\n", t.id, t.name, state_text(t)); }

  bool deadlock(LockstepResult& res, const std::string& where) {
    res.verdict = Verdict::Deadlock;
    std::string report = fmt::format("no progress within {} ms {}; threads:\n", c_.watchdog.count(), where);
    for (const Sched::ThreadInfo& t : sched_->threads()) report += thread_line(t);
    res.deadlock_report = report;
    return false;
  }

  // A turn or a settle that did not end normally ends the run: a DEADLOCK, a livelock (reported as
  // one), or the deadline (no verdict).
  bool stopped(LockstepResult& res, Turn t, const std::string& where) {
    if (t == Turn::out_of_time) {
      res.cut_short = true;
      return false;
    }
    res.stuck = in_flight_;
    if (t == Turn::livelock)
      return deadlock(res, fmt::format("{} (a livelock: {} scheduling turns without reaching quiescence)", where, kMaxSettleTurns));
    return deadlock(res, where);
  }

  // Why thread `tid` cannot take a posted op (it is not waiting in its mailbox), if it cannot.
  std::optional<std::string> not_waiting_for_ops(Sched::ThreadId tid, const std::string& name) const {
    const std::optional<Sched::ThreadInfo> t = tid == 0 ? std::nullopt : sched_->thread(tid);
    if (!t) return fmt::format("{}'s thread never started", name);
    if (t->state == Sched::State::exited) return fmt::format("{}'s thread has exited", name);
    if (t->state != Sched::State::runnable) return fmt::format("{}'s thread is still inside an earlier call ({})", name, state_text(*t));
    return std::nullopt;
  }

  // The watchdog of the next turn: the configured one, or less when the deadline is nearer.
  std::chrono::milliseconds turn_budget() const {
    if (!c_.deadline) return c_.watchdog;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*c_.deadline - Clock::now());
    return std::clamp(left, std::chrono::milliseconds(0), c_.watchdog);
  }

  Turn turn(Sched::ThreadId tid) {
    const std::chrono::milliseconds budget = turn_budget();
    if (budget.count() == 0) return Turn::out_of_time;
    if (sched_->run(tid, budget).stop != Sched::Stop::watchdog) return Turn::ok;
    return budget < c_.watchdog ? Turn::out_of_time : Turn::watchdog;
  }

  // Runs every runnable thread, earliest-runnable first, until none is.
  Turn settle() {
    for (std::size_t turns = 0;; ++turns) {
      const std::vector<Sched::ThreadId> ids = sched_->runnable();
      if (ids.empty()) return Turn::ok;
      if (turns == kMaxSettleTurns) return Turn::livelock;
      if (Turn t = turn(ids.front()); t != Turn::ok) return t;
    }
  }

  // Tears the instance down within its grace period; an instance that cannot be torn down is
  // abandoned and reported, and a run that otherwise agreed becomes a DEADLOCK.
  void finish(LockstepResult& res) {
    std::chrono::milliseconds grace = c_.teardown_grace;
    if (c_.deadline)
      grace = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(*c_.deadline - Clock::now()), kMinTeardownGrace, grace);
    std::optional<std::string> stuck = teardown(std::move(inst_), grace);
    if (!stuck) return;
    res.abandoned = *stuck;
    if (res.verdict == Verdict::Agree && !res.cut_short) {
      res.verdict = Verdict::Deadlock;
      res.deadlock_report = "the run agreed, but at teardown " + *stuck;
    }
  }

  const LockstepConfig& c_;
  std::unique_ptr<Instance> inst_;       // everything the impl runs on; handed to teardown at the end
  Sched* sched_ = nullptr;               // inst_'s, for as long as the run lasts
  impl::Kernel* kernel_ = nullptr;
  std::vector<HostActor*> hosts_;        // H0..H{n-1}, then the reaper
  std::map<impl::HostId, int> host_index_;
  std::map<ProcId, KthreadActor*> kthreads_;  // the kthreads the model knows, by model id
  Model model_;
  std::vector<::lwp*> lwp_of_;          // model LwpId -> impl handle (the symbols' bindings)
  std::map<::lwp*, LwpId> lwp_ids_;
  std::vector<::proc*> proc_of_;        // model ProcId -> impl handle
  Turn start_ = Turn::ok;
  std::optional<Op> in_flight_;         // the op of the step being run
};

}  // namespace

LockstepResult run_lockstep(const Program& p, const LockstepConfig& c) {
  Runner r(c, Model(Config{c.program.maxproc, true, c.program.pid_max}));
  std::size_t i = 0;
  return r.run(
      [&](const State& s) -> std::optional<Op> {
        if (i >= p.steps.size()) return std::nullopt;
        return resolve(s, c.program, p.steps[i++]);
      },
      p.steps.size());
}

LockstepResult run_lockstep(const std::vector<Op>& ops, const LockstepConfig& c) {
  Runner r(c, Model(Config{c.program.maxproc, true, c.program.pid_max}));
  std::size_t i = 0;
  return r.run([&](const State&) -> std::optional<Op> { return i < ops.size() ? std::optional<Op>(ops[i++]) : std::nullopt; },
               ops.size());
}

std::string LockstepResult::summary() const {
  if (verdict == Verdict::Agree && cut_short) return fmt::format("cut short by the deadline after {} steps (no verdict)", steps.size());
  if (verdict == Verdict::Agree) return fmt::format("agree ({} steps)", steps.size());
  if (verdict == Verdict::Deadlock) return fmt::format("DEADLOCK at step {}", steps.empty() ? 0 : steps.size());
  const Divergence& d = *divergence;
  // A state difference carries its own "expected X, observed Y" text in `expected`.
  if (d.observed.empty()) return fmt::format("DIVERGE at step {} [{}]: {}: {}", d.step, rule_name(d.rule), d.what, d.expected);
  return fmt::format("DIVERGE at step {} [{}]: {}: expected {}, observed {}", d.step, rule_name(d.rule), d.what, d.expected,
                     d.observed);
}

std::string listing(const LockstepResult& r) {
  std::string out;
  for (const StepRecord& s : r.steps) {
    out += fmt::format("  {:>3}  {:<52} model: {:<22} impl: {}\n", s.index, to_string(s.op), s.expected, s.observed);
    for (const std::string& c : s.completions) out += fmt::format("         woke {}\n", c);
  }
  if (r.stuck)
    out += fmt::format("  {:>3}  {:<52} model: {:<22} impl: {}\n", r.steps.size(), to_string(*r.stuck), "-", "never finished");
  out += fmt::format("  => {}\n", r.summary());
  if (!r.deadlock_report.empty()) out += r.deadlock_report;
  if (!r.abandoned.empty() && r.deadlock_report.find(r.abandoned) == std::string::npos) out += r.abandoned;
  return out;
}

}  // namespace lockstep::checker
