// compact() (model/compact.hpp) is invisible to every later step: a program cut at a random step,
// its state compacted there with the objects its remaining ops name pinned, runs on to the same
// outcomes as the uncompacted model, and its states stay equal to the original's once both drop
// what nothing reaches. Plus the plain cases: what stays, what goes, and how ids are renumbered.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <limits>

#include "model/compact.hpp"
#include "model/op_traits.hpp"
#include "programs.hpp"

namespace lockstep::model::testing {
namespace {

using Ids = std::vector<std::uint32_t>;

// Rewrites the handles and the kthread actor of `op`.
template <class MapProc, class MapLwp>
Op renamed(Op op, MapProc&& proc, MapLwp&& lwp) {
  for_each_arg_mut(op.body, [&](const ArgTraits& a, auto& v) {
    using V = std::decay_t<decltype(v)>;
    if constexpr (std::is_integral_v<V>) {
      if (a.kind == ArgKind::LwpSym) v = static_cast<V>(lwp(static_cast<std::uint32_t>(v)));
      if (a.kind == ArgKind::ProcSym) v = static_cast<V>(proc(static_cast<std::uint32_t>(v)));
    }
  });
  if (op.actor.kind == Actor::Kind::Kthread) op.actor.index = proc(op.actor.index);
  return op;
}

// The objects the ops from `from` on name.
Pins named(const std::vector<Op>& ops, std::size_t from) {
  Pins p;
  for (std::size_t i = from; i < ops.size(); ++i)
    renamed(
        ops[i], [&](std::uint32_t id) { return p.procs.push_back(id), id; }, [&](std::uint32_t id) { return p.lwps.push_back(id), id; });
  return p;
}

State compacted(State s, const Pins& p) {
  compact(s, p);
  return s;
}

RC_GTEST_PROP(Compact, IsInvisibleToEveryLaterStep, ()) {
  ModelProgram prog;
  prog.maxproc = *rc::gen::element(4, 8, kDefaultMaxproc);
  prog.program.steps = *rc::gen::container<std::vector<std::vector<std::uint32_t>>>(
      *rc::gen::inRange<std::size_t>(40, 240),
      rc::gen::container<std::vector<std::uint32_t>>(step_choices(), rc::gen::arbitrary<std::uint32_t>()));
  // The program as ops: resolved once, against the uncompacted model.
  std::vector<Op> ops;
  std::vector<Choice> choices;
  run_program(prog, [&](const State&, const Op& op, const Choice& c, const StepResult&, const State&) {
    ops.push_back(op);
    choices.push_back(c);
  });
  const std::size_t cut = *rc::gen::inRange<std::size_t>(ops.size() / 3, ops.size() + 1);  // late: more has died

  Model a(Config{.maxproc = prog.maxproc});
  for (std::size_t i = 0; i < cut; ++i) a.apply(ops[i], choices[i]);
  State s = a.state();
  const Renaming r = compact(s, named(ops, cut));
  RC_CLASSIFY(r.dropped() > 0, "dropped objects");
  Model b = Model::from_state(s);
  // Ids in b: a survivor's by the renaming, a later object's shifted by what was dropped.
  const std::size_t procs_dropped = a.state().procs.size() - s.procs.size(), lwps_dropped = a.state().lwps.size() - s.lwps.size();
  auto in_b = [](const Ids& to, std::size_t dropped) {
    return [&to, dropped](std::uint32_t id) -> std::uint32_t {
      if (id >= std::numeric_limits<std::uint32_t>::max() - 1) return id;  // NULL, or never issued
      if (id < to.size()) {
        RC_ASSERT(to[id] != kDropped);  // pinned: the op names it
        return to[id];
      }
      return static_cast<std::uint32_t>(id - dropped);
    };
  };
  const auto proc_b = in_b(r.procs, procs_dropped);
  const auto lwp_b = in_b(r.lwps, lwps_dropped);
  std::vector<Op> ops_b(ops.begin(), ops.end());
  for (std::size_t i = cut; i < ops.size(); ++i) ops_b[i] = renamed(ops[i], proc_b, lwp_b);

  for (std::size_t i = cut; i < ops.size(); ++i) {
    const StepResult ra = a.apply(ops[i], choices[i]);
    const StepResult rb = b.apply(ops_b[i], choices[i]);
    RC_LOG() << "step " << i << ": " << to_string(ops[i]) << " -> " << ra.outcome.label << " / " << rb.outcome.label << "\n";
    RC_ASSERT(ra.outcome.kind == rb.outcome.kind);
    RC_ASSERT(ra.outcome.label == rb.outcome.label);
    RC_ASSERT(ra.outcome.ret == rb.outcome.ret);
    RC_ASSERT(ra.outcome.err == rb.outcome.err);
    RC_ASSERT(ra.outcome.st_size == rb.outcome.st_size);
    RC_ASSERT(ra.completions.size() == rb.completions.size());
    RC_ASSERT(compacted(a.state(), named(ops, i + 1)) == compacted(b.state(), named(ops_b, i + 1)));
  }
}

TEST(Compact, KeepsWhatIsReachableAndRenumbersInOrder) {
  Model m;
  const Actor h0 = Actor::host(0);
  // Two forks; the first child releases its only lwp and is freed.
  ASSERT_EQ(m.apply(Op{h0, op::Rfork{kRumpRfcfdg}}, {}).outcome.ret, 0);
  const ProcId first = m.state().current_proc(0);
  ASSERT_EQ(m.apply(Op{h0, op::Release{}}, {}).outcome.ret, 0);
  ASSERT_TRUE(m.state().procs[first].freed);
  ASSERT_EQ(m.apply(Op{h0, op::Rfork{kRumpRfcfdg}}, {}).outcome.ret, 0);
  const ProcId second = m.state().current_proc(0);
  State s = m.state();
  const Renaming r = compact(s, {});
  EXPECT_EQ(r.procs[first], kDropped);
  EXPECT_EQ(r.procs[0], 0u);
  EXPECT_EQ(r.procs[1], 1u);
  EXPECT_EQ(r.procs[second], 2u);
  EXPECT_EQ(s.procs.size(), 3u);
  EXPECT_EQ(s.lwps[s.hosts[0].curlwp].proc, 2u);
  EXPECT_EQ(s.table.at(m.state().procs[second].pid), 2u);
  // Pinned, the freed process stays (a stale handle to it must still be recognised as stale).
  State t = m.state();
  const Renaming kept = compact(t, Pins{{first}, {}});
  EXPECT_NE(kept.procs[first], kDropped);
  EXPECT_TRUE(t.procs[kept.procs[first]].freed);
  // Nothing to drop: the state is left as it was.
  State u = s;
  EXPECT_FALSE(compact(u, {}).changed());
  EXPECT_EQ(u, s);
}

}  // namespace
}  // namespace lockstep::model::testing
