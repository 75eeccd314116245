// The partial-order judge's values (checker/verify/VERIFY.md, verify_partial.cpp): events are encoded in
// the file's order, which fixes who is who and each event's effects, but a value an event reads
// from another event is a fresh constant (`reads()`), which the caller ties to whichever writer
// precedes the event in the order Z3 chooses. `writes()` are the event's final values per key.
//
// Some instances depend on facts the file reveals only later (a child created further on whose
// parent's release may come after it in some order; a host that starts a wait further on, which a
// tick or an exit may follow in some order). A first pass over the whole history collects them
// (`seen()`), and the store of the second pass is given them.
#pragma once
#include <set>
#include <utility>
#include <vector>

#include "checker/verify_store.hpp"

namespace lockstep::checker::verify_detail {

class PartialOrderStore final : public ValueStore {
 public:
  struct Foresight {
    // By proc: every ppid it is given. The first pass misses one: a release orphans (ppid 1) only
    // the children it knows, and a child the file creates later it does not know yet. The second
    // pass knows them from the first, so its record (seen(), once it is done) is complete.
    std::vector<std::set<model::Pid>> ppid_values;
    std::set<std::pair<model::HostId, model::ProcId>> waits_on;  // host h waits on proc p somewhere
    std::set<model::HostId> timed;                               // hosts that make a timed wait somewhere
    std::set<std::pair<model::LwpId, model::HostId>> binds;      // lwp l is bound to host h somewhere
    void merge(const Foresight& o);  // everything either saw (the windows before a cut and the next)
  };
  struct Created { model::ProcId proc; model::Pid pid; };

  explicit PartialOrderStore(z3::context& ctx, Foresight fore = {}) : ValueStore(ctx), fore_(std::move(fore)) {}
  ~PartialOrderStore() override { cur_.clear(); }  // before reads_, as always (see ~Encoder)

  const std::unordered_map<Key, z3::expr>& reads() const { return reads_; }  // the current event's
  const std::unordered_map<Key, z3::expr>& writes() const { return cur_; }   // the current event's
  const std::vector<Created>& created() const { return created_; }           // the current event's (R5 is the caller's)
  const Foresight& seen() const { return seen_; }                            // what this pass has seen

  void begin_event() override;  // each event's reads and writes are its own; the caller relates them

  std::optional<bool> known(bool) override { return std::nullopt; }
  Cond bound_to(model::LwpId l, model::HostId h, const Index& ix) override;
  std::vector<Child> may_be_children(model::ProcId p, model::Pid pid, const Index& ix) override;
  std::optional<z3::expr> freed(model::ProcId p) override { return read(F::Freed, p); }

  std::optional<Guard> freed_before(model::ProcId p, bool) override;
  const std::set<model::ProcId>* table(const Index&) override { return nullptr; }
  Guards waiting(model::HostId h, model::ProcId p, const Index& ix) override;
  std::optional<Guard> waited_for_exit(model::HostId h, model::ProcId p, const Index::Wait&, const Index& ix) override;
  std::optional<Deadline> deadline(model::HostId h, const Index& ix) override;
  bool may_be_bound(model::LwpId l, model::HostId g, const Index& ix) override;
  bool counts_by_change(bool observed) override { return !observed; }

  void note_bind(model::LwpId l, model::HostId h) override { seen_.binds.emplace(l, h); }
  void note_wait(model::HostId h, model::ProcId p, bool timed) override;
  void note_ppid(model::ProcId p, model::Pid ppid) override;
  void note_created(model::ProcId p, model::Pid pid) override { created_.push_back(Created{p, pid}); }

 private:
  z3::expr unwritten(Key k) override;
  bool waits_on(model::HostId h, model::ProcId p, const Index& ix) const;  // in some order, at this event
  bool may_time_out(model::HostId h, const Index& ix) const;

  std::unordered_map<Key, z3::expr> reads_;
  std::vector<Created> created_;
  Foresight fore_;  // from the first pass
  Foresight seen_;
};

}  // namespace lockstep::checker::verify_detail
