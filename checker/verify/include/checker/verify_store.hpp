// How the Z3 encoding sees the state (checker/verify/VERIFY.md): the one interface behind which the two
// judges differ. The encoder (verify_encoder.hpp) writes each SPEC rule once, against it:
// - values: a field's current value is read, and a new value written as a fresh constant that the
//   encoder defines. SequentialStore: an SSA constant, or the numeral the previous window left.
//   PartialOrderStore: an event's own write, or a fresh constant the caller ties to whichever
//   writer precedes the event in the order Z3 chooses (reads-from).
// - what the order decides: a condition an effect or an invariant instance depends on (does this
//   release free the process? is this host waiting on that kthread?). The sequential store answers
//   from the index, since the file's order is the order; the partial-order store with a formula
//   over the values the event reads, and with every object some order may involve (what the first
//   pass saw further on in the history).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include <z3++.h>

#include "checker/verify_index.hpp"

namespace lockstep::checker::verify_detail {

// State fields; every value is an Int (Booleans as 0/1). Freed (per process) is written only by the
// partial-order store, where R3's "was freed before" depends on the order; the sequential store
// leaves it to the index.
enum class F : std::uint8_t { Cur, Rel, Bnd, Tab, Live, Ppid, Pid, Kst, Sreq, Prog, Wk, Wt, Wd, Nprocs, Ntab, Now, Banners, Results, Freed };
using Key = std::uint64_t;
inline Key key(F f, std::uint32_t id) { return (Key(f) << 32) | id; }
inline F field(Key k) { return static_cast<F>(k >> 32); }
inline std::uint32_t id_of(Key k) { return static_cast<std::uint32_t>(k); }

// A formula, with the subterms it is made of kept referenced until it is asserted. Z3 numbers
// terms as they are made and reuses the numbers of freed ones, and its rewriter caches a subterm
// only while it is shared (referenced twice, a C++ handle included); its search, so every order
// the partial-order judge reports, depends on both. The encoding makes its terms, and holds them,
// as it always has.
struct Term {
  z3::expr e;
  std::vector<z3::expr> parts;
};

// A condition an effect depends on: its value in the file's order (`file`, the index's), and,
// where the order Z3 chooses decides it, its formula over the values the event reads, made when
// the effect uses it.
struct Cond {
  bool file = false;
  std::function<Term()> formula;
  bool open() const { return static_cast<bool>(formula); }
  bool may() const { return open() || file; }
  Cond made() const;  // the formula made now, once: for a condition several effects use
};
Cond operator&&(const Cond& a, const Cond& b);

// Whether an invariant instance is asked at an event: always (no `unless`), or except where
// `unless` holds (the order decides whether the instance applies).
struct Guard {
  std::optional<Term> unless;
  z3::expr over(const z3::expr& holds) const { return unless ? unless->e || holds : holds; }
};

// What a host waits for: an exit (kthread_wait_exit), or a PARKED target (kthread_suspend,
// kproc_shutdown).
enum class WaitFor : std::uint8_t { Exit, Park };

class ValueStore {
 public:
  explicit ValueStore(z3::context& ctx) : ctx_(ctx) {}
  virtual ~ValueStore() = default;
  ValueStore(const ValueStore&) = delete;
  ValueStore& operator=(const ValueStore&) = delete;

  z3::context& ctx() const { return ctx_; }
  // Constants are numbered from 0 per store: a reused context's symbol table does not grow.
  z3::expr fresh(const z3::sort& s) { return ctx_.constant(ctx_.int_symbol(static_cast<int>(fresh_++)), s); }

  // ---- Values.
  z3::expr read(F f, std::uint32_t id);
  // A fresh constant that becomes the field's value; the encoder asserts its definition.
  z3::expr write(F f, std::uint32_t id);
  // A numeral as the field's new value, without a constant and its defining equation: the
  // sequential judge's values are mostly numerals, and Z3 then reads them directly (verify.cpp).
  void assign(F f, std::uint32_t id, const z3::expr& numeral);
  virtual bool folds_numerals() const { return false; }
  z3::expr before(F f, std::uint32_t id);  // the value before the current event
  bool wrote(F f, std::uint32_t id) const { return before_.contains(key(f, id)); }
  const std::unordered_map<Key, z3::expr>& before_values() const { return before_; }  // what the event wrote
  virtual void begin_event() { before_.clear(); }
  void forget_before() { before_.clear(); }
  static std::int64_t initial(Key k);  // §1, and a field never written

  // ---- What the order decides, for effects.
  // A fact about the state the event sees, given its value in the file's order: known (the file's
  // order is the order), or nothing (the order Z3 chooses decides it).
  virtual std::optional<bool> known(bool in_file_order) = 0;
  // The same as a condition: where the order decides it, `in_chosen_order` makes its formula.
  Cond decide(bool in_file_order, std::function<z3::expr()> in_chosen_order) {
    if (auto k = known(in_file_order)) return Cond{*k, nullptr};
    return Cond{in_file_order, [f = std::move(in_chosen_order)] { return Term{f(), {}}; }};
  }
  // Is lwp l, which H runs, bound to H (L3 unbinds it)?
  virtual Cond bound_to(model::LwpId l, model::HostId h, const Index& ix) = 0;
  // The processes a release of (p, pid) may orphan, each with whether it holds `pid` as its ppid
  // here. The partial-order store names processes the file creates only further on (the first
  // pass saw them given that ppid), which the index, in the file's order, has no entry for yet:
  // so the store, not the caller, says what each is in the file's order.
  struct Child {
    model::ProcId proc;
    Cond is_child;
  };
  virtual std::vector<Child> may_be_children(model::ProcId p, model::Pid pid, const Index& ix) = 0;
  // R3's memory of p having been freed, where the store keeps it as a value.
  virtual std::optional<z3::expr> freed(model::ProcId p) = 0;

  // ---- What the order decides, for invariant instances.
  // R3: p was freed before this event (`freed_in_file_order`: before it, in the file's order).
  virtual std::optional<Guard> freed_before(model::ProcId p, bool freed_in_file_order) = 0;
  // The table at this event, where the file's order decides it (R5, R6's parent part).
  virtual const std::set<model::ProcId>* table(const Index& ix) = 0;
  // H waits on kthread p (S2, S5): per kind of wait, the guard of its instance, or nothing where H
  // cannot be so waiting. Empty where H cannot wait on p here at all.
  using Guards = std::function<std::optional<Guard>(WaitFor)>;
  virtual Guards waiting(model::HostId h, model::ProcId p, const Index& ix) = 0;
  // H waited for p's exit before this event (`was`: H's wait before it, in the file's order).
  virtual std::optional<Guard> waited_for_exit(model::HostId h, model::ProcId p, const Index::Wait& was, const Index& ix) = 0;
  // At a tick: the kinds of timed wait H may be in, and per kind the instance "it has not outlived
  // its deadline" (made when asked, after the caller has read the values it shows).
  struct Deadline {
    bool exit = false, park = false;
    std::function<Term(WaitFor)> not_overdue;
  };
  virtual std::optional<Deadline> deadline(model::HostId h, const Index& ix) = 0;
  // Lwp l may be bound to host g (R4).
  virtual bool may_be_bound(model::LwpId l, model::HostId g, const Index& ix) = 0;
  // R6's counter part as "this event moves both alike" rather than "they are equal".
  virtual bool counts_by_change(bool observed) = 0;

  // ---- What the history shows, for a later pass (the partial-order store's first pass).
  virtual void note_bind(model::LwpId, model::HostId) {}
  virtual void note_wait(model::HostId, model::ProcId, bool /*timed*/) {}
  virtual void note_ppid(model::ProcId, model::Pid) {}
  virtual void note_created(model::ProcId, model::Pid) {}

 protected:
  virtual z3::expr unwritten(Key k) = 0;  // the value of a field the current values do not hold

  z3::context& ctx_;
  std::unordered_map<Key, z3::expr> cur_;     // current values: the window's (sequential), the event's (partial order)
  std::unordered_map<Key, z3::expr> before_;  // per event: the values before it of the fields it wrote

 private:
  unsigned fresh_ = 0;
};

}  // namespace lockstep::checker::verify_detail
