// The SMT encoding of a trace (checker/VERIFY.md): per event, fresh Z3 constants for the state
// fields the event writes (SSA), one definitional constraint per write derived from the SPEC rule
// the event exercises given its recorded outcome, observed states as facts, and per invariant a
// Boolean that is true iff the invariant's instance fails after the event.
//
// Which objects an event touches (e.g. which lwp is H's curlwp) is resolved by a concrete index
// kept beside the encoding; the values themselves are Z3's. Between windows the current values
// are replaced by the numerals of Z3's model, so each window's formula is small (linear cost).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <z3++.h>

#include "checker/verify.hpp"

namespace lockstep::checker::verify_detail {

// State fields; every value is an Int (Booleans as 0/1).
// Freed (0/1, per process) is kept only in partial-order mode, where R3's "was freed before" depends
// on the order; the sequential encoding reads it off the concrete index.
enum class F : std::uint8_t { Cur, Rel, Bnd, Tab, Live, Ppid, Pid, Kst, Sreq, Prog, Wk, Wt, Wd, Nprocs, Ntab, Now, Banners, Results, Freed };
enum Kst : int { kRunning = 0, kParked = 1, kZombie = 2, kReaped = 3 };
enum Wk : int { kNoWait = 0, kSuspendWait = 1, kShutdownWait = 2, kExitWait = 3 };

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
  Encoder(z3::context& ctx, z3::solver& s, int hosts, std::optional<std::size_t> track_from);

  // Partial-order mode (verify_partial.cpp): events are still encoded in the file's order, which
  // fixes who is who and each event's effects, but a value an event reads from an earlier event
  // becomes a fresh constant (`reads()`), which the caller ties to whichever writer precedes the
  // event in the linearisation Z3 chooses. `writes()` are the event's final values per key.
  //
  // Some instances depend on facts the file order reveals only later (a child created further on
  // whose parent's release may come after it in some order; a host that starts a wait further on,
  // which a tick or an exit may follow in some order). The caller learns them from a first pass
  // (`foresight()`) and gives them to the encoder of the second.
  struct Foresight {
    std::vector<std::set<model::Pid>> ppid_values;               // by proc: every ppid it is ever given
    std::set<std::pair<model::HostId, model::ProcId>> waits_on;  // host h waits on proc p somewhere
    std::set<model::HostId> timed;                               // hosts that make a timed wait somewhere
    std::set<std::pair<model::LwpId, model::HostId>> binds;      // lwp l is bound to host h somewhere
  };
  void partial_order(Foresight f = {}) {
    po_ = true;
    fore_ = std::move(f);
  }
  Foresight foresight() const { return seen_; }  // what this pass saw (kept in partial-order mode only)
  const std::unordered_map<std::uint64_t, z3::expr>& reads() const { return reads_; }
  const std::unordered_map<std::uint64_t, z3::expr>& writes() const { return cur_; }
  std::int64_t initial(std::uint64_t key) const;
  // R5 in partial-order mode is checked by the caller over pairs of processes with one pid.
  struct Created { model::ProcId proc; model::Pid pid; };
  const std::vector<Created>& created() const { return created_; }
  static std::uint64_t key_of(F f, std::uint32_t id) { return key(f, id); }

  void event(const VEvent& e);
  bool dead() const { return dead_; }

  std::vector<Check>& checks() { return checks_; }
  const std::vector<std::pair<std::size_t, z3::expr>>& tracked() const { return tracked_; }
  // Replaces every current value by its numeral in `m` and forgets the window's constants.
  void reseed(const z3::model& m);

 private:
  struct SProc {
    model::Pid pid = 0;
    model::ProcKind kind = model::ProcKind::User;
    model::Pid ppid = 0;
    int live = 0;
    bool in_table = true, freed = false;
    std::vector<model::LwpId> lwps;  // by lid - 1
    int kst = kRunning;
    bool sreq = false;
  };
  struct SLwp {
    model::ProcId proc = 0;
    bool rel = false;
    std::int32_t bnd = model::kUnbound;
  };
  struct SWait {
    int kind = kNoWait;
    model::ProcId target = 0;
    std::int64_t deadline = -1;
  };

  static std::uint64_t key(F f, std::uint32_t id) { return (std::uint64_t(f) << 32) | id; }
  z3::expr get(F f, std::uint32_t id);
  void set(F f, std::uint32_t id, const z3::expr& rhs);
  void set(F f, std::uint32_t id, std::int64_t v) { set(f, id, ctx_.int_val(v)); }
  z3::expr before_or(F f, std::uint32_t id);  // the value before this event
  void fact(const z3::expr& e);   // under the current event's literal
  void check(model::Rule r, const z3::expr& holds, std::string what, std::vector<std::pair<std::string, z3::expr>> vals = {});
  z3::expr num(std::int64_t v) { return ctx_.int_val(v); }
  z3::expr fresh_bool();
  z3::expr returned(std::int64_t v);

  // Effects, each written from its SPEC rule.
  void unbind_current(model::HostId h);
  void bind(model::HostId h, model::LwpId l);
  model::ProcId new_proc(const VEvent& e, model::Pid pid, model::ProcKind kind, model::Pid ppid);
  model::LwpId new_lwp(const VEvent& e, model::ProcId p, std::int32_t bnd);
  void set_tab(model::ProcId p, bool in);
  void release(model::HostId h);
  void end_wait(model::HostId h, const VCompletion& c);
  void start_wait(model::HostId h, int kind, model::ProcId target, std::int64_t timo);
  void apply_op(const VEvent& e);
  void apply_observation(const Observation& o);

  // Invariant instances after an event.
  void check_after(const VEvent& e);

  std::optional<model::ProcId> proc_by_pid(model::Pid pid, bool table_only) const;
  model::Pid current_pid(model::HostId h) const;
  const SProc& sp(model::ProcId p) const;
  SProc& sp(model::ProcId p);
  void need_proc(model::ProcId p) const;
  void need_lwp(model::LwpId l) const;

  z3::context& ctx_;
  z3::solver& s_;
  int hosts_;
  std::optional<std::size_t> track_from_;
  std::optional<z3::expr> lit_;  // the current event's tracking literal
  std::size_t step_ = 0;
  unsigned fresh_ = 0;
  bool dead_ = false;
  bool po_ = false;
  std::unordered_map<std::uint64_t, z3::expr> reads_;  // partial-order mode: this event's reads
  std::vector<Created> created_;                        // partial-order mode: this event's new processes
  Foresight fore_;                                      // partial-order mode: from the first pass
  Foresight seen_;                                      // what this pass has seen
  bool waits_on(model::HostId h, model::ProcId p) const;  // h may wait on p at this event, in some order
  bool may_time_out(model::HostId h) const;
  bool bound_by_others(model::LwpId l, model::HostId h) const;  // a host other than h binds l somewhere
  void note_ppid(model::ProcId p, model::Pid ppid);

  std::unordered_map<std::uint64_t, z3::expr> cur_;        // written in this window
  std::unordered_map<std::uint64_t, std::int64_t> seed_;   // values at the window's start
  std::vector<Check> checks_;
  std::vector<std::pair<std::size_t, z3::expr>> tracked_;

  // The concrete index: who is who, mirrored from the same effects.
  std::vector<SProc> procs_;
  std::vector<SLwp> lwps_;
  std::vector<model::LwpId> cur_lwp_;  // by host, kNoLwp = IMPLICIT
  std::vector<SWait> waits_;           // by host
  std::map<model::Pid, model::ProcId> last_by_pid_;
  std::set<model::ProcId> table_;  // processes in the table: loops stay O(table), not O(history)
  std::int64_t now_ = 0;

  // Per event: what it touched, and the values before it.
  std::vector<model::ProcId> tp_;
  std::vector<model::LwpId> tl_;
  std::vector<model::HostId> th_;
  std::unordered_map<std::uint64_t, z3::expr> before_;
  std::unordered_map<model::ProcId, SProc> sp_before_;  // touched processes, as they were
  std::vector<SWait> waits_before_;
};

}  // namespace lockstep::checker::verify_detail
