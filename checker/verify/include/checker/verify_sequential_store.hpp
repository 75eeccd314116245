// The sequential judge's values (checker/verify/VERIFY.md): the file's order is the order, so every value
// an event reads is the previous event's (an SSA constant of this window, or the numeral the last
// window's model gave it), and every question the order could decide, the index answers.
#pragma once
#include "checker/verify_store.hpp"

namespace lockstep::checker::verify_detail {

class SequentialStore final : public ValueStore {
 public:
  using ValueStore::ValueStore;

  // Replaces every current value by its numeral in `m` and forgets the window's constants, so
  // that each window's formula is small (verify.cpp).
  void reseed(const z3::model& m);

  bool folds_numerals() const override { return true; }
  std::optional<bool> known(bool in_file_order) override { return in_file_order; }
  Cond bound_to(model::LwpId l, model::HostId h, const Index& ix) override { return Cond{ix.lwps[l].bnd == h, nullptr}; }
  std::vector<Child> may_be_children(model::ProcId p, model::Pid pid, const Index& ix) override;
  std::optional<z3::expr> freed(model::ProcId) override { return std::nullopt; }  // the index keeps it

  std::optional<Guard> freed_before(model::ProcId, bool freed_in_file_order) override;
  const std::set<model::ProcId>* table(const Index& ix) override { return &ix.table; }
  Guards waiting(model::HostId h, model::ProcId p, const Index& ix) override;
  std::optional<Guard> waited_for_exit(model::HostId h, model::ProcId p, const Index::Wait& was, const Index& ix) override;
  std::optional<Deadline> deadline(model::HostId h, const Index& ix) override;
  bool may_be_bound(model::LwpId l, model::HostId g, const Index& ix) override { return ix.lwps[l].bnd == g; }
  bool counts_by_change(bool) override { return false; }

 private:
  z3::expr unwritten(Key k) override;

  std::unordered_map<Key, z3::expr> seed_;  // values at the window's start (numerals)
};

}  // namespace lockstep::checker::verify_detail
