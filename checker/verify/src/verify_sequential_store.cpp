// The sequential judge's values: SSA constants within a window, numerals across windows, and the
// index's answer wherever the order could matter.
#include "checker/verify_sequential_store.hpp"

namespace lockstep::checker::verify_detail {

using namespace lockstep::model;

void SequentialStore::reseed(const z3::model& m) {
  for (const auto& [k, e] : cur_) seed_[k] = m.eval(e, true).get_numeral_int64();
  cur_.clear();
}

z3::expr SequentialStore::unwritten(Key k) {
  auto it = seed_.find(k);
  return ctx_.int_val(it != seed_.end() ? it->second : initial(k));
}

std::vector<ProcId> SequentialStore::may_be_children(ProcId, Pid pid, const Index& ix) {
  std::vector<ProcId> out;
  for (ProcId c : ix.table)
    if (ix.procs[c].ppid == pid) out.push_back(c);
  return out;
}

std::optional<Guard> SequentialStore::freed_before(ProcId, bool freed_in_file_order) {
  if (!freed_in_file_order) return std::nullopt;
  return Guard{};
}

// The wait the index shows, guarded by the values that say so: an unsat core then names the event
// that started it.
ValueStore::Guards SequentialStore::waiting(HostId h, ProcId p, const Index& ix) {
  const Index::Wait& x = ix.waits[h];
  if (x.kind == kNoWait || x.target != p) return nullptr;
  const z3::expr waiting = read(F::Wk, h) != kNoWait && read(F::Wt, h) == static_cast<int>(p);
  const WaitFor kind = x.kind == kExitWait ? WaitFor::Exit : WaitFor::Park;
  return [waiting, kind](WaitFor w) -> std::optional<Guard> {
    if (w != kind) return std::nullopt;
    return Guard{Term{!waiting, {}}};
  };
}

std::optional<Guard> SequentialStore::waited_for_exit(HostId, ProcId p, const Index::Wait& was, const Index&) {
  if (was.kind != kExitWait || was.target != p) return std::nullopt;
  return Guard{};
}

// The wait the index shows has a deadline: it has ended, or the deadline is later.
std::optional<ValueStore::Deadline> SequentialStore::deadline(HostId h, const Index& ix) {
  const Index::Wait& x = ix.waits[h];
  if (x.kind == kNoWait || x.deadline < 0) return std::nullopt;
  return Deadline{x.kind == kExitWait, x.kind != kExitWait, [this, h](WaitFor) {
                    const z3::expr ended = read(F::Wk, h) == kNoWait, later = read(F::Wd, h) > read(F::Now, 0);
                    return Term{ended || later, {ended, later}};
                  }};
}

}  // namespace lockstep::checker::verify_detail
