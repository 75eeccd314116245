// What both value stores share: current values, the values before the current event, §1.
#include "checker/verify_store.hpp"

namespace lockstep::checker::verify_detail {

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

}  // namespace lockstep::checker::verify_detail
