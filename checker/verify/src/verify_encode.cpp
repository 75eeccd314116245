// The encoding of one event: its effects (SPEC §3-§5, given the outcome that happened) as
// definitional constraints over new values, then the §6 instances it could break. Each rule is
// written once; where the order of events decides an effect, the store says so (verify_store.hpp).
// Also here: the index (verify_index.hpp), what both value stores share, and observed states as
// facts. Each store's own code is beside its judge (SequentialStore in verify.cpp,
// PartialOrderStore in verify_partial.cpp).
#include <algorithm>
#include <cerrno>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "checker/verify_encoder.hpp"
#include "model/op_traits.hpp"

namespace lockstep::checker::verify_detail {

using namespace lockstep::model;

namespace {
constexpr std::int64_t kImplicit = -1;  // Cur: IMPLICIT
bool is_ok(const VOutcome& o) { return o.kind == VOutcome::Kind::Returned && o.ret == 0; }
}  // namespace

// ---- the index: who is who, in the file's order ----------------------------------------------

Index::Index(int hosts) {
  // §1 initial state: process 0 (kernel, lwp0 never bound) and process 1 (init, no lwps).
  procs.push_back(Proc{0, ProcKind::Kernel, 0, 1, true, false, {0}, kRunning});
  procs.push_back(Proc{1, ProcKind::Init, 0, 0, true, false, {}, kRunning});
  lwps.push_back(Lwp{0, kUnbound});
  last_by_pid = {{0, 0}, {1, 1}};
  table = {0, 1};
  cur_lwp.assign(hosts, kNoLwp);
  waits.assign(hosts, Wait{});
}

std::optional<ProcId> Index::proc_by_pid(Pid pid, bool table_only) const {
  auto it = last_by_pid.find(pid);
  if (it == last_by_pid.end()) return std::nullopt;
  if (table_only && !procs[it->second].in_table) return std::nullopt;
  return it->second;
}

Pid Index::current_pid(HostId h) const {
  const LwpId l = cur_lwp[h];
  return l == kNoLwp ? 1 : procs[lwps[l].proc].pid;
}

void Index::enter_table(ProcId p) {
  procs[p].in_table = true;
  last_by_pid[procs[p].pid] = p;
  table.insert(p);
}

// The pid then names the process still in the table under it, if any (two share it only where R5
// fails), else the last one freed.
void Index::leave_table(ProcId p) {
  if (procs[p].in_table) procs[p].freed = true;
  procs[p].in_table = false;
  table.erase(p);
  if (auto it = last_by_pid.find(procs[p].pid); it != last_by_pid.end() && it->second == p)
    for (ProcId q : table)
      if (procs[q].pid == procs[p].pid) it->second = q;
}

// ---- what both value stores share: current values, the values before the event, §1 ------------

Cond Cond::made() const {
  if (!formula) return *this;
  const Term t = formula();
  return Cond{file, [t] { return t; }};
}

Cond operator&&(const Cond& a, const Cond& b) {
  Cond r{a.file && b.file, nullptr};
  if (a.open() && b.open())
    r.formula = [a, b] {
      Term x = a.formula(), y = b.formula();
      Term t{x.e && y.e, std::move(x.parts)};
      t.parts.push_back(x.e);
      t.parts.insert(t.parts.end(), y.parts.begin(), y.parts.end());
      t.parts.push_back(y.e);
      return t;
    };
  else if (a.open() && b.file) r.formula = a.formula;
  else if (b.open() && a.file) r.formula = b.formula;
  return r;
}

z3::expr ValueStore::read(F f, std::uint32_t id) {
  const Key k = key(f, id);
  if (auto it = cur_.find(k); it != cur_.end()) return it->second;
  return unwritten(k);
}

z3::expr ValueStore::write(F f, std::uint32_t id) {
  const Key k = key(f, id);
  if (!before_.contains(k)) before_.emplace(k, read(f, id));
  z3::expr c = fresh(ctx_.int_sort());
  cur_.insert_or_assign(k, c);
  return c;
}

void ValueStore::assign(F f, std::uint32_t id, const z3::expr& numeral) {
  const Key k = key(f, id);
  if (!before_.contains(k)) before_.emplace(k, read(f, id));
  cur_.insert_or_assign(k, numeral);
}

z3::expr ValueStore::before(F f, std::uint32_t id) {
  auto it = before_.find(key(f, id));
  return it != before_.end() ? it->second : read(f, id);
}

std::int64_t ValueStore::initial(Key k) {
  const std::uint32_t id = id_of(k);
  switch (field(k)) {
    // §1: processes 0 (kernel, with lwp0) and 1 (init) in the table, nprocs 2.
    case F::Tab: return id <= 1 ? 1 : 0;
    case F::Pid: return id <= 1 ? id : 0;
    case F::Live: return id == 0 ? 1 : 0;
    case F::Nprocs: case F::Ntab: return 2;
    // Never written: IMPLICIT, unbound, no deadline; every other field 0.
    case F::Cur: case F::Bnd: case F::Wd: return -1;
    default: return 0;
  }
}

// ---- the encoder ---------------------------------------------------------------------------------

Encoder::Encoder(z3::solver& s, ValueStore& store, int hosts, std::optional<std::size_t> track_from)
    : s_(s), store_(store), hosts_(std::max(hosts, 1)), ix_(hosts_), track_from_(track_from), fold_(store.folds_numerals() && !track_from) {}

// ---- values and facts ----------------------------------------------------------------------------

bool Encoder::set_when(const Cond& c, F f, std::uint32_t id, std::int64_t v) {
  if (c.open()) set(f, id, z3::ite(c.formula().e, num(v), get(f, id)));
  else if (c.file) set(f, id, v);
  else return false;
  return true;
}

void Encoder::fact(const z3::expr& e) {
  if (lit_) s_.add(z3::implies(*lit_, e));
  else s_.add(e);
}

// A recorded return value as a fact of the current event, so that a core can name the event.
z3::expr Encoder::returned(std::int64_t v) {
  if (fold_) return num(v);
  z3::expr c = store_.fresh(store_.ctx().int_sort());
  fact(c == num(v));
  return c;
}

void Encoder::check(Rule r, const z3::expr& holds, std::string what, std::vector<std::pair<std::string, z3::expr>> vals) {
  if (fold_) {
    // The sequential judge asserts one disjunction of every instance's negation per window
    // (verify.cpp): no literal per instance.
    checks_.push_back(Check{r, step_, !holds, holds, std::move(what), std::move(vals)});
    return;
  }
  z3::expr v = store_.fresh(store_.ctx().bool_sort());
  s_.add(v == !holds);  // a definition, not an event: never in a core
  checks_.push_back(Check{r, step_, v, holds, std::move(what), std::move(vals)});
}

// ---- the index -----------------------------------------------------------------------------------

void Encoder::need_proc(ProcId p) const {
  if (p >= ix_.procs.size()) throw std::invalid_argument(fmt::format("event {} names proc#{}, which no event created", step_, p));
}
void Encoder::need_lwp(LwpId l) const {
  if (l >= ix_.lwps.size()) throw std::invalid_argument(fmt::format("event {} names lwp#{}, which no event created", step_, l));
}

Index::Proc& Encoder::touch(ProcId p) {
  need_proc(p);
  if (std::find(tp_.begin(), tp_.end(), p) == tp_.end()) {
    tp_.push_back(p);
    if (ix_.procs[p].freed) freed_before_.push_back(p);
  }
  return ix_.procs[p];
}

// ---- effects -------------------------------------------------------------------------------------

// L3: the old curlwp of H becomes unbound (if it is bound to H: another host's switch to it may have
// come first).
void Encoder::unbind_current(HostId h) {
  const LwpId old = ix_.cur_lwp[h];
  if (old != kNoLwp) {
    const Cond bound = store_.bound_to(old, h, ix_);
    if (set_when(bound, F::Bnd, old, kUnbound)) tl_.push_back(old);
    if (bound.file) ix_.lwps[old].bnd = kUnbound;
  }
  set(F::Cur, h, kImplicit);
  ix_.cur_lwp[h] = kNoLwp;
  th_.push_back(h);
}

void Encoder::bind(HostId h, LwpId l) {
  set(F::Bnd, l, h);
  set(F::Cur, h, l);
  ix_.lwps[l].bnd = h;
  ix_.cur_lwp[h] = l;
  store_.note_bind(l, h);
  tl_.push_back(l);
  th_.push_back(h);
}

void Encoder::enter_table(ProcId p) {
  touch(p);
  const z3::expr old = get(F::Tab, p);
  set(F::Tab, p, 1);
  set(F::Ntab, 0, get(F::Ntab, 0) + num(1) - old);
  ix_.enter_table(p);
}

// Out of the table where `leaves` holds (which must be possible).
void Encoder::leave_table(ProcId p, const Cond& leaves) {
  touch(p);
  const z3::expr was = get(F::Tab, p);
  // R3 remembers that it was freed, where the store keeps that as a value (else the index does).
  if (auto freed = store_.freed(p)) set(F::Freed, p, z3::ite(leaves.open() ? leaves.formula().e && was == 1 : was == 1, num(1), *freed));
  set_when(leaves, F::Tab, p, 0);
  set(F::Ntab, 0, get(F::Ntab, 0) + (leaves.open() ? get(F::Tab, p) : num(0)) - was);
  if (leaves.file) ix_.leave_table(p);
}

ProcId Encoder::new_proc(const VEvent& e, Pid pid, ProcKind kind, Pid ppid) {
  const ProcId p = static_cast<ProcId>(ix_.procs.size());
  for (const Binding& b : e.bound)
    if (b.kind == Binding::Kind::Proc && b.id != p)
      throw std::invalid_argument(fmt::format("event {} binds proc#{}, but the next process is proc#{}", e.step, b.id, p));
  ix_.procs.push_back(Index::Proc{pid, kind, ppid, 0, false, false, {}, kRunning});
  store_.note_created(p, pid);
  store_.note_ppid(p, ppid);
  set(F::Pid, p, pid);  // the recorded pid choice (§2: it binds for the rest of the trace)
  set(F::Ppid, p, ppid);
  set(F::Live, p, 0);
  enter_table(p);
  set(F::Nprocs, 0, get(F::Nprocs, 0) + 1);  // P1/K1: counted in nprocs
  return p;
}

LwpId Encoder::new_lwp(const VEvent& e, ProcId p, std::int32_t bnd) {
  const LwpId l = static_cast<LwpId>(ix_.lwps.size());
  for (const Binding& b : e.bound)
    if (b.kind == Binding::Kind::Lwp && b.id != l && b.pid == ix_.procs[p].pid)
      throw std::invalid_argument(fmt::format("event {} binds lwp#{}, but the next lwp is lwp#{}", e.step, b.id, l));
  ix_.lwps.push_back(Index::Lwp{p, bnd});
  Index::Proc& q = touch(p);
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
  const LwpId l = ix_.cur_lwp[h];
  if (l == kNoLwp) return;  // the impl returned from a release without a curlwp: nothing to free
  const ProcId p = ix_.lwps[l].proc;
  set(F::Rel, l, 1);
  unbind_current(h);
  Index::Proc& q = touch(p);
  --q.live;
  set(F::Live, p, get(F::Live, p) - 1);
  if (q.kind != ProcKind::User) return;
  const Pid pid = q.pid;
  // It frees the process iff it leaves no unreleased lwp (a newlwp racing it may come first).
  const Cond frees = store_.decide(q.live == 0, [this, p] { return get(F::Live, p) == 0; }).made();
  if (!frees.may()) return;
  leave_table(p, frees);
  // nprocs drops with it: by 1, or where the order decides it, by whether it is freed.
  set(F::Nprocs, 0, frees.open() ? get(F::Nprocs, 0) - z3::ite(frees.formula().e, num(1), num(0)) : get(F::Nprocs, 0) - 1);
  for (const ValueStore::Child& c : store_.may_be_children(p, pid, ix_)) {
    set_when(frees && c.is_child, F::Ppid, c.proc, 1);
    store_.note_ppid(c.proc, 1);
  }
  if (frees.file)
    for (ProcId c : std::vector<ProcId>(ix_.table.begin(), ix_.table.end()))
      if (ix_.procs[c].ppid == pid) touch(c).ppid = 1;
}

void Encoder::start_wait(HostId h, int kind, ProcId target, std::int64_t timo) {
  const std::int64_t deadline = timo > 0 ? ix_.now + timo : -1;
  set(F::Wk, h, kind);
  set(F::Wt, h, target);
  set(F::Wd, h, timo > 0 ? get(F::Now, 0) + num(timo) : num(-1));
  ix_.waits[h] = Index::Wait{kind, target, deadline};
  store_.note_wait(h, target, timo > 0);
  th_.push_back(h);
}

void Encoder::end_wait(HostId h) {
  if (ix_.waits[h].kind == kShutdownWait) set(F::Results, 0, get(F::Results, 0) + 1);  // K7's result line
  set(F::Wk, h, kNoWait);
  ix_.waits[h].kind = kNoWait;
  th_.push_back(h);
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
          const Pid parent = ix_.current_pid(h);
          unbind_current(h);
          const ProcId p = new_proc(e, *pid, ProcKind::User, parent);
          bind(h, new_lwp(e, p, kUnbound));
        } else if constexpr (std::is_same_v<T, op::Newlwp>) {
          if (!host || !is_ok(o)) return;
          // A freed process answering under its pid is a use after free (R1/R3 will say so);
          // a pid no process ever had is a history that contradicts itself.
          auto p = ix_.proc_by_pid(b.pid, true);
          if (!p) p = ix_.proc_by_pid(b.pid, false);
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
        } else if constexpr (traits_of<T>().creates == Creates::Kthread) {  // kthread_create, kproc_start (op_traits.hpp)
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
          Index::Proc& q = touch(p);
          // K2: reparented to 1, ZOMBIE; its lwp ends with its thread (Reading 7).
          set(F::Ppid, p, 1);
          q.ppid = 1;
          store_.note_ppid(p, 1);
          set(F::Kst, p, kZombie);
          q.kst = kZombie;
          for (LwpId l : q.lwps) {
            set(F::Rel, l, 1);
            set(F::Bnd, l, kUnbound);
            ix_.lwps[l].bnd = kUnbound;
            tl_.push_back(l);
          }
          set(F::Live, p, 0);
          q.live = 0;
        } else if constexpr (std::is_same_v<T, op::Suspend> || std::is_same_v<T, op::KprocShutdown>) {
          if (!host) return;
          constexpr bool shutdown = std::is_same_v<T, op::KprocShutdown>;
          const ProcId p = b.proc;
          need_proc(p);
          const bool kthread = ix_.procs[p].kind == ProcKind::Kthread;
          if constexpr (shutdown) set(F::Banners, 0, get(F::Banners, 0) + 1);  // K7's banner
          if (!kthread) {
            // S4: no effect and EINVAL (for K7: its inner suspend's EINVAL prints "stopped").
            if constexpr (!shutdown)
              check(Rule::S4, store_.ctx().bool_val(o.kind == VOutcome::Kind::Returned) && returned(o.ret) == EINVAL,
                    fmt::format("kthread_suspend of non-kthread proc#{} must return EINVAL", p));
            if constexpr (shutdown) set(F::Results, 0, get(F::Results, 0) + 1);
            if (o.kind == VOutcome::Kind::Blocked) start_wait(h, shutdown ? kShutdownWait : kSuspendWait, p, 0);
            return;
          }
          if (o.kind == VOutcome::Kind::Blocked) {
            set(F::Sreq, p, 1);
            touch(p);
            std::int64_t timo = 60 * kHz;  // K7: kthread_suspend(p, 60 * hz)
            if constexpr (!shutdown) timo = b.timo;
            start_wait(h, shutdown ? kShutdownWait : kSuspendWait, p, timo);
            return;
          }
          if (o.kind != VOutcome::Kind::Returned) return;
          if constexpr (shutdown) {
            set(F::Results, 0, get(F::Results, 0) + 1);
            // K7 requests the suspend unless the thread is reaped (a reap racing it may come first).
            const Cond takes = store_.decide(ix_.procs[p].kst != kReaped, [this, p] { return get(F::Kst, p) != kReaped; });
            if (set_when(takes, F::Sreq, p, 1)) touch(p);
          } else {
            // S2: an immediate 0 only for a target PARKED at the call; never an immediate EWOULDBLOCK.
            if (o.ret == 0) check(Rule::S2, returned(o.ret) != 0 || get(F::Kst, p) == kParked, fmt::format("kthread_suspend of proc#{} returned 0 at once but it was not PARKED", p));
            if (o.ret == EWOULDBLOCK) check(Rule::S2, returned(o.ret) != EWOULDBLOCK, fmt::format("kthread_suspend of proc#{} returned EWOULDBLOCK without waiting", p));
            if (o.ret == 0) {
              set(F::Sreq, p, 1);
              touch(p);
            }
          }
        } else if constexpr (std::is_same_v<T, op::Resume>) {
          if (!host) return;
          const ProcId p = b.proc;
          need_proc(p);
          if (ix_.procs[p].kind != ProcKind::Kthread) {
            check(Rule::S4, store_.ctx().bool_val(o.kind == VOutcome::Kind::Returned) && returned(o.ret) == EINVAL,
                  fmt::format("kthread_resume of non-kthread proc#{} must return EINVAL", p));
            return;
          }
          if (!is_ok(o)) return;
          set(F::Sreq, p, 0);
          touch(p);
          // The parked thread leaves PARKED when its suspend_check returns: a completion of K<p>.
          const bool woke = std::any_of(e.woke.begin(), e.woke.end(), [&](const VCompletion& c) { return c.actor == Actor::kthread(p); });
          if (woke && ix_.procs[p].kst == kParked) {
            set(F::Kst, p, kRunning);
            touch(p).kst = kRunning;
          }
        } else if constexpr (std::is_same_v<T, op::SuspendCheck>) {
          if (op.actor.kind != Actor::Kind::Kthread || op.actor.index != b.proc) return;
          if (o.kind != VOutcome::Kind::Blocked) return;  // no request: it returns at once
          set(F::Kst, b.proc, kParked);  // K5: acknowledge and PARK
          touch(b.proc).kst = kParked;
        } else if constexpr (std::is_same_v<T, op::Work>) {
          if (op.actor.kind != Actor::Kind::Kthread || o.kind != VOutcome::Kind::Returned) return;
          touch(op.actor.index);
          set(F::Prog, op.actor.index, get(F::Prog, op.actor.index) + 1);
        } else if constexpr (std::is_same_v<T, op::WaitExit>) {
          if (!host) return;
          need_proc(b.proc);
          if (o.kind == VOutcome::Kind::Blocked) start_wait(h, kExitWait, b.proc, b.timo);
        } else if constexpr (std::is_same_v<T, op::Reap>) {
          need_proc(b.proc);
          if (!is_ok(o) || ix_.procs[b.proc].kind != ProcKind::Kthread) return;
          set(F::Kst, b.proc, kReaped);  // K9: leaves the table, nprocs drops
          touch(b.proc).kst = kReaped;
          if (ix_.procs[b.proc].in_table) {
            leave_table(b.proc, Cond{true, nullptr});
            set(F::Nprocs, 0, get(F::Nprocs, 0) - 1);
          }
        } else if constexpr (std::is_same_v<T, op::Tick>) {
          if (o.kind != VOutcome::Kind::Returned) return;
          ix_.now += b.n;
          set(F::Now, 0, get(F::Now, 0) + num(b.n));
        }
      },
      op.body);
  apply_completions(e);
}

// The blocked calls this event ended, as they happened.
void Encoder::apply_completions(const VEvent& e) {
  const Op& op = e.op;
  const VOutcome& o = e.outcome;
  for (const VCompletion& c : e.woke) {
    if (c.actor.kind != Actor::Kind::Host) continue;
    const HostId w = static_cast<HostId>(c.actor.index);
    if (w >= hosts_) throw std::invalid_argument(fmt::format("event {} wakes H{}, beyond the trace's {} hosts", e.step, w, hosts_));
    const Index::Wait was = ix_.waits[w];
    if (was.kind == kSuspendWait && c.outcome.kind == VOutcome::Kind::Returned) {
      const ProcId t = was.target;
      if (c.outcome.ret == 0) {
        // S2: 0 only for an acknowledgement in this event: the target's own suspend_check with a request.
        const auto* sc = std::get_if<op::SuspendCheck>(&op.body);
        const bool ack = sc != nullptr && op.actor == Actor::kthread(t) && sc->proc == t && o.kind == VOutcome::Kind::Blocked;
        check(Rule::S2, returned(c.outcome.ret) != 0 || (store_.ctx().bool_val(ack) && store_.before(F::Sreq, t) == 1),
              fmt::format("H{}'s kthread_suspend of proc#{} returned 0 without an acknowledgement in this event", w, t));
      } else if (c.outcome.ret == EWOULDBLOCK) {
        const bool tick = std::holds_alternative<op::Tick>(op.body);
        check(Rule::S2, returned(c.outcome.ret) != EWOULDBLOCK || (store_.ctx().bool_val(tick && was.deadline >= 0) && get(F::Wd, w) <= get(F::Now, 0) && get(F::Wd, w) >= 0),
              fmt::format("H{}'s kthread_suspend of proc#{} returned EWOULDBLOCK before its deadline", w, t),
              {{"deadline", get(F::Wd, w)}, {"now", get(F::Now, 0)}});
      }
    }
    if (was.kind == kExitWait && std::holds_alternative<op::KthreadExit>(op.body) && c.outcome.ret != 0)
      check(Rule::S5, returned(c.outcome.ret) == 0, fmt::format("H{} waiting for the exit of proc#{} returned {} instead of 0", w, was.target, c.outcome.ret));
    end_wait(w);
  }
}

void Encoder::event(const VEvent& e) {
  if (dead_) return;  // after FATAL nothing more happens to the instance
  step_ = e.step;
  store_.begin_event();
  tp_.clear();
  tl_.clear();
  th_.clear();
  freed_before_.clear();
  waits_before_ = ix_.waits;
  lit_.reset();
  if (track_from_ && e.step >= *track_from_) {
    lit_ = store_.ctx().bool_const(fmt::format("e{}", e.step).c_str());
    tracked_.emplace_back(e.step, *lit_);
  }
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
      lit_ = store_.ctx().bool_const(fmt::format("o{}", e.step).c_str());
      tracked_.emplace_back(e.step, *lit_);
    }
    apply_observation(*e.observed);
  }
  check_after(e);
}

// ---- observed states as facts: the impl's §7 view after an event replaces what the SPEC's
// effects would have produced ----------------------------------------------------------------------

void Encoder::apply_observation(const Observation& o) {
  // Processes by pid: the one the index knows under that pid (in the table, or the last freed one).
  std::set<ProcId> seen;
  for (const ObsProc& op : o.procs) {
    std::optional<ProcId> p = ix_.proc_by_pid(op.pid, false);
    if (!p || seen.contains(*p)) continue;  // a process no event created: nothing to relate it to
    seen.insert(*p);
    Index::Proc& q = touch(*p);
    // Its membership is written unless it surely was in the table (so R3 and the table count see it).
    if (store_.known(q.in_table) != true) enter_table(*p);
    set(F::Ppid, *p, op.ppid);
    q.ppid = op.ppid;
    store_.note_ppid(*p, op.ppid);
    int live = 0;
    for (const ObsLwp& l : op.lwps) {
      live += l.released ? 0 : 1;
      if (l.lid < 1 || static_cast<std::size_t>(l.lid) > q.lwps.size()) continue;
      const LwpId id = q.lwps[l.lid - 1];
      set(F::Rel, id, l.released ? 1 : 0);
      set(F::Bnd, id, l.bound);
      ix_.lwps[id].bnd = l.bound;
      tl_.push_back(id);
    }
    set(F::Live, *p, live);
    q.live = live;
    if (q.kind == ProcKind::Kthread) {
      const int k = static_cast<int>(op.kstate);
      set(F::Kst, *p, k);
      set(F::Sreq, *p, op.suspend_requested ? 1 : 0);
      set(F::Prog, *p, static_cast<std::int64_t>(op.progress));
      q.kst = k;
    }
  }
  for (ProcId p = 0; p < ix_.procs.size(); ++p)
    if (!seen.contains(p) && store_.known(ix_.procs[p].in_table) != false) leave_table(p, Cond{true, nullptr});
  set(F::Nprocs, 0, o.nprocs);
  for (std::size_t h = 0; h < o.hosts.size() && h < static_cast<std::size_t>(hosts_); ++h) {
    std::int64_t l = -1;
    if (const auto& c = o.hosts[h].curlwp) {
      l = -3;  // an lwp no event created
      if (auto p = ix_.proc_by_pid(c->first, false); p && c->second >= 1 && static_cast<std::size_t>(c->second) <= ix_.procs[*p].lwps.size())
        l = ix_.procs[*p].lwps[c->second - 1];
    }
    set(F::Cur, static_cast<std::uint32_t>(h), l);
    ix_.cur_lwp[h] = l >= 0 ? static_cast<LwpId>(l) : kNoLwp;
    th_.push_back(static_cast<HostId>(h));
  }
  for (std::size_t h = 0; h < static_cast<std::size_t>(hosts_); ++h) {
    auto w = std::find_if(o.blocked.begin(), o.blocked.end(), [&](const ObsWait& x) { return x.host == static_cast<int>(h); });
    Index::Wait& x = ix_.waits[h];
    if (w == o.blocked.end()) {
      if (x.kind != kNoWait) set(F::Wk, static_cast<std::uint32_t>(h), kNoWait);
      x.kind = kNoWait;
      continue;
    }
    int kind = w->what == "kthread_wait_exit" ? kExitWait : (x.kind == kShutdownWait ? kShutdownWait : kSuspendWait);
    const auto t = ix_.proc_by_pid(w->target, false);
    set(F::Wk, static_cast<std::uint32_t>(h), kind);
    if (t) set(F::Wt, static_cast<std::uint32_t>(h), *t);
    x.kind = kind;
    if (t) x.target = *t;
    if (t) store_.note_wait(static_cast<HostId>(h), *t, false);
    th_.push_back(static_cast<HostId>(h));
  }
  int banners = 0, results = 0;
  for (const std::string& line : o.console) {
    if (line.starts_with("Waiting (max 60 seconds)")) ++banners;
    else if (line == "stopped" || line == "timed out") ++results;
  }
  set(F::Banners, 0, banners);
  set(F::Results, 0, results);
}

}  // namespace lockstep::checker::verify_detail
