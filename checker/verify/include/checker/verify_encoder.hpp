// The SMT encoding of a trace (checker/verify/VERIFY.md): per event, a new value for each state field the
// event writes, defined by the SPEC rule the event exercises given its recorded outcome, observed
// states as facts, and per invariant a Boolean that is true iff the invariant's instance fails
// after the event.
//
// The rules are written once, here, against a ValueStore (verify_store.hpp), which decides how a
// value is read and written and what the order of events leaves open: SequentialStore for the
// file's order, PartialOrderStore for every order a happens-before graph allows. Which objects an
// event touches (e.g. which lwp is H's curlwp) is resolved by the Index, in the file's order.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <z3++.h>

#include "checker/verify.hpp"
#include "checker/verify_index.hpp"
#include "checker/verify_store.hpp"

namespace lockstep::checker::verify_detail {

struct Check {
  model::Rule rule;
  std::size_t step;
  z3::expr viol;                                   // true iff the instance fails
  z3::expr holds;                                  // the instance itself
  std::string what;
  std::vector<std::pair<std::string, z3::expr>> values;  // shown with Z3's values when it fails
};

// The failing instance's text with Z3's values of its fields (verify.cpp).
std::string with_values(const Check& c, const z3::model& m);

class Encoder {
 public:
  // `track_from`: events from this step on are asserted under a tracking literal (for unsat cores).
  Encoder(z3::solver& s, ValueStore& store, int hosts, std::optional<std::size_t> track_from);
  // Starting from `start`, the index after the events before (the partial-order judge's windows).
  Encoder(z3::solver& s, ValueStore& store, int hosts, std::optional<std::size_t> track_from, const Index& start)
      : Encoder(s, store, hosts, track_from) {
    ix_ = start;
  }
  // Frees the terms in the order the encoding always has: the values before the last event, the
  // checks, then (with the store, which outlives it) the current values and the reads. Z3 reuses a
  // freed term's id and its search depends on ids, so this order shapes the next problem's
  // witnesses (the partial-order judge's first pass is freed before its real encoding starts).
  ~Encoder() { store_.forget_before(); }
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  void event(const VEvent& e);
  bool dead() const { return dead_; }
  const Index& index() const { return ix_; }

  std::vector<Check>& checks() { return checks_; }
  const std::vector<std::pair<std::size_t, z3::expr>>& tracked() const { return tracked_; }

 private:
  // The store's values, written as facts of the current event.
  z3::expr get(F f, std::uint32_t id) { return store_.read(f, id); }
  // A numeral is the new value itself where the store folds them and no event is tracked (an
  // unsat core names events by their facts); else a fresh constant and its definition.
  void set(F f, std::uint32_t id, const z3::expr& rhs) {
    if (fold_ && rhs.is_numeral()) store_.assign(f, id, rhs);
    else fact(store_.write(f, id) == rhs);
  }
  void set(F f, std::uint32_t id, std::int64_t v) { set(f, id, num(v)); }
  // Writes v where `c` holds (ite(c, v, old) where the order decides it); whether it wrote.
  bool set_when(const Cond& c, F f, std::uint32_t id, std::int64_t v);
  void fact(const z3::expr& e);    // under the current event's literal
  void check(model::Rule r, const z3::expr& holds, std::string what, std::vector<std::pair<std::string, z3::expr>> vals = {});
  z3::expr num(std::int64_t v) { return store_.ctx().int_val(v); }
  z3::expr returned(std::int64_t v);

  // Effects, each written from its SPEC rule (verify_encode.cpp).
  void unbind_current(model::HostId h);
  void bind(model::HostId h, model::LwpId l);
  model::ProcId new_proc(const VEvent& e, model::Pid pid, model::ProcKind kind, model::Pid ppid);
  model::LwpId new_lwp(const VEvent& e, model::ProcId p, std::int32_t bnd);
  void enter_table(model::ProcId p);
  void leave_table(model::ProcId p, const Cond& leaves);
  void release(model::HostId h);
  void end_wait(model::HostId h);
  void start_wait(model::HostId h, int kind, model::ProcId target, std::int64_t timo);
  void apply_op(const VEvent& e);
  void apply_completions(const VEvent& e);
  void apply_observation(const Observation& o);

  // Invariant instances after an event (verify_checks.cpp).
  void check_after(const VEvent& e);

  // The index, recording what the event touched.
  Index::Proc& touch(model::ProcId p);
  void need_proc(model::ProcId p) const;
  void need_lwp(model::LwpId l) const;

  z3::solver& s_;
  ValueStore& store_;
  int hosts_;
  Index ix_;
  std::optional<std::size_t> track_from_;
  bool fold_ = false;  // store_.folds_numerals() and nothing tracked
  std::optional<z3::expr> lit_;  // the current event's tracking literal
  std::size_t step_ = 0;
  bool dead_ = false;
  std::vector<Check> checks_;
  std::vector<std::pair<std::size_t, z3::expr>> tracked_;

  // Per event: what it touched, and what the index said before it.
  std::vector<model::ProcId> tp_;
  std::vector<model::LwpId> tl_;
  std::vector<model::HostId> th_;
  std::vector<model::ProcId> freed_before_;  // touched processes that had been freed before it
  std::vector<Index::Wait> waits_before_;
};

}  // namespace lockstep::checker::verify_detail
