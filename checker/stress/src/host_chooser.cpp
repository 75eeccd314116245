#include "host_chooser.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <variant>

#include "model/op_traits.hpp"

namespace lockstep::checker::stress {

using namespace lockstep::model;

namespace {

constexpr std::array<const char*, 3> kPaths{"/a", "/b", "/log"};

// Weights of the op kinds, in the order of the switch in choose(); a kind whose precondition the
// view does not meet is skipped.
enum Kind : std::uint8_t {
  kRfork, kNewlwp, kSwitch, kSwitchNull, kRelease, kCurlwp, kGetpid, kGetppid, kOpen, kWrite, kFstat, kClose,
  kDup, kGetuid, kSetuid, kKthreadCreate, kKprocStart, kSuspend, kResume, kShutdown, kWaitExit, kKinds
};
// Closes outweigh opens and dups (which add an fd each, and fail less often), so that tables stay
// small: every state the judge copies holds them, and a table that grows without bound makes each
// placement cost its length (2 000 fds in one table after 15 s when they were equal).
constexpr std::array<std::uint32_t, kKinds> kWeight{2, 1, 6, 1, 2, 3, 3, 3, 2, 4, 3, 4, 2, 2, 2, 1, 1, 5, 6, 1, 3};

// The OpBody alternative's index of T (the bit of HostLimits::supported).
template <class T, class V> struct BodyIndex;
template <class T, class... Ts> struct BodyIndex<T, std::variant<Ts...>> {
  static constexpr std::size_t value = [] {
    std::size_t i = 0;
    static_cast<void>(((std::is_same_v<T, Ts> ? false : (++i, true)) && ...));
    return i;
  }();
};
template <class T> constexpr std::size_t body_index = BodyIndex<T, OpBody>::value;

constexpr std::size_t op_index(Kind k) {
  switch (k) {
    case kRfork: return body_index<op::Rfork>;
    case kNewlwp: return body_index<op::Newlwp>;
    case kSwitch: case kSwitchNull: return body_index<op::Switch>;
    case kRelease: return body_index<op::Release>;
    case kCurlwp: return body_index<op::Curlwp>;
    case kGetpid: return body_index<op::Getpid>;
    case kGetppid: return body_index<op::Getppid>;
    case kOpen: return body_index<op::Open>;
    case kWrite: return body_index<op::Write>;
    case kFstat: return body_index<op::Fstat>;
    case kClose: return body_index<op::Close>;
    case kDup: return body_index<op::Dup>;
    case kGetuid: return body_index<op::Getuid>;
    case kSetuid: return body_index<op::Setuid>;
    case kKthreadCreate: return body_index<op::KthreadCreate>;
    case kKprocStart: return body_index<op::KprocStart>;
    case kSuspend: return body_index<op::Suspend>;
    case kResume: return body_index<op::Resume>;
    case kShutdown: return body_index<op::KprocShutdown>;
    case kWaitExit: return body_index<op::WaitExit>;
    case kKinds: break;
  }
  return 0;
}

}  // namespace

int max_timo_for_tick(std::int64_t tick_ns) {
  constexpr std::int64_t kLongestWaitNs = 40'000'000;
  if (tick_ns <= 0) return 10;
  return static_cast<int>(std::clamp<std::int64_t>(kLongestWaitNs / tick_ns, 1, 10));
}

// How many distinct focus paths there are: each stretch opens its own ("/f<stretch mod N>"), new
// until the stretches wrap. Bounded, because a file is never removed and every state the judge
// copies holds the file table.
constexpr std::uint32_t kFocusPaths = 256;

std::optional<HostView::Choice> HostView::lean_on(Registry::Focus f, std::size_t kthreads, Actor self, const HostLimits& lim, Source& rng) const {
  auto supported = [&](Kind k) { return ((lim.supported >> op_index(k)) & 1u) != 0 && !moves_kept_curlwp(k); };
  // A focus this host could not enter has ended (or is a kthread): nothing to lean on until it moves.
  if (f.pid == refused_pid_) return std::nullopt;
  Choice c;
  c.op.actor = self;
  c.focused = true;
  const OwnedLwp* cur = cur_ ? &lwps_[*cur_] : nullptr;
  // The focus's parent, when this host forked the focus (its lwp there says so).
  Pid parent = 0;
  for (const OwnedLwp& o : lwps_)
    if (o.pid == f.pid && o.parent != 0) parent = o.parent;
  if (cur != nullptr && parent != 0 && cur->pid == parent && supported(kRelease) && rng.percent(70)) {
    c.op.body = op::Release{};
    return c;
  }
  const bool in_focus = cur != nullptr && (cur->pid == f.pid || cur->parent == f.pid);
  const std::string path = "/f" + std::to_string(f.stretch % kFocusPaths);
  const bool opened = opened_stretch_ == f.stretch % kFocusPaths;
  if (!in_focus) {
    // Half the time, first the stretch's new path from where the host is: one path is one file
    // whichever fd table opens it (SPEC P7), and the hosts in the focus share theirs, so a create
    // that drops its namespace lock between the lookup and the insert races only the opens of other
    // tables (another process's, or the implicit context's).
    if (!opened && supported(kOpen) && rng.percent(50)) {
      c.op.body = op::Open{path, true};
      return c;
    }
    // Half the time the host leaves its curlwp's process by releasing the lwp: processes end as the
    // hosts move on (their children reparented while hosts in them act), instead of keeping
    // unbound lwps that hold every process a host was ever in alive.
    if (cur != nullptr && supported(kRelease) && rng.percent(50)) {
      c.op.body = op::Release{};
      return c;
    }
    // Back to the focus's parent to end it (now and then), else into the focus: an lwp this host owns
    // there, else a new one (newlwp makes it the curlwp).
    const Pid to = parent != 0 && rng.percent(30) ? parent : f.pid;
    for (std::size_t i = 0; i < lwps_.size(); ++i)
      if (lwps_[i].pid == to && (!cur_ || i != *cur_) && supported(kSwitch)) {  // never to the curlwp (L3-running)
        c.op.body = op::Switch{lwps_[i].sym};
        c.args.lwp = lwps_[i].handle;
        return c;
      }
    if (supported(kNewlwp) && lwps_.size() < lim.max_lwps && !may_be_a_kthread(f.pid, lim)) {
      c.op.body = op::Newlwp{f.pid};
      return c;
    }
    return std::nullopt;
  }
  // The kthread calls stay in the ordinary mix, which already aims them at the few kthreads still
  // running (target() in choose): leaning must not thin out the suspends, resumes and waits whose
  // races are on the kthreads' side.
  if (kthreads > 0 && rng.percent(30)) return std::nullopt;
  if (!opened && supported(kOpen)) {
    c.op.body = op::Open{path, true};
    return c;
  }
  // In the focus (or a child of it): what meets the other hosts' calls there.
  struct Weighted {
    Kind kind;
    std::uint32_t weight;
  };
  static constexpr std::array<Weighted, 11> kMix{{{kDup, 3}, {kClose, 3}, {kOpen, 3}, {kWrite, 2}, {kFstat, 3}, {kGetppid, 3},
                                                  {kGetpid, 1}, {kRfork, 1}, {kRelease, 2}, {kSetuid, 1}, {kGetuid, 1}}};
  auto allowed = [&](Kind k) { return supported(k) && (k != kRfork || lwps_.size() < lim.max_lwps); };
  std::uint32_t total = 0;
  for (const Weighted& w : kMix) total += allowed(w.kind) ? w.weight : 0;
  if (total == 0) return std::nullopt;
  std::uint32_t r = rng.below(total);
  Kind kind = kGetppid;
  for (const Weighted& w : kMix) {
    if (!allowed(w.kind)) continue;
    if (r < w.weight) {
      kind = w.kind;
      break;
    }
    r -= w.weight;
  }
  // The lowest descriptors: every lwp of the table shares them, whoever opened them, and a close
  // frees the one the next open or dup takes.
  const int fd = static_cast<int>(rng.below(4));
  switch (kind) {
    case kDup: c.op.body = op::Dup{fd}; break;
    case kClose: c.op.body = op::Close{fd}; break;
    case kOpen: c.op.body = op::Open{path, rng.percent(80)}; break;
    // Mostly through the descriptor this host was given last (the stretch's path, often): when two
    // hosts' opens made two files of one path, their writes part, and an fstat of the other's fd shows it.
    case kWrite: c.op.body = op::Write{!fds_.empty() && rng.percent(50) ? fds_.back() : fd, 1 + rng.below(64)}; break;
    case kFstat: c.op.body = op::Fstat{fd}; break;
    case kGetpid: c.op.body = op::Getpid{}; break;
    case kRfork: c.op.body = op::Rfork{static_cast<int>(rng.below(3))}; break;
    case kRelease: c.op.body = op::Release{}; break;
    case kSetuid: c.op.body = op::Setuid{rng.percent(50) ? 0u : 1 + rng.below(3)}; break;
    case kGetuid: c.op.body = op::Getuid{}; break;
    default: c.op.body = op::Getppid{}; break;
  }
  return c;
}

HostView::Choice HostView::choose(Actor self, Registry& reg, const HostLimits& lim, Source& rng) const {
  reg.next_draw(rng.below(1u << 16));
  // A kthread's exit is rare (its waiters' probes with it); suspends are not.
  if (probe_ && (std::holds_alternative<op::WaitExit>(probe_->op.body) || rng.percent(50))) {
    Choice c = *probe_;
    c.op.actor = self;
    return c;
  }
  const Registry::Focus f = reg.focus();
  const std::size_t kts = reg.count();
  if (f.pid != 0 && rng.percent(lim.focus_percent))
    if (std::optional<Choice> c = lean_on(f, kts, self, lim, rng)) {
      reg.focused_draws.fetch_add(1, std::memory_order_relaxed);
      return *std::move(c);
    }
  // The kthreads most draws pick from: the latest, of which at most 2 x max_kthreads are alive or exiting.
  const auto recent = static_cast<std::uint32_t>(std::min<std::size_t>({kts, 2 * static_cast<std::size_t>(lim.max_kthreads), 64}));
  auto allowed = [&](Kind k) {
    if (((lim.supported >> op_index(k)) & 1u) == 0 || moves_kept_curlwp(k)) return false;
    switch (k) {
      case kRfork: case kNewlwp: return lwps_.size() < lim.max_lwps;
      case kSwitch: return lwps_.size() > (cur_ ? 1u : 0u);
      case kSwitchNull: case kRelease: return cur_.has_value();
      case kKthreadCreate: case kKprocStart: return reg.alive.load(std::memory_order_relaxed) < lim.max_kthreads;
      case kSuspend: case kResume: case kShutdown: case kWaitExit: return kts > 0;
      default: return true;
    }
  };
  std::uint32_t total = 0;
  for (std::size_t k = 0; k < kKinds; ++k) total += allowed(static_cast<Kind>(k)) ? kWeight[k] : 0;
  std::uint32_t r = rng.below(total);
  Kind kind = kCurlwp;
  for (std::size_t k = 0; k < kKinds; ++k) {
    if (!allowed(static_cast<Kind>(k))) continue;
    if (r < kWeight[k]) {
      kind = static_cast<Kind>(k);
      break;
    }
    r -= kWeight[k];
  }
  Choice c;
  // The stretch's kthread (host_chooser.hpp, "The focus"): the same running one for every host while
  // the stretch lasts, so that suspends, resumes and waits meet on it and on its body's checks and exit.
  auto stretch_kthread = [&]() -> KthreadEntry* {
    for (std::uint32_t k = 0; k < recent; ++k) {
      KthreadEntry& e = reg.at(kts - 1 - (f.stretch + k) % recent);
      if (!e.reaped.load() && !e.exiting.load(std::memory_order_relaxed)) return &e;
    }
    return nullptr;
  };
  // A kthread target: mostly a published kthread (alive, exited or reaped), sometimes a process
  // that is not one (EINVAL, S4). `live`: one held for the call (KthreadEntry::hold), for the calls
  // that would otherwise wait without end (a suspend without timeout of a kthread that exits never
  // returns, K2) or for long (kproc_shutdown waits 60 * hz ticks for a kthread that never acknowledges).
  auto target = [&](bool live) -> std::pair<ProcId, ::proc*> {
    if (kts == 0 || (!live && lim.user_proc_handles && rng.percent(10))) {
      const KnownProc& p = procs_[rng.below(static_cast<std::uint32_t>(procs_.size()))];
      return {p.sym, p.handle};
    }
    // Mostly one still running: kthreads that have exited answer at once, and the races worth
    // having (a suspend against the body's check, a wait against the exit) need a live one. The
    // registry keeps every kthread ever made, most of them long reaped, so the draw favours the
    // latest (at most 2 x max_kthreads of them are alive or exiting); the others come from the last
    // 64, stale handles included. Older handles are never named again, which lets the judge drop
    // their processes (lin's compaction keeps whatever a later call names).
    const bool prefer_running = rng.percent(75);
    const auto window = static_cast<std::uint32_t>(std::min<std::size_t>(kts, 64));
    if (prefer_running && rng.percent(lim.focus_percent))
      if (KthreadEntry* e = stretch_kthread(); e != nullptr && (!live || e->hold())) {
        if (live) c.held = e;
        return {e->sym, e->handle};
      }
    for (int tries = 0; tries < 8; ++tries) {
      KthreadEntry& e = reg.at(kts - 1 - rng.below(prefer_running ? recent : window));
      if (prefer_running && tries < 7 && (e.reaped.load() || e.exiting.load(std::memory_order_relaxed))) continue;
      if (!live) return {e.sym, e.handle};
      if (!e.reaped.load() && e.hold()) {
        c.held = &e;
        return {e.sym, e.handle};
      }
    }
    return {procs_[1].sym, procs_[1].handle};  // no live kthread found: process 1 (EINVAL), or no handle (below)
  };
  // Which kthreads are known to exit: a wait without timeout on one of them returns.
  auto exiting = [&]() -> std::pair<ProcId, ::proc*> {
    for (int tries = 0; tries < 8; ++tries) {
      const KthreadEntry& e = reg.at(kts - 1 - rng.below(static_cast<std::uint32_t>(std::min<std::size_t>(kts, 64))));
      if (e.exiting.load(std::memory_order_relaxed)) return {e.sym, e.handle};
    }
    return {procs_[1].sym, procs_[1].handle};
  };
  // Mostly a descriptor this host was given (so closes keep the tables small), else a low one.
  auto fd = [&] {
    if (!fds_.empty() && rng.percent(70)) return fds_[rng.below(static_cast<std::uint32_t>(fds_.size()))];
    return static_cast<int>(rng.below(6));
  };
  c.op.actor = self;
  switch (kind) {
    case kRfork: c.op.body = op::Rfork{static_cast<int>(rng.below(100) < 3 ? 3 : rng.below(3))}; break;
    case kNewlwp: {
      Pid pid = 1;
      if (rng.percent(40)) pid = reg.recent_pid(rng.below(1u << 16));  // another host's process, often
      else if (!pids_.empty() && rng.percent(80)) pid = pids_[rng.below(static_cast<std::uint32_t>(pids_.size()))];
      else if (kts > 0 && rng.percent(50)) pid = reg.at(rng.below(static_cast<std::uint32_t>(kts))).pid;  // EBUSY
      if (pid <= 0 || may_be_a_kthread(pid, lim)) pid = 1;  // 0: none; kPidUnsaid: a kthread whose pid the SUT did not say
      // Now and then into process 0 (P2 allows it): a host there works on the table every kthread's
      // is copied from, and takes process 0's lock where kthread_create takes it.
      if (rng.percent(3)) pid = 0;
      c.op.body = op::Newlwp{pid};
      break;
    }
    case kSwitch: {
      std::size_t i = rng.below(static_cast<std::uint32_t>(lwps_.size()));
      if (cur_ && i == *cur_) i = (i + 1) % lwps_.size();
      c.op.body = op::Switch{lwps_[i].sym};
      c.args.lwp = lwps_[i].handle;
      break;
    }
    case kSwitchNull: c.op.body = op::Switch{kNoLwp}; break;
    case kRelease: c.op.body = op::Release{}; break;
    case kCurlwp: c.op.body = op::Curlwp{}; break;
    case kGetpid: c.op.body = op::Getpid{}; break;
    case kGetppid: c.op.body = op::Getppid{}; break;
    case kOpen: c.op.body = op::Open{kPaths[rng.below(kPaths.size())], rng.percent(60)}; break;
    case kWrite: c.op.body = op::Write{fd(), 1 + rng.below(64)}; break;
    case kFstat: c.op.body = op::Fstat{fd()}; break;
    case kClose: c.op.body = op::Close{fd()}; break;
    case kDup: c.op.body = op::Dup{fd()}; break;
    case kGetuid: c.op.body = op::Getuid{}; break;
    case kSetuid: c.op.body = op::Setuid{rng.percent(50) ? 0u : 1 + rng.below(3)}; break;
    case kKthreadCreate:
      c.op.body = op::KthreadCreate{rng.percent(90) ? 4 : 1 << 12, "kt" + std::to_string(rng.below(100))};
      break;
    case kKprocStart: c.op.body = op::KprocStart{"kp" + std::to_string(rng.below(100))}; break;
    case kSuspend: {
      const bool forever = rng.percent(5);
      auto [p, h] = target(forever);
      c.op.body = op::Suspend{p, forever ? 0 : 1 + static_cast<int>(rng.below(static_cast<std::uint32_t>(lim.max_timo)))};
      c.args.proc = h;
      break;
    }
    case kResume: {
      auto [p, h] = target(false);
      c.op.body = op::Resume{p};
      c.args.proc = h;
      break;
    }
    case kShutdown: {
      auto [p, h] = target(true);
      c.op.body = op::KprocShutdown{p};
      c.args.proc = h;
      break;
    }
    case kWaitExit: {
      const bool forever = rng.percent(10);
      // An untimed waiter on the stretch's kthread asks it to exit, so that its exit wakes a waiter
      // (a timed one that misses the wake-up still returns 0 at its deadline: only an untimed one
      // shows a lost wake-up). Else one already exiting.
      KthreadEntry* asked = forever && rng.percent(lim.focus_percent) ? stretch_kthread() : nullptr;
      if (asked != nullptr) asked->exit_asked.store(true, std::memory_order_relaxed);
      auto [p, h] = asked != nullptr ? std::pair<ProcId, ::proc*>{asked->sym, asked->handle} : forever ? exiting() : target(false);
      c.op.body = op::WaitExit{p, forever ? 0 : 1 + static_cast<int>(rng.below(static_cast<std::uint32_t>(lim.max_timo)))};
      c.args.proc = h;
      break;
    }
    case kKinds: break;
  }
  // Without process handles a call that found no kthread to name asks curlwp instead (always exported).
  if (!lim.user_proc_handles && c.args.proc == nullptr && traits(c.op.body).nargs > 0 && traits(c.op.body).args[0].kind == ArgKind::ProcSym) {
    if (c.held != nullptr) c.held->release();
    c.held = nullptr;
    c.op.body = op::Curlwp{};
  }
  return c;
}

bool HostView::moves_kept_curlwp(int kind) const {
  return keeping_ && (kind == kSwitch || kind == kSwitchNull || kind == kNewlwp || kind == kRfork);
}

void HostView::learn(const Choice& c, const ImplResult& r, std::uint32_t lwp_sym, std::uint32_t proc_sym) {
  const Op& op = c.op;
  probe_.reset();
  if (r.kind != ImplResult::Kind::Returned) return;
  if (!c.probe && r.ret == 0 && c.args.proc != nullptr) {
    Choice next;
    next.probe = true;
    next.args.proc = c.args.proc;
    bool follows = true;
    if (const auto* w = std::get_if<op::WaitExit>(&op.body)) next.op.body = op::WaitExit{w->proc, 1};
    else if (const auto* s = std::get_if<op::Suspend>(&op.body)) next.op.body = op::Suspend{s->proc, 1};
    else follows = false;
    if (follows) probe_ = std::move(next);
  }
  if (const auto* o = std::get_if<op::Open>(&op.body); o && o->path.starts_with("/f"))
    opened_stretch_ = static_cast<std::uint32_t>(std::strtoul(o->path.c_str() + 2, nullptr, 10));
  if ((std::holds_alternative<op::Open>(op.body) || std::holds_alternative<op::Dup>(op.body)) && r.ret >= 0) {
    fds_.push_back(static_cast<int>(r.ret));
    if (fds_.size() > 8) fds_.erase(fds_.begin());
  }
  if (const auto* c = std::get_if<op::Close>(&op.body); c && r.ret == 0) std::erase(fds_, c->fd);
  if (std::holds_alternative<op::Rfork>(op.body) && r.ret == 0) {
    lwps_.push_back(OwnedLwp{lwp_sym, r.new_lwp, static_cast<Pid>(r.new_pid), cur_ ? lwps_[*cur_].pid : Pid{0}});
    cur_ = lwps_.size() - 1;
    procs_.push_back(KnownProc{proc_sym, r.new_proc});
    if (procs_.size() > 10) procs_.erase(procs_.begin() + 2);  // keep processes 0 and 1
    pids_.push_back(static_cast<Pid>(r.new_pid));
    if (pids_.size() > 16) pids_.erase(pids_.begin());
  } else if (const auto* n = std::get_if<op::Newlwp>(&op.body); n && r.ret != 0) {
    refused_pid_ = n->pid;
  } else if (const auto* n = std::get_if<op::Newlwp>(&op.body); n && r.ret == 0) {
    lwps_.push_back(OwnedLwp{lwp_sym, r.new_lwp, n->pid});
    cur_ = lwps_.size() - 1;
    keeping_ = keep_new_lwps_;
  } else if (const auto* s = std::get_if<op::Switch>(&op.body)) {
    cur_.reset();
    for (std::size_t i = 0; i < lwps_.size(); ++i)
      if (lwps_[i].sym == s->lwp) cur_ = i;
  } else if (std::holds_alternative<op::Release>(op.body) && cur_) {
    lwps_.erase(lwps_.begin() + static_cast<std::ptrdiff_t>(*cur_));
    cur_.reset();
    keeping_ = false;  // a released lwp is never named again
  }
}

std::int64_t HostView::name(::lwp* l) const {
  if (l == nullptr) return -1;
  for (const OwnedLwp& o : lwps_)
    if (o.handle == l) return o.sym;
  return -2;
}

}  // namespace lockstep::checker::stress
