// The partial-order judge's values: a read is a fresh constant for the caller to tie to a writer,
// and a question the order decides is a formula, asked of every object some order may involve.
// (A Term's parts are the subterms it keeps referenced until it is asserted: verify_store.hpp.)
#include "checker/verify_partial_store.hpp"

#include <algorithm>

namespace lockstep::checker::verify_detail {

using namespace lockstep::model;

void PartialOrderStore::begin_event() {
  cur_.clear();
  reads_.clear();
  created_.clear();
  ValueStore::begin_event();
}

// Whoever wrote it last in the chosen order: the caller decides (verify_partial.cpp).
z3::expr PartialOrderStore::unwritten(Key k) {
  if (auto it = reads_.find(k); it != reads_.end()) return it->second;
  z3::expr c = fresh(ctx_.int_sort());
  reads_.emplace(k, c);
  return c;
}

// An lwp another host binds somewhere: that host's switch to it may come first in some order, and
// only a binding to H is undone. (Symbolic only where needed: it makes the final proof much
// harder, bench_verify 1000 events with causal edges: 92 s -> 230 s.)
Cond PartialOrderStore::bound_to(LwpId l, HostId h, const Index& ix) {
  Cond c{ix.lwps[l].bnd == h, nullptr};
  for (auto it = fore_.binds.lower_bound({l, 0}); it != fore_.binds.end() && it->first == l; ++it)
    if (it->second != h) {
      c.formula = [this, l, h] { return Term{read(F::Bnd, l) == static_cast<int>(h), {}}; };
      break;
    }
  return c;
}

// Every process that may hold this pid as its ppid here, including children the file creates later
// but some order creates before this release (the first pass's list).
std::vector<ProcId> PartialOrderStore::may_be_children(ProcId p, Pid pid, const Index&) {
  const auto has = [&](const Foresight& f, std::size_t c) { return c < f.ppid_values.size() && f.ppid_values[c].contains(pid); };
  std::vector<ProcId> out;
  for (ProcId c = 0; c < std::max(fore_.ppid_values.size(), seen_.ppid_values.size()); ++c)
    if (c != p && (has(fore_, c) || has(seen_, c))) out.push_back(c);
  return out;
}

// Whether p was freed before depends on the order, so Freed is a field, and the instance can only
// break where Tab is written.
std::optional<Guard> PartialOrderStore::freed_before(ProcId p, bool) {
  if (!wrote(F::Tab, p)) return std::nullopt;
  return Guard{Term{before(F::Freed, p) == 0, {}}};
}

// Any host that waits on p somewhere may be waiting here, in some order, for either reason.
ValueStore::Guards PartialOrderStore::waiting(HostId h, ProcId p, const Index& ix) {
  if (!waits_on(h, p, ix)) return nullptr;
  const z3::expr on_p = read(F::Wt, h) == static_cast<int>(p), wk = read(F::Wk, h);
  return [on_p, wk](WaitFor w) -> std::optional<Guard> {
    if (w == WaitFor::Exit) {
      const z3::expr exiting = wk == kExitWait, on = exiting && on_p;
      return Guard{Term{!on, {exiting, on}}};
    }
    const z3::expr suspending = wk == kSuspendWait, shutting = wk == kShutdownWait, either = suspending || shutting, on = either && on_p;
    return Guard{Term{!on, {suspending, shutting, either, on}}};
  };
}

std::optional<Guard> PartialOrderStore::waited_for_exit(HostId h, ProcId p, const Index::Wait&, const Index& ix) {
  if (!waits_on(h, p, ix)) return std::nullopt;
  const z3::expr exiting = before(F::Wk, h) == kExitWait, on_p = before(F::Wt, h) == static_cast<int>(p), both = exiting && on_p;
  return Guard{Term{!both, {exiting, on_p, both}}};
}

// Whether H waits here, for what, and until when (if at all), depends on the order.
std::optional<ValueStore::Deadline> PartialOrderStore::deadline(HostId h, const Index& ix) {
  if (!may_time_out(h, ix)) return std::nullopt;
  const z3::expr wk = read(F::Wk, h), wd = read(F::Wd, h), not_due = wd < 0 || wd > read(F::Now, 0);
  return Deadline{true, true, [wk, not_due](WaitFor w) {
                    if (w == WaitFor::Exit) {
                      const z3::expr other = wk != kExitWait;
                      return Term{other || not_due, {other}};
                    }
                    const z3::expr not_suspend = wk != kSuspendWait, not_shutdown = wk != kShutdownWait, other = not_suspend && not_shutdown;
                    return Term{other || not_due, {not_suspend, not_shutdown, other}};
                  }};
}

// Which host it claims depends on the order: every host that binds it somewhere.
bool PartialOrderStore::may_be_bound(LwpId l, HostId g, const Index& ix) {
  return ix.lwps[l].bnd == g || fore_.binds.contains({l, g});
}

void PartialOrderStore::note_wait(HostId h, ProcId p, bool timed) {
  seen_.waits_on.emplace(h, p);
  if (timed) seen_.timed.insert(h);
}

void PartialOrderStore::note_ppid(ProcId p, Pid ppid) {
  if (seen_.ppid_values.size() <= p) seen_.ppid_values.resize(p + 1);
  seen_.ppid_values[p].insert(ppid);
}

bool PartialOrderStore::waits_on(HostId h, ProcId p, const Index& ix) const {
  return fore_.waits_on.contains({h, p}) || (ix.waits[h].kind != kNoWait && ix.waits[h].target == p);
}

bool PartialOrderStore::may_time_out(HostId h, const Index& ix) const {
  return fore_.timed.contains(h) || (ix.waits[h].kind != kNoWait && ix.waits[h].deadline >= 0);
}

}  // namespace lockstep::checker::verify_detail
