// The reference model of SPEC §1-§5. Each op handler cites the rule it implements;
// where the SPEC was silent the reading we chose is written beside the rule as
// "Reading:" (and collected in model/SEMANTICS.md).
#include "model/model.hpp"

#include <algorithm>
#include <cerrno>
#include <limits>

#include <fmt/format.h>

namespace lockstep::model {

namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(Fatal::Count)> kFatalLabels = {
    "", "FATAL(P0-uninit)", "FATAL(L3-null-implicit)", "FATAL(L3-stale)", "FATAL(L3-running)",
    "FATAL(L4-implicit)", "FATAL(K5-other)", "FATAL(K6-panic)"};

Outcome ok(Rule r, std::int64_t ret = 0, std::string_view label = "ok") {
  Outcome o;
  o.rule = r;
  o.ret = ret;
  o.label = label;
  return o;
}
// rump_pub_* and kthread_* return the errno itself.
Outcome error(Rule r, int e, std::string_view label) { return ok(r, e, label); }
// rump_sys_* return -1 and set errno (NetBSD convention).
Outcome sys_error(Rule r, int e, std::string_view label) {
  Outcome o = ok(r, -1, label);
  o.err = e;
  return o;
}
Outcome fatal(Rule r, Fatal f) {
  Outcome o;
  o.kind = OutcomeKind::Fatal;
  o.rule = r;
  o.fatal = f;
  o.label = kFatalLabels[static_cast<std::size_t>(f)];
  return o;
}
Outcome blocked(Rule r, WaitKind k, ProcId target) {
  Outcome o;
  o.kind = OutcomeKind::Blocked;
  o.rule = r;
  o.label = "BLOCKED";
  o.wait = k;
  o.wait_target = target;
  return o;
}
Outcome not_runnable(Rule r, NotRunnableWhy why) {
  Outcome o;
  o.kind = OutcomeKind::NotRunnable;
  o.rule = r;
  o.why = why;
  switch (why) {
    case NotRunnableWhy::NotThisActorsOp: o.label = "not-this-actor's-op"; break;
    case NotRunnableWhy::ActorNotRunnable: o.label = "actor-not-runnable"; break;
    case NotRunnableWhy::UnknownProcHandle: o.label = "unknown-proc-handle"; break;
    case NotRunnableWhy::NegativeTick: o.label = "negative-tick"; break;
    case NotRunnableWhy::PidNotAllowed: o.label = "pid-not-allowed"; break;
    case NotRunnableWhy::None: o.label = "not-runnable"; break;
  }
  return o;
}

std::string shutdown_banner(const std::string& name) {
  return fmt::format("Waiting (max 60 seconds) for system process `{}' to stop...", name);
}

State initial_state(const Config& c) {
  State s;
  s.maxproc = c.maxproc;
  s.pid_max = std::max<Pid>(2, c.pid_max);
  // Process 0: the kernel, with lwp0 that is never bound to a host thread, and an empty fd table.
  // Reading: lwp0 is never handed to a host thread; no API returns it.
  s.fdtables.push_back(FdTable{{}, 1, false});
  s.lwps.push_back(Lwp{0, 1, kUnbound, false});
  Process p0;
  p0.pid = 0;
  p0.ppid = 0;
  p0.comm = "swapper";
  p0.kind = ProcKind::Kernel;
  p0.fdtable = 0;
  p0.lwps = {0};
  p0.next_lid = 2;
  s.procs.push_back(p0);
  // Process 1: init, no lwps, fds 0-2 all naming one description of /dev/console.
  s.files.push_back(File{"/dev/console", 0});
  s.paths.emplace("/dev/console", 0);
  s.descs.push_back(0);
  s.fdtables.push_back(FdTable{{0, 0, 0}, 1, false});
  Process p1;
  p1.pid = 1;
  p1.ppid = 0;
  p1.comm = "";
  p1.kind = ProcKind::Init;
  p1.fdtable = 1;
  s.procs.push_back(p1);
  s.table = {{0, 0}, {1, 1}};
  s.nprocs = 2;
  return s;
}

// Which actor kind performs which op. Anything else is a malformed program step.
bool performs(Actor::Kind a, const OpBody& b) {
  const bool kthread_op = std::holds_alternative<op::Work>(b) || std::holds_alternative<op::KthreadExit>(b);
  if (std::holds_alternative<op::Tick>(b)) return a == Actor::Kind::Clock;
  if (std::holds_alternative<op::Reap>(b)) return a == Actor::Kind::Reaper;
  if (kthread_op) return a == Actor::Kind::Kthread;
  if (std::holds_alternative<op::SuspendCheck>(b)) return a == Actor::Kind::Host || a == Actor::Kind::Kthread;
  return a == Actor::Kind::Host;
}

// One step: the op handlers, over a State that they change in place.
class Step {
 public:
  Step(State& s, const Actor& actor, const Choice& choice, StepResult& result, Footprint* fp)
      : s_(s), actor_(actor), host_(static_cast<HostId>(actor.index)), choice_(choice), result_(result), fp_(fp) {}

  Outcome operator()(const op::Init&) { return ok(Rule::P0); }  // rump_init() is idempotent (§1).

  // P1
  Outcome operator()(const op::Rfork& o) {
    if (o.flags != kRumpRffdShare && o.flags != kRumpRffdg && o.flags != kRumpRfcfdg)
      return error(Rule::P1, EINVAL, "EINVAL");
    // Reading: the SPEC has no outcome for a full pid space; NetBSD's fork1 answers EAGAIN.
    const Pid pid = take_pid();
    if (pid == 0) return error(Rule::P1, EAGAIN, "EAGAIN");
    const Process& parent = s_.procs[s_.current_proc(host_)];
    Process child;
    child.pid = pid;
    child.ppid = parent.pid;
    child.comm = parent.comm.empty() ? "rumproc" : parent.comm;
    child.kind = ProcKind::User;
    child.uid = parent.uid;  // P8: inherited
    child.fdtable = o.flags == kRumpRffdg    ? copy_fdtable(parent.fdtable)
                    : o.flags == kRumpRfcfdg ? new_fdtable()
                                             : share_fdtable(parent.fdtable);
    const ProcId id = add_process(std::move(child));
    bind_host(new_lwp(id));  // the previous curlwp is switched away from, as in L3
    return ok(Rule::P1);
  }

  // P2
  Outcome operator()(const op::Newlwp& o) {
    const Process* p = s_.by_pid(o.pid);
    if (p == nullptr) return error(Rule::P2, ESRCH, "ESRCH");
    if (p->kind == ProcKind::Kthread) return error(Rule::P2, EBUSY, "EBUSY");
    bind_host(new_lwp(s_.table.at(o.pid)));
    return ok(Rule::P2);
  }

  // L3
  Outcome operator()(const op::Switch& o) {
    const LwpId old = s_.curlwp(host_);
    if (o.lwp == kNoLwp) {
      if (old == kNoLwp) return fatal(Rule::L3, Fatal::L3NullImplicit);
      bind_host(kNoLwp);
      return ok(Rule::L3, 0, "ok(NULL)");
    }
    if (o.lwp >= s_.lwps.size() || s_.lwps[o.lwp].released) return fatal(Rule::L3, Fatal::L3Stale);
    // Bound to any host thread, this one included, or to a kthread's own thread.
    if (s_.lwps[o.lwp].bound != kUnbound) return fatal(Rule::L3, Fatal::L3Running);
    bind_host(o.lwp);
    return ok(Rule::L3);
  }

  // L4
  Outcome operator()(const op::Release&) {
    const LwpId l = s_.curlwp(host_);
    if (l == kNoLwp) return fatal(Rule::L4, Fatal::L4Implicit);
    bind_host(kNoLwp);
    wlwp(l).released = true;
    const ProcId p = s_.lwps[l].proc;
    // R1: a user process goes in the same step as its last lwp; processes 0 and 1 never do.
    if (s_.procs[p].kind == ProcKind::User && s_.live_lwps(s_.procs[p]) == 0) {
      free_process(p);
      return ok(Rule::L4, 0, "ok(last lwp)");
    }
    return ok(Rule::L4);
  }

  // L5
  Outcome operator()(const op::Curlwp&) {
    Outcome o = ok(Rule::L5, 0, s_.curlwp(host_) == kNoLwp ? "NULL" : "ok");
    o.lwp = s_.curlwp(host_);
    return o;
  }

  // P6
  Outcome operator()(const op::Getpid&) { return ok(Rule::P6, s_.procs[s_.current_proc(host_)].pid); }
  Outcome operator()(const op::Getppid&) { return ok(Rule::P6, s_.procs[s_.current_proc(host_)].ppid); }

  // P7
  Outcome operator()(const op::Open& o) {
    FileId file;
    if (auto it = s_.paths.find(o.path); it != s_.paths.end()) {
      file = it->second;  // Reading: O_CREAT on an existing file opens it (no O_EXCL, no O_TRUNC).
    } else if (o.create) {
      file = static_cast<FileId>(s_.files.size());
      wfiles();
      s_.files.push_back(File{o.path, 0});
      s_.paths.emplace(o.path, file);
    } else {
      return sys_error(Rule::P7, ENOENT, "ENOENT");
    }
    const DescId d = static_cast<DescId>(s_.descs.size());
    wfiles();
    s_.descs.push_back(file);
    return ok(Rule::P7, install_fd(d));
  }
  Outcome operator()(const op::Write& o) {
    const DescId d = desc_of(o.fd);
    if (d == kNoDesc) return sys_error(Rule::P7, EBADF, "EBADF");
    // Reading: write(2)'s count is a size_t; a negative count cannot be passed, we answer EINVAL.
    if (o.n < 0) return sys_error(Rule::P7, EINVAL, "EINVAL");
    // Reading: a file never grows past the largest off_t; NetBSD's write(2) answers EFBIG.
    std::int64_t& size = s_.files[s_.descs[d]].size;
    if (size > std::numeric_limits<std::int64_t>::max() - o.n) return sys_error(Rule::P7, EFBIG, "EFBIG");
    if (o.n != 0) wfiles();
    size += o.n;
    return ok(Rule::P7, o.n);
  }
  Outcome operator()(const op::Fstat& o) {
    const DescId d = desc_of(o.fd);
    if (d == kNoDesc) return sys_error(Rule::P7, EBADF, "EBADF");
    Outcome out = ok(Rule::P7);
    out.st_size = s_.files[s_.descs[d]].size;
    return out;
  }
  Outcome operator()(const op::Close& o) {
    if (desc_of(o.fd) == kNoDesc) return sys_error(Rule::P7, EBADF, "EBADF");
    current_fdtable_for_write().fds[static_cast<std::size_t>(o.fd)] = kNoDesc;
    return ok(Rule::P7);
  }
  Outcome operator()(const op::Dup& o) {
    const DescId d = desc_of(o.fd);
    if (d == kNoDesc) return sys_error(Rule::P7, EBADF, "EBADF");
    return ok(Rule::P7, install_fd(d));
  }

  // P8
  Outcome operator()(const op::Getuid&) { return ok(Rule::P8, s_.procs[s_.current_proc(host_)].uid); }
  Outcome operator()(const op::Setuid& o) {
    // Reading: (uid_t)-1 is an ordinary uid (SEMANTICS.md 15), not setresuid's "unchanged".
    const ProcId id = s_.current_proc(host_);
    if (s_.procs[id].uid != 0 && s_.procs[id].uid != o.uid) return sys_error(Rule::P8, EPERM, "EPERM");
    wproc(id).uid = o.uid;
    return ok(Rule::P8);
  }

  // K1
  Outcome operator()(const op::KthreadCreate& o) { return kthread_create(Rule::K1, o.flags, o.name); }

  // K6: kthread_create(func, NULL, procpp, 0, 0, "%s", name); a failure panics.
  Outcome operator()(const op::KprocStart& o) {
    Outcome r = kthread_create(Rule::K6, 0, o.name);
    if (r.ret != 0) return fatal(Rule::K6, Fatal::K6Panic);
    return r;
  }

  // K2, performed by the kthread on itself (performs() guarantees the actor).
  Outcome operator()(const op::KthreadExit& o) {
    const ProcId self = actor_.index;
    Process& p = wproc(self);
    p.ppid = 1;  // reparented to init
    p.kt.state = KState::Zombie;
    p.kt.exit_code = o.code;
    // Reading: the kernel-owned host thread ends here, so its lwp is released; the process stays
    // in the table as a ZOMBIE (counted in nprocs) until reaped (K9).
    for (LwpId l : p.lwps) {
      wlwp(l).bound = kUnbound;
      s_.lwps[l].released = true;
    }
    // Every K8 waiter is woken with 0; suspenders keep waiting (they time out, K3).
    end_waits([&](const Wait& w) { return w.kind == WaitKind::Exit && w.target == self; },
              [](const Wait&) { return ok(Rule::K8, 0, "ok(exited)"); });
    return ok(Rule::K2);
  }

  // K3
  Outcome operator()(const op::Suspend& o) {
    if (const Outcome* bad = check_kthread_handle(Rule::K3, o.proc, o.timo)) return *bad;
    Process& p = wproc(o.proc);
    p.kt.suspend_requested = true;
    // Reading: a second suspend of a parked thread returns 0 at once (the flag is still set).
    if (p.kt.state == KState::Parked) return ok(Rule::K3, 0, "ok(already parked)");
    start_wait(WaitKind::Suspend, o.proc, o.timo);
    return blocked(Rule::K3, WaitKind::Suspend, o.proc);
  }

  // K4
  Outcome operator()(const op::Resume& o) {
    if (const Outcome* bad = check_kthread_handle(Rule::K4, o.proc, 0)) return *bad;
    Process& p = wproc(o.proc);
    p.kt.suspend_requested = false;
    if (p.kt.state != KState::Parked) return ok(Rule::K4, 0, "ok(not parked)");
    // S3: the parked thread leaves PARKED in this very step; its suspend_check returns.
    // Reading: resume clears the flag and unparks in the same step.
    p.kt.state = KState::Running;
    Outcome back = ok(Rule::K5);
    back.wait = WaitKind::Resume;
    back.wait_target = o.proc;
    result_.completions.push_back(Completion{Actor::kthread(o.proc), back});
    return ok(Rule::K4);
  }

  // K5
  Outcome operator()(const op::SuspendCheck& o) {
    if (actor_.kind != Actor::Kind::Kthread || actor_.index != o.proc) return fatal(Rule::K5, Fatal::K5Other);
    Process& p = wproc(o.proc);
    if (!p.kt.suspend_requested) return ok(Rule::K5, 0, "ok(no request)");
    // The acknowledgement: every suspender waiting on p returns 0, in the order its wait began.
    end_waits([&](const Wait& w) { return w.kind != WaitKind::Exit && w.target == o.proc; },
              [&](const Wait& w) { return suspend_result(w, 0); });
    // Reading: the flag stays set while PARKED (FreeBSD's SIGSTOP stays in p_siglist); K4 clears it.
    p.kt.state = KState::Parked;
    return blocked(Rule::K5, WaitKind::Resume, o.proc);
  }

  // §4: one unit of the kthread body's work.
  Outcome operator()(const op::Work&) {
    ++wproc(actor_.index).kt.progress;
    return ok(Rule::Body);
  }

  // K7
  // Reading: two console entries, the banner now and the result when the inner suspend returns (other
  // lines may come between them if it blocks). NAME is the comm of the process the handle names, even
  // one freed since; an immediate answer of the suspend (EINVAL, ESRCH, already parked) prints "stopped".
  Outcome operator()(const op::KprocShutdown& o) {
    s_.console.push_back(shutdown_banner(s_.procs[o.proc].comm));
    // kthread_suspend(p, 60 * hz); its immediate answers (EINVAL, ESRCH, 0) finish the call now.
    if (const Outcome* bad = check_kthread_handle(Rule::K7, o.proc, 0)) {
      s_.console.emplace_back("stopped");  // FreeBSD 2004 prints "stopped" for EINVAL too
      return ok(Rule::K7, 0, bad->ret == ESRCH ? "stopped(ESRCH)" : "stopped(EINVAL)");
    }
    Process& p = wproc(o.proc);
    p.kt.suspend_requested = true;
    if (p.kt.state == KState::Parked) {
      s_.console.emplace_back("stopped");
      return ok(Rule::K7, 0, "stopped");
    }
    start_wait(WaitKind::Shutdown, o.proc, kShutdownTicks);
    return blocked(Rule::K7, WaitKind::Shutdown, o.proc);
  }

  // K8
  Outcome operator()(const op::WaitExit& o) {
    if (const Outcome* bad = check_kthread_handle(Rule::K8, o.proc, o.timo)) return *bad;
    if (s_.procs[o.proc].kt.state == KState::Zombie) return ok(Rule::K8, 0, "ok(zombie)");
    start_wait(WaitKind::Exit, o.proc, o.timo);
    return blocked(Rule::K8, WaitKind::Exit, o.proc);
  }

  // K9
  Outcome operator()(const op::Reap& o) {
    if (const Outcome* bad = check_kthread_handle(Rule::K9, o.proc, 0)) return *bad;
    // Reading: the SPEC only reaps ZOMBIEs; reaping a live kthread is refused with EBUSY, no change.
    if (s_.procs[o.proc].kt.state != KState::Zombie) return error(Rule::K9, EBUSY, "EBUSY");
    wproc(o.proc).kt.state = KState::Reaped;
    free_process(o.proc);
    return ok(Rule::K9);
  }

  // §5
  Outcome operator()(const op::Tick& o) {
    // Reading: the 64-bit clock saturates at its end rather than wrapping.
    s_.now = s_.now > std::numeric_limits<Tick>::max() - o.n ? std::numeric_limits<Tick>::max() : s_.now + o.n;
    // Expired waits end with EWOULDBLOCK in deadline order, ties in the order the waits began.
    // Reading (§5, "a wait that is acknowledged and timed out in the same instant may end either
    // way"): under the deterministic scheduler the instant is this step. Under real time a kernel
    // decides a timeout when the sleeper runs again after its deadline's tick, so for a recorded
    // history the instant lasts from the tick's beginning until the waiter returns, and an
    // acknowledgement in between may win; the stress recorder gives such a tick that much width
    // (checker/stress/src/history_merge.cpp), and this step stays atomic.
    std::vector<Wait> expired;
    for (const Wait& w : s_.waits)
      if (w.deadline && *w.deadline <= s_.now) expired.push_back(w);
    std::stable_sort(expired.begin(), expired.end(),
                     [](const Wait& a, const Wait& b) { return *a.deadline < *b.deadline; });
    if (!expired.empty()) wwaits();
    for (const Wait& w : expired) {
      std::erase_if(s_.waits, [&](const Wait& x) { return x.seq == w.seq; });
      result_.completions.push_back(Completion{Actor::host(w.host), timed_out(w)});
    }
    return ok(Rule::Tick);
  }

 private:
  // K3/K4/K7/K8/K9's common checks on a `struct proc *`: not a kthread → EINVAL (S4);
  // Reading: a negative timo → EINVAL (FreeBSD's msleep has no meaning for it); REAPED → ESRCH.
  // Reading: the kind is checked first, so a stale handle of a freed user process is EINVAL, not ESRCH.
  const Outcome* check_kthread_handle(Rule r, ProcId p, int timo) {
    if (s_.procs[p].kind != ProcKind::Kthread) return &(scratch_ = error(r, EINVAL, "EINVAL"));
    if (timo < 0) return &(scratch_ = error(r, EINVAL, "EINVAL(timo<0)"));
    if (s_.procs[p].kt.state == KState::Reaped) return &(scratch_ = error(r, ESRCH, "ESRCH"));
    return nullptr;
  }

  Outcome kthread_create(Rule r, int flags, const std::string& name) {
    if ((flags & kRfcfdg) != 0 || (flags & ~kRffdg) != 0) return error(r, EINVAL, "EINVAL");
    if (s_.nprocs >= s_.maxproc) return error(r, EAGAIN, "EAGAIN");
    const Pid pid = take_pid();
    if (pid == 0) return error(r, EAGAIN, "EAGAIN");
    const Process& swapper = s_.procs[0];
    Process k;
    k.pid = pid;
    k.ppid = 0;
    k.comm = name.substr(0, kMaxComLen);
    k.kind = ProcKind::Kthread;
    k.uid = swapper.uid;  // Reading: a kthread is forked from process 0 and so carries its credentials.
    k.fdtable = copy_fdtable(swapper.fdtable);
    const ProcId id = add_process(std::move(k));
    const LwpId l = new_lwp(id);
    wlwp(l).bound = kKernelThread;
    Outcome o = ok(r);
    o.proc = id;
    return o;
  }

  Outcome suspend_result(const Wait& w, int ret) {
    if (w.kind == WaitKind::Shutdown) {
      s_.console.emplace_back(ret == 0 ? "stopped" : "timed out");
      Outcome o = ok(Rule::K7, 0, ret == 0 ? "stopped" : "timed out");
      o.wait = w.kind;
      o.wait_target = w.target;
      return o;
    }
    Outcome o = ret == 0 ? ok(Rule::K3, 0, "ok(acknowledged)") : error(Rule::K3, ret, "EWOULDBLOCK");
    o.wait = w.kind;
    o.wait_target = w.target;
    return o;
  }

  Outcome timed_out(const Wait& w) {
    if (w.kind == WaitKind::Exit) {
      Outcome o = error(Rule::K8, EWOULDBLOCK, "EWOULDBLOCK");
      o.wait = w.kind;
      o.wait_target = w.target;
      return o;
    }
    // K3: the request stays set after a timeout; the thread still parks at its next check.
    return suspend_result(w, EWOULDBLOCK);
  }

  template <class Pred, class Result>
  void end_waits(Pred match, Result result) {
    std::vector<Wait> ended;
    for (const Wait& w : s_.waits)
      if (match(w)) ended.push_back(w);
    if (ended.empty()) return;
    wwaits();
    std::erase_if(s_.waits, match);
    for (const Wait& w : ended) {
      Outcome o = result(w);
      o.wait = w.kind;
      o.wait_target = w.target;
      result_.completions.push_back(Completion{Actor::host(w.host), o});
    }
  }

  void start_wait(WaitKind k, ProcId target, int timo) {
    Wait w;
    w.host = host_;
    w.kind = k;
    w.target = target;
    // timo = 0 waits without limit.
    // Reading (K3/K5 "until now >= start + timo"): the clock saturates at the end of time, so a
    // start + timo beyond it is never reached and such a wait has no deadline. Saturating the
    // deadline instead would give a wait begun at the end of time a deadline it had already
    // passed (S2 broken at its first instant; found by the model's property test).
    if (timo > 0 && s_.now <= std::numeric_limits<Tick>::max() - timo) w.deadline = s_.now + timo;
    w.seq = s_.next_wait_seq++;
    wwaits();
    s_.waits.push_back(w);
  }

  // P1's reference allocator, or the checker's bound choice (which moves the cursor past it).
  Pid take_pid() {
    Pid pid = choice_.pid ? *choice_.pid : Model::reference_pid_of(s_);
    if (pid == 0) return 0;
    s_.next_pid = pid >= s_.pid_max ? 2 : pid + 1;
    return pid;
  }

  ProcId add_process(Process p) {
    const ProcId id = static_cast<ProcId>(s_.procs.size());
    wtable(p.pid);
    s_.table.emplace(p.pid, id);
    s_.procs.push_back(std::move(p));
    ++s_.nprocs;
    return id;
  }

  LwpId new_lwp(ProcId p) {
    const LwpId l = static_cast<LwpId>(s_.lwps.size());
    Process& owner = wproc(p);
    s_.lwps.push_back(Lwp{p, owner.next_lid++, kUnbound, false});
    owner.lwps.push_back(l);
    return l;
  }

  // Makes `l` (or IMPLICIT for kNoLwp) the curlwp of this host; the old one becomes unbound.
  void bind_host(LwpId l) {
    if (s_.hosts.size() <= host_) s_.hosts.resize(host_ + 1u);
    LwpId& cur = whost(host_).curlwp;
    if (cur != kNoLwp) wlwp(cur).bound = kUnbound;
    cur = l;
    if (l != kNoLwp) wlwp(l).bound = host_;
  }

  // R1/R3/R6: the process leaves the table, its children go to init, its fd table reference is dropped.
  void free_process(ProcId id) {
    Process& p = wproc(id);
    p.freed = true;
    wtable(p.pid);
    s_.table.erase(p.pid);
    --s_.nprocs;
    for (auto& [pid, child] : s_.table)
      if (s_.procs[child].ppid == p.pid) wproc(child).ppid = 1;
    FdTable& t = wfdtable(p.fdtable);
    if (--t.refs == 0) t.freed = true;
  }

  FdTableId new_fdtable() {
    s_.fdtables.push_back(FdTable{{}, 1, false});
    return static_cast<FdTableId>(s_.fdtables.size() - 1);
  }
  FdTableId copy_fdtable(FdTableId from) {
    FdTable copy{s_.fdtables[from].fds, 1, false};  // the same fds naming the same descriptions
    s_.fdtables.push_back(std::move(copy));
    return static_cast<FdTableId>(s_.fdtables.size() - 1);
  }
  FdTableId share_fdtable(FdTableId t) {
    ++wfdtable(t).refs;
    return t;
  }

  const FdTable& current_fdtable() const { return s_.fdtables[s_.procs[s_.current_proc(host_)].fdtable]; }
  FdTable& current_fdtable_for_write() { return wfdtable(s_.procs[s_.current_proc(host_)].fdtable); }

  DescId desc_of(int fd) {
    const FdTable& t = current_fdtable();
    if (fd < 0 || static_cast<std::size_t>(fd) >= t.fds.size()) return kNoDesc;
    return t.fds[static_cast<std::size_t>(fd)];
  }

  // The lowest free fd, from 0.
  int install_fd(DescId d) {
    std::vector<DescId>& fds = current_fdtable_for_write().fds;
    auto free = std::find(fds.begin(), fds.end(), kNoDesc);
    if (free == fds.end()) {
      fds.push_back(d);
      return static_cast<int>(fds.size() - 1);
    }
    *free = d;
    return static_cast<int>(free - fds.begin());
  }

  // Writes go through these, so that a recorded footprint names every object the step changed,
  // with its value before the step (an object made in this step has none).
  Process& wproc(ProcId id) { return logged(fp_ ? &fp_->procs : nullptr, s_.procs, fp_ ? fp_->procs_before : 0, id); }
  Lwp& wlwp(LwpId l) { return logged(fp_ ? &fp_->lwps : nullptr, s_.lwps, fp_ ? fp_->lwps_before : 0, l); }
  FdTable& wfdtable(FdTableId t) { return logged(fp_ ? &fp_->fdtables : nullptr, s_.fdtables, fp_ ? fp_->fdtables_before : 0, t); }
  HostThread& whost(HostId h) { return logged(fp_ ? &fp_->hosts : nullptr, s_.hosts, fp_ ? fp_->hosts_before : 0, h); }
  // Object `id` of `objects`, its before-image logged once when it existed before the step.
  template <class Id, class T>
  static T& logged(std::vector<std::pair<Id, T>>* log, std::vector<T>& objects, std::size_t existed, Id id) {
    if (log != nullptr && id < existed &&
        std::none_of(log->begin(), log->end(), [&](const auto& e) { return e.first == id; }))
      log->emplace_back(id, objects[id]);
    return objects[id];
  }
  void wtable(Pid pid) {
    if (fp_ == nullptr) return;
    for (const auto& [k, id] : fp_->table)
      if (k == pid) return;
    auto it = s_.table.find(pid);
    fp_->table.emplace_back(pid, it == s_.table.end() ? std::nullopt : std::optional<ProcId>(it->second));
  }
  void wwaits() {
    if (fp_ != nullptr && !fp_->waits) fp_->waits = s_.waits;
  }
  void wfiles() {
    if (fp_ != nullptr) fp_->files = true;
  }

  State& s_;
  Actor actor_;
  HostId host_;
  const Choice& choice_;
  StepResult& result_;
  Footprint* fp_;
  Outcome scratch_;
};

// An op naming a process handle that was never issued: the SPEC defines handles only
// for processes that exist or existed, so such a step is a malformed program.
bool names_unknown_proc(const State& s, const OpBody& b) {
  return std::visit(
      [&](const auto& o) {
        if constexpr (requires { o.proc; }) return o.proc >= s.procs.size();
        else return false;
      },
      b);
}

}  // namespace

Model::Model(Config config) {
  if (config.initialized) {
    state_ = initial_state(config);
  } else {
    state_.initialized = false;
    state_.maxproc = config.maxproc;
    state_.pid_max = config.pid_max;
  }
}

bool Model::runnable(const Actor& a) const {
  if (state_.fatal != Fatal::None) return false;
  switch (a.kind) {
    case Actor::Kind::Host:
      return a.index <= 0xffff && state_.wait_of(static_cast<HostId>(a.index)) == nullptr;
    case Actor::Kind::Kthread: {
      const Process* p = state_.proc(a.index);
      return p != nullptr && p->kind == ProcKind::Kthread && p->kt.state == KState::Running;
    }
    case Actor::Kind::Clock:
    case Actor::Kind::Reaper:
      return true;
  }
  return false;
}

Pid Model::reference_pid_of(const State& s) {
  Pid pid = s.next_pid;
  for (int tries = 0; tries < s.pid_max - 1; ++tries) {
    if (!s.table.contains(pid)) return pid;
    pid = pid >= s.pid_max ? 2 : pid + 1;
  }
  return 0;
}

Pid Model::reference_pid() const { return reference_pid_of(state_); }

bool Model::pid_allowed(Pid pid) const { return pid >= 2 && pid <= state_.pid_max && !state_.table.contains(pid); }

std::pair<Rule, std::string> Model::pid_refusal(Pid pid) const {
  if (pid < 2 || pid > state_.pid_max) return {Rule::P1, fmt::format("pid {} (outside 2..{})", pid, state_.pid_max)};
  return {Rule::R5, fmt::format("pid {} (in use)", pid)};
}

StepResult Model::apply(const Op& op, const Choice& choice, Footprint* fp) {
  if (fp != nullptr) *fp = Footprint::of(state_);
  StepResult r;
  if (state_.fatal != Fatal::None) {
    r.outcome.kind = OutcomeKind::Dead;
    r.outcome.label = "dead";
    return r;
  }
  // §1: any call before rump_init() is FATAL, rump_init() itself initialises.
  // Reading: a model built with Config{.initialized = false} answers rump_init (by a host) by
  // initialising, and anything else, by any actor, with FATAL(P0-uninit).
  if (!state_.initialized) {
    if (std::holds_alternative<op::Init>(op.body) && op.actor.kind == Actor::Kind::Host) {
      state_ = initial_state(Config{state_.maxproc, true, state_.pid_max});
      if (fp != nullptr) fp->whole = true;
      r.outcome = ok(Rule::P0, 0, "ok(init)");
    } else {
      state_.fatal = Fatal::P0Uninit;
      r.outcome = fatal(Rule::P0, Fatal::P0Uninit);
    }
    return r;
  }
  const Rule rule = Rule::P0;
  if (!performs(op.actor.kind, op.body)) {
    r.outcome = not_runnable(rule, NotRunnableWhy::NotThisActorsOp);
    return r;
  }
  if (!runnable(op.actor)) {
    r.outcome = not_runnable(rule, NotRunnableWhy::ActorNotRunnable);
    return r;
  }
  if (names_unknown_proc(state_, op.body)) {
    r.outcome = not_runnable(rule, NotRunnableWhy::UnknownProcHandle);
    return r;
  }
  // Reading: time does not go back; tick(n) with n < 0 is NotRunnable.
  if (const auto* t = std::get_if<op::Tick>(&op.body); t != nullptr && t->n < 0) {
    r.outcome = not_runnable(Rule::Tick, NotRunnableWhy::NegativeTick);
    return r;
  }
  const bool allocates = std::holds_alternative<op::Rfork>(op.body) || std::holds_alternative<op::KthreadCreate>(op.body) ||
                         std::holds_alternative<op::KprocStart>(op.body);
  if (allocates && choice.pid && !pid_allowed(*choice.pid)) {
    r.outcome = not_runnable(rule, NotRunnableWhy::PidNotAllowed);
    return r;
  }
  Step step(state_, op.actor, choice, r, fp);
  r.outcome = std::visit(step, op.body);
  if (r.outcome.is_fatal()) state_.fatal = r.outcome.fatal;
  return r;
}

}  // namespace lockstep::model
