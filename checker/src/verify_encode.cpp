// The encoding of one event: its effects (SPEC §3-§5, given the outcome that happened) as
// definitional constraints over fresh constants, then the §6 instances it could break.
#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include <fmt/format.h>

#include "checker/verify_encoder.hpp"

namespace lockstep::checker::verify_detail {

using namespace lockstep::model;

namespace {
constexpr std::int64_t kImplicit = -1;  // Cur: IMPLICIT
bool is_ok(const VOutcome& o) { return o.kind == VOutcome::Kind::Returned && o.ret == 0; }
}  // namespace

Encoder::Encoder(z3::context& ctx, z3::solver& s, int hosts, std::optional<std::size_t> track_from)
    : ctx_(ctx), s_(s), hosts_(std::max(hosts, 1)), track_from_(track_from) {
  // §1 initial state: process 0 (kernel, lwp0 never bound) and process 1 (init, no lwps), nprocs 2.
  procs_.push_back(SProc{0, ProcKind::Kernel, 0, 1, true, false, {0}, kRunning, false});
  procs_.push_back(SProc{1, ProcKind::Init, 0, 0, true, false, {}, kRunning, false});
  lwps_.push_back(SLwp{0, false, kUnbound});
  last_by_pid_ = {{0, 0}, {1, 1}};
  table_ = {0, 1};
  cur_lwp_.assign(hosts_, kNoLwp);
  waits_.assign(hosts_, SWait{});
  for (ProcId p : {0u, 1u}) {
    seed_[key(F::Tab, p)] = 1;
    seed_[key(F::Pid, p)] = p;
    seed_[key(F::Ppid, p)] = 0;
    seed_[key(F::Live, p)] = p == 0 ? 1 : 0;
  }
  seed_[key(F::Bnd, 0)] = kUnbound;
  seed_[key(F::Nprocs, 0)] = 2;
  seed_[key(F::Ntab, 0)] = 2;
}

// ---- the store ---------------------------------------------------------------------------------

z3::expr Encoder::get(F f, std::uint32_t id) {
  const std::uint64_t k = key(f, id);
  if (auto it = cur_.find(k); it != cur_.end()) return it->second;
  if (po_) {  // whoever wrote it last in the chosen order: the caller decides (verify_partial.cpp)
    if (auto it = reads_.find(k); it != reads_.end()) return it->second;
    z3::expr c = ctx_.constant(ctx_.int_symbol(static_cast<int>(fresh_++)), ctx_.int_sort());
    reads_.emplace(k, c);
    return c;
  }
  return num(initial(k));
}

std::int64_t Encoder::initial(std::uint64_t k) const {
  if (auto it = seed_.find(k); it != seed_.end()) return it->second;
  switch (static_cast<F>(k >> 32)) {  // a field never written: its initial value
    case F::Cur: case F::Bnd: case F::Wd: return -1;
    default: return 0;
  }
}

void Encoder::set(F f, std::uint32_t id, const z3::expr& rhs) {
  const std::uint64_t k = key(f, id);
  if (!before_.contains(k)) before_.emplace(k, get(f, id));
  z3::expr c = ctx_.constant(ctx_.int_symbol(static_cast<int>(fresh_++)), ctx_.int_sort());
  fact(c == rhs);
  cur_.insert_or_assign(k, c);
}

void Encoder::fact(const z3::expr& e) {
  if (lit_) s_.add(z3::implies(*lit_, e));
  else s_.add(e);
}

// A recorded return value as a fact of the current event, so that a core can name the event.
z3::expr Encoder::returned(std::int64_t v) {
  z3::expr c = ctx_.constant(ctx_.int_symbol(static_cast<int>(fresh_++)), ctx_.int_sort());
  fact(c == num(v));
  return c;
}

z3::expr Encoder::fresh_bool() {
  return ctx_.constant(ctx_.int_symbol(static_cast<int>(fresh_++)), ctx_.bool_sort());
}

void Encoder::check(Rule r, const z3::expr& holds, std::string what, std::vector<std::pair<std::string, z3::expr>> vals) {
  z3::expr v = fresh_bool();
  s_.add(v == !holds);  // a definition, not an event: never in a core
  checks_.push_back(Check{r, step_, v, holds, std::move(what), std::move(vals)});
}

void Encoder::reseed(const z3::model& m) {
  for (const auto& [k, e] : cur_) seed_[k] = m.eval(e, true).get_numeral_int64();
  cur_.clear();
  checks_.clear();
}

// ---- the index -----------------------------------------------------------------------------------

void Encoder::need_proc(ProcId p) const {
  if (p >= procs_.size()) throw std::invalid_argument(fmt::format("event {} names proc#{}, which no event created", step_, p));
}
void Encoder::need_lwp(LwpId l) const {
  if (l >= lwps_.size()) throw std::invalid_argument(fmt::format("event {} names lwp#{}, which no event created", step_, l));
}
const Encoder::SProc& Encoder::sp(ProcId p) const { need_proc(p); return procs_[p]; }
Encoder::SProc& Encoder::sp(ProcId p) {
  need_proc(p);
  if (!sp_before_.contains(p)) sp_before_.emplace(p, procs_[p]);
  if (std::find(tp_.begin(), tp_.end(), p) == tp_.end()) tp_.push_back(p);
  return procs_[p];
}

std::optional<ProcId> Encoder::proc_by_pid(Pid pid, bool table_only) const {
  auto it = last_by_pid_.find(pid);
  if (it == last_by_pid_.end()) return std::nullopt;
  if (table_only && !procs_[it->second].in_table) return std::nullopt;
  return it->second;
}

Pid Encoder::current_pid(HostId h) const {
  const LwpId l = cur_lwp_[h];
  return l == kNoLwp ? 1 : procs_[lwps_[l].proc].pid;  // §1: IMPLICIT is associated with pid 1
}

// ---- effects -------------------------------------------------------------------------------------

// L3: the old curlwp of H becomes unbound.
void Encoder::unbind_current(HostId h) {
  const LwpId old = cur_lwp_[h];
  if (po_ && old != kNoLwp && bound_by_others(old, h)) {
    // Partial-order mode, an lwp another host binds somewhere: that host's switch to it may come
    // first in some order; only a binding to H is undone. (Symbolic only where needed: it makes
    // the final proof much harder, bench_verify 1000 events with causal edges: 92 s -> 230 s.)
    const z3::expr b = get(F::Bnd, old);
    set(F::Bnd, old, z3::ite(b == static_cast<int>(h), num(kUnbound), b));
    if (lwps_[old].bnd == h) lwps_[old].bnd = kUnbound;
    tl_.push_back(old);
  } else if (old != kNoLwp && lwps_[old].bnd == h) {
    set(F::Bnd, old, kUnbound);
    lwps_[old].bnd = kUnbound;
    tl_.push_back(old);
  }
  set(F::Cur, h, kImplicit);
  cur_lwp_[h] = kNoLwp;
  th_.push_back(h);
}

void Encoder::bind(HostId h, LwpId l) {
  set(F::Bnd, l, h);
  set(F::Cur, h, l);
  lwps_[l].bnd = h;
  cur_lwp_[h] = l;
  if (po_) seen_.binds.emplace(l, h);
  tl_.push_back(l);
  th_.push_back(h);
}

void Encoder::set_tab(ProcId p, bool in) {
  SProc& q = sp(p);
  const z3::expr old = get(F::Tab, p);
  if (po_ && !in) set(F::Freed, p, z3::ite(old == 1, num(1), get(F::Freed, p)));
  set(F::Tab, p, in ? 1 : 0);
  set(F::Ntab, 0, get(F::Ntab, 0) + num(in ? 1 : 0) - old);
  if (q.in_table && !in) q.freed = true;
  q.in_table = in;
  if (in) {
    last_by_pid_[q.pid] = p;
    table_.insert(p);
  } else {
    table_.erase(p);
  }
}

ProcId Encoder::new_proc(const VEvent& e, Pid pid, ProcKind kind, Pid ppid) {
  const ProcId p = static_cast<ProcId>(procs_.size());
  for (const Binding& b : e.bound)
    if (b.kind == Binding::Kind::Proc && b.id != p)
      throw std::invalid_argument(fmt::format("event {} binds proc#{}, but the next process is proc#{}", e.step, b.id, p));
  procs_.push_back(SProc{pid, kind, ppid, 0, false, false, {}, kRunning, false});
  if (po_) created_.push_back(Created{p, pid});
  note_ppid(p, ppid);
  set(F::Pid, p, pid);  // the recorded pid choice (§2: it binds for the rest of the trace)
  set(F::Ppid, p, ppid);
  set(F::Live, p, 0);
  set_tab(p, true);
  set(F::Nprocs, 0, get(F::Nprocs, 0) + 1);  // P1/K1: counted in nprocs
  return p;
}

LwpId Encoder::new_lwp(const VEvent& e, ProcId p, std::int32_t bnd) {
  const LwpId l = static_cast<LwpId>(lwps_.size());
  for (const Binding& b : e.bound)
    if (b.kind == Binding::Kind::Lwp && b.id != l && b.pid == procs_[p].pid)
      throw std::invalid_argument(fmt::format("event {} binds lwp#{}, but the next lwp is lwp#{}", e.step, b.id, l));
  lwps_.push_back(SLwp{p, false, bnd});
  SProc& q = sp(p);
  q.lwps.push_back(l);
  ++q.live;
  set(F::Rel, l, 0);
  set(F::Bnd, l, bnd);
  set(F::Live, p, get(F::Live, p) + 1);
  tl_.push_back(l);
  return l;
}

// L4: the lwp is released and freed; the last one frees its process (R1), orphans go to 1.
void Encoder::release(HostId h) {
  const LwpId l = cur_lwp_[h];
  if (l == kNoLwp) return;  // the impl returned from a release without a curlwp: nothing to free
  const ProcId p = lwps_[l].proc;
  set(F::Rel, l, 1);
  lwps_[l].rel = true;
  unbind_current(h);
  SProc& q = sp(p);
  --q.live;
  set(F::Live, p, get(F::Live, p) - 1);
  if (po_ && q.kind == ProcKind::User) {
    // Partial-order mode: whether this release frees the process depends on the order (a newlwp
    // racing it may come first), so the free is a formula of the unreleased lwps it leaves.
    const z3::expr freed = get(F::Live, p) == 0;
    const z3::expr was_in = get(F::Tab, p);
    set(F::Freed, p, z3::ite(freed && was_in == 1, num(1), get(F::Freed, p)));
    set(F::Tab, p, z3::ite(freed, num(0), was_in));
    set(F::Ntab, 0, get(F::Ntab, 0) + get(F::Tab, p) - was_in);
    set(F::Nprocs, 0, get(F::Nprocs, 0) - z3::ite(freed, num(1), num(0)));
    // Orphans go to 1: every process that may hold this pid as its ppid here, including children
    // the file creates later but some order creates before this release (the first pass's list).
    const auto children = [&](std::size_t c) {
      const auto has = [&](const Foresight& f) { return c < f.ppid_values.size() && f.ppid_values[c].contains(q.pid); };
      return c != p && (has(fore_) || has(seen_));
    };
    for (ProcId c = 0; c < std::max(fore_.ppid_values.size(), seen_.ppid_values.size()); ++c)
      if (children(c)) {
        const z3::expr pp = get(F::Ppid, c);
        set(F::Ppid, c, z3::ite(freed && pp == static_cast<int>(q.pid), num(1), pp));
        note_ppid(c, 1);
      }
    // The index follows the file's order, as everywhere in this mode (who is who).
    if (q.live == 0) {
      if (q.in_table) q.freed = true;
      q.in_table = false;
      table_.erase(p);
      for (ProcId c : std::vector<ProcId>(table_.begin(), table_.end()))
        if (procs_[c].ppid == q.pid) sp(c).ppid = 1;
    }
    return;
  }
  if (q.kind == ProcKind::User && q.live == 0) {
    set_tab(p, false);
    set(F::Nprocs, 0, get(F::Nprocs, 0) - 1);
    for (ProcId c : std::vector<ProcId>(table_.begin(), table_.end()))
      if (procs_[c].ppid == q.pid) {
        sp(c).ppid = 1;
        set(F::Ppid, c, 1);
        note_ppid(c, 1);
      }
  }
}

void Encoder::start_wait(HostId h, int kind, ProcId target, std::int64_t timo) {
  const std::int64_t deadline = timo > 0 ? now_ + timo : -1;
  set(F::Wk, h, kind);
  set(F::Wt, h, target);
  set(F::Wd, h, timo > 0 ? get(F::Now, 0) + num(timo) : num(-1));
  waits_[h] = SWait{kind, target, deadline};
  if (po_) {
    seen_.waits_on.emplace(h, target);
    if (timo > 0) seen_.timed.insert(h);
  }
  th_.push_back(h);
}

void Encoder::end_wait(HostId h, const VCompletion& c) {
  if (h >= hosts_) throw std::invalid_argument(fmt::format("event {} wakes H{}, beyond the trace's {} hosts", step_, h, hosts_));
  if (waits_[h].kind == kShutdownWait) set(F::Results, 0, get(F::Results, 0) + 1);  // K7's result line
  set(F::Wk, h, kNoWait);
  waits_[h].kind = kNoWait;
  th_.push_back(h);
  (void)c;
}

void Encoder::apply_op(const VEvent& e) {
  const Op& op = e.op;
  const VOutcome& o = e.outcome;
  const bool host = op.actor.kind == Actor::Kind::Host;
  const HostId h = static_cast<HostId>(op.actor.index);
  if (host && h >= hosts_) throw std::invalid_argument(fmt::format("event {} is by H{}, beyond the trace's {} hosts", e.step, h, hosts_));
  auto pid_bound = [&](Binding::Kind k) -> std::optional<Pid> {
    for (const Binding& b : e.bound)
      if (b.kind == k) return b.pid;
    return std::nullopt;
  };
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, op::Rfork>) {
          if (!host || !is_ok(o)) return;
          const auto pid = pid_bound(Binding::Kind::Proc);
          if (!pid) throw std::invalid_argument(fmt::format("event {}: rfork returned 0 but binds no process", e.step));
          const Pid parent = current_pid(h);
          unbind_current(h);
          const ProcId p = new_proc(e, *pid, ProcKind::User, parent);
          bind(h, new_lwp(e, p, kUnbound));
        } else if constexpr (std::is_same_v<T, op::Newlwp>) {
          if (!host || !is_ok(o)) return;
          // A freed process answering under its pid is a use after free (R1/R3 will say so);
          // a pid no process ever had is a history that contradicts itself.
          auto p = proc_by_pid(b.pid, true);
          if (!p) p = proc_by_pid(b.pid, false);
          if (!p) throw std::invalid_argument(fmt::format("event {}: newlwp({}) returned 0 but no process ever had that pid", e.step, b.pid));
          unbind_current(h);
          bind(h, new_lwp(e, *p, kUnbound));
        } else if constexpr (std::is_same_v<T, op::Switch>) {
          if (!host || o.kind != VOutcome::Kind::Returned) return;
          if (b.lwp != kNoLwp) need_lwp(b.lwp);
          // R2's step part: the switched-to lwp was not released when the switch returned.
          if (b.lwp != kNoLwp) check(Rule::R2, get(F::Rel, b.lwp) == 0, fmt::format("switch to lwp#{} returned while it is released", b.lwp));
          unbind_current(h);
          if (b.lwp != kNoLwp) bind(h, b.lwp);
        } else if constexpr (std::is_same_v<T, op::Release>) {
          if (host && o.kind == VOutcome::Kind::Returned) release(h);
        } else if constexpr (std::is_same_v<T, op::KthreadCreate> || std::is_same_v<T, op::KprocStart>) {
          if (!host || !is_ok(o)) return;
          const auto pid = pid_bound(Binding::Kind::Proc);
          if (!pid) throw std::invalid_argument(fmt::format("event {}: kthread creation returned 0 but binds no process", e.step));
          const ProcId p = new_proc(e, *pid, ProcKind::Kthread, 0);
          set(F::Kst, p, kRunning);
          set(F::Sreq, p, 0);
          set(F::Prog, p, 0);
          new_lwp(e, p, kKernelThread);  // Reading 7: bound to its own kernel thread
        } else if constexpr (std::is_same_v<T, op::KthreadExit>) {
          if (o.kind != VOutcome::Kind::Returned || op.actor.kind != Actor::Kind::Kthread) return;
          const ProcId p = op.actor.index;
          SProc& q = sp(p);
          const bool had_waiters = std::any_of(waits_.begin(), waits_.end(), [&](const SWait& w) { return w.kind == kExitWait && w.target == p; });
          // K2: reparented to 1, ZOMBIE; its lwp ends with its thread (Reading 7).
          set(F::Ppid, p, 1);
          q.ppid = 1;
          note_ppid(p, 1);
          set(F::Kst, p, kZombie);
          q.kst = kZombie;
          for (LwpId l : q.lwps) {
            set(F::Rel, l, 1);
            set(F::Bnd, l, kUnbound);
            lwps_[l].rel = true;
            lwps_[l].bnd = kUnbound;
            tl_.push_back(l);
          }
          set(F::Live, p, 0);
          q.live = 0;
          (void)had_waiters;
        } else if constexpr (std::is_same_v<T, op::Suspend> || std::is_same_v<T, op::KprocShutdown>) {
          if (!host) return;
          constexpr bool shutdown = std::is_same_v<T, op::KprocShutdown>;
          const ProcId p = b.proc;
          need_proc(p);
          const bool kthread = procs_[p].kind == ProcKind::Kthread;
          if constexpr (shutdown) set(F::Banners, 0, get(F::Banners, 0) + 1);  // K7's banner
          if (!kthread) {
            // S4: no effect and EINVAL (for K7: its inner suspend's EINVAL prints "stopped").
            if constexpr (!shutdown)
              check(Rule::S4, ctx_.bool_val(o.kind == VOutcome::Kind::Returned) && returned(o.ret) == EINVAL,
                    fmt::format("kthread_suspend of non-kthread proc#{} must return EINVAL", p));
            if constexpr (shutdown) set(F::Results, 0, get(F::Results, 0) + 1);
            if (o.kind == VOutcome::Kind::Blocked) start_wait(h, shutdown ? kShutdownWait : kSuspendWait, p, 0);
            return;
          }
          if (o.kind == VOutcome::Kind::Blocked) {
            set(F::Sreq, p, 1);
            sp(p).sreq = true;
            std::int64_t timo = 60 * kHz;  // K7: kthread_suspend(p, 60 * hz)
            if constexpr (!shutdown) timo = b.timo;
            start_wait(h, shutdown ? kShutdownWait : kSuspendWait, p, timo);
            return;
          }
          if (o.kind != VOutcome::Kind::Returned) return;
          if constexpr (shutdown) set(F::Results, 0, get(F::Results, 0) + 1);
          const bool took = shutdown ? procs_[p].kst != kReaped : o.ret == 0;
          if (shutdown && po_) {  // a reap racing it may come first in some order
            set(F::Sreq, p, z3::ite(get(F::Kst, p) != kReaped, num(1), get(F::Sreq, p)));
            sp(p).sreq = took;
            return;
          }
          if constexpr (!shutdown) {
            // S2: an immediate 0 only for a target PARKED at the call; never an immediate EWOULDBLOCK.
            if (o.ret == 0) check(Rule::S2, returned(o.ret) != 0 || get(F::Kst, p) == kParked, fmt::format("kthread_suspend of proc#{} returned 0 at once but it was not PARKED", p));
            if (o.ret == EWOULDBLOCK) check(Rule::S2, returned(o.ret) != EWOULDBLOCK, fmt::format("kthread_suspend of proc#{} returned EWOULDBLOCK without waiting", p));
          }
          if (took) {
            set(F::Sreq, p, 1);
            sp(p).sreq = true;
          }
        } else if constexpr (std::is_same_v<T, op::Resume>) {
          if (!host) return;
          const ProcId p = b.proc;
          need_proc(p);
          if (procs_[p].kind != ProcKind::Kthread) {
            check(Rule::S4, ctx_.bool_val(o.kind == VOutcome::Kind::Returned) && returned(o.ret) == EINVAL,
                  fmt::format("kthread_resume of non-kthread proc#{} must return EINVAL", p));
            return;
          }
          if (!is_ok(o)) return;
          set(F::Sreq, p, 0);
          sp(p).sreq = false;
          // The parked thread leaves PARKED when its suspend_check returns: a completion of K<p>.
          const bool woke = std::any_of(e.woke.begin(), e.woke.end(), [&](const VCompletion& c) { return c.actor == Actor::kthread(p); });
          if (woke && procs_[p].kst == kParked) {
            set(F::Kst, p, kRunning);
            sp(p).kst = kRunning;
          }
        } else if constexpr (std::is_same_v<T, op::SuspendCheck>) {
          if (op.actor.kind != Actor::Kind::Kthread || op.actor.index != b.proc) return;
          if (o.kind != VOutcome::Kind::Blocked) return;  // no request: it returns at once
          set(F::Kst, b.proc, kParked);  // K5: acknowledge and PARK
          sp(b.proc).kst = kParked;
        } else if constexpr (std::is_same_v<T, op::Work>) {
          if (op.actor.kind != Actor::Kind::Kthread || o.kind != VOutcome::Kind::Returned) return;
          need_proc(op.actor.index);
          sp(op.actor.index);
          set(F::Prog, op.actor.index, get(F::Prog, op.actor.index) + 1);
        } else if constexpr (std::is_same_v<T, op::WaitExit>) {
          if (!host) return;
          need_proc(b.proc);
          if (o.kind == VOutcome::Kind::Blocked) start_wait(h, kExitWait, b.proc, b.timo);
        } else if constexpr (std::is_same_v<T, op::Reap>) {
          need_proc(b.proc);
          if (!is_ok(o) || procs_[b.proc].kind != ProcKind::Kthread) return;
          set(F::Kst, b.proc, kReaped);  // K9: leaves the table, nprocs drops
          sp(b.proc).kst = kReaped;
          if (procs_[b.proc].in_table) {
            set_tab(b.proc, false);
            set(F::Nprocs, 0, get(F::Nprocs, 0) - 1);
          }
        } else if constexpr (std::is_same_v<T, op::Tick>) {
          if (o.kind != VOutcome::Kind::Returned) return;
          now_ += b.n;
          set(F::Now, 0, get(F::Now, 0) + num(b.n));
        }
      },
      op.body);

  // The blocked calls this event ended, as they happened.
  for (const VCompletion& c : e.woke) {
    if (c.actor.kind != Actor::Kind::Host) continue;
    const HostId w = static_cast<HostId>(c.actor.index);
    if (w >= hosts_) throw std::invalid_argument(fmt::format("event {} wakes H{}, beyond the trace's {} hosts", e.step, w, hosts_));
    const SWait was = waits_[w];
    if (was.kind == kSuspendWait && c.outcome.kind == VOutcome::Kind::Returned) {
      const ProcId t = was.target;
      if (c.outcome.ret == 0) {
        // S2: 0 only for an acknowledgement in this event: the target's own suspend_check with a request.
        const auto* sc = std::get_if<op::SuspendCheck>(&op.body);
        const bool ack = sc != nullptr && op.actor == Actor::kthread(t) && sc->proc == t && o.kind == VOutcome::Kind::Blocked;
        check(Rule::S2, returned(c.outcome.ret) != 0 || (ctx_.bool_val(ack) && before_or(F::Sreq, t) == 1),
              fmt::format("H{}'s kthread_suspend of proc#{} returned 0 without an acknowledgement in this event", w, t));
      } else if (c.outcome.ret == EWOULDBLOCK) {
        const bool tick = std::holds_alternative<op::Tick>(op.body);
        check(Rule::S2, returned(c.outcome.ret) != EWOULDBLOCK || (ctx_.bool_val(tick && was.deadline >= 0) && get(F::Wd, w) <= get(F::Now, 0) && get(F::Wd, w) >= 0),
              fmt::format("H{}'s kthread_suspend of proc#{} returned EWOULDBLOCK before its deadline", w, t),
              {{"deadline", get(F::Wd, w)}, {"now", get(F::Now, 0)}});
      }
    }
    if (was.kind == kExitWait && std::holds_alternative<op::KthreadExit>(op.body) && c.outcome.ret != 0)
      check(Rule::S5, returned(c.outcome.ret) == 0, fmt::format("H{} waiting for the exit of proc#{} returned {} instead of 0", w, was.target, c.outcome.ret));
    end_wait(w, c);
  }
}

void Encoder::note_ppid(ProcId p, Pid ppid) {
  if (!po_) return;  // only the partial-order mode looks ahead
  if (seen_.ppid_values.size() <= p) seen_.ppid_values.resize(p + 1);
  seen_.ppid_values[p].insert(ppid);
}

bool Encoder::bound_by_others(LwpId l, HostId h) const {
  for (auto it = fore_.binds.lower_bound({l, 0}); it != fore_.binds.end() && it->first == l; ++it)
    if (it->second != h) return true;
  return false;
}

bool Encoder::waits_on(HostId h, ProcId p) const {
  return fore_.waits_on.contains({h, p}) || (waits_[h].kind != kNoWait && waits_[h].target == p);
}

bool Encoder::may_time_out(HostId h) const {
  return fore_.timed.contains(h) || (waits_[h].kind != kNoWait && waits_[h].deadline >= 0);
}

z3::expr Encoder::before_or(F f, std::uint32_t id) {
  auto it = before_.find(key(f, id));
  return it != before_.end() ? it->second : get(f, id);
}

void Encoder::event(const VEvent& e) {
  if (dead_) return;  // after FATAL nothing more happens to the instance
  step_ = e.step;
  if (po_) {  // each event's writes and reads are its own; the caller relates them across events
    cur_.clear();
    reads_.clear();
    created_.clear();
  }
  tp_.clear();
  tl_.clear();
  th_.clear();
  before_.clear();
  sp_before_.clear();
  waits_before_ = waits_;
  lit_.reset();
  if (track_from_ && e.step >= *track_from_) {
    lit_ = ctx_.bool_const(fmt::format("e{}", e.step).c_str());
    tracked_.emplace_back(e.step, *lit_);
  }
  // §2: after FATAL the instance is dead; NotRunnable/Dead steps change nothing.
  // §2: a FATAL step has no effect and kills the instance (its observed state is still judged);
  // NotRunnable/Dead steps never reached the kernel.
  if (e.outcome.kind == VOutcome::Kind::Dead) {
    dead_ = true;
    return;
  }
  if (e.outcome.kind == VOutcome::Kind::Fatal) dead_ = true;
  else if (e.outcome.kind != VOutcome::Kind::NotRunnable) apply_op(e);
  if (e.observed) {
    if (track_from_ && e.step >= *track_from_) {
      lit_ = ctx_.bool_const(fmt::format("o{}", e.step).c_str());
      tracked_.emplace_back(e.step, *lit_);
    }
    apply_observation(*e.observed);
  }
  check_after(e);
}

}  // namespace lockstep::checker::verify_detail
