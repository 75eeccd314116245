// Properties of the linearizability judge on histories made from real model runs
// (lin_histories.hpp): a sequential run re-cut into overlapping intervals is always accepted, with
// or without calls in flight at the end, observations, FATALs and the impl's blocking flags; one
// answer corrupted to a value no order produces is always rejected, at that operation or before;
// and the cache modes give the same verdicts.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "checker/lin_judge.hpp"
#include "lin_histories.hpp"

namespace lockstep::checker::lin {
namespace {

using testing::GenConfig;

rc::Gen<GenConfig> configs(std::size_t max_steps) {
  return rc::gen::build<GenConfig>(
      rc::gen::set(&GenConfig::seed, rc::gen::arbitrary<std::uint64_t>()),
      rc::gen::set(&GenConfig::steps, rc::gen::inRange<std::size_t>(1, max_steps)),
      rc::gen::set(&GenConfig::hosts, rc::gen::inRange(1, 9)),
      rc::gen::set(&GenConfig::misuse_percent, rc::gen::element<std::uint32_t>(0, 0, 2)),
      rc::gen::set(&GenConfig::stretch, rc::gen::inRange<std::size_t>(0, 10)),
      rc::gen::set(&GenConfig::observe_every, rc::gen::element<std::size_t>(0, 0, 7, 25)),
      rc::gen::set(&GenConfig::known_blocking, rc::gen::arbitrary<bool>()),
      rc::gen::set(&GenConfig::record_lids, rc::gen::arbitrary<bool>()));
}

std::string describe(const GenConfig& g) {
  return "seed=" + std::to_string(g.seed) + " steps=" + std::to_string(g.steps) + " hosts=" + std::to_string(g.hosts) +
         " misuse=" + std::to_string(g.misuse_percent) + " stretch=" + std::to_string(g.stretch) +
         " observe_every=" + std::to_string(g.observe_every) + " lids=" + std::to_string(g.record_lids) +
         " cut=" + (g.cut ? std::to_string(*g.cut) : "none");
}

RC_GTEST_PROP(LinProperties, RecutSequentialRunsAreAccepted, ()) {
  GenConfig g = *configs(300);
  if (*rc::gen::arbitrary<bool>()) g.cut = *rc::gen::inRange<std::size_t>(0, g.steps + 1);
  const testing::Generated gen = testing::generate(g);
  RC_LOG() << describe(g) << " ops=" << gen.history.ops.size() << "\n";
  const Judgement j = judge(gen.history);
  RC_LOG() << summary(gen.history, j) << "\n";
  RC_ASSERT(j.verdict == Verdict::Agree);
}

RC_GTEST_PROP(LinProperties, OneImpossibleAnswerIsRejected, ()) {
  // Proving a violation explores every order of the prefix before it: kept short here (lin_bench
  // measures longer ones).
  GenConfig g = *configs(120);
  testing::Generated gen = testing::generate(g);
  const auto at = testing::corrupt(gen.history, *rc::gen::inRange<std::size_t>(0, 1000));
  RC_PRE(at.has_value());
  // An answer given after a FATAL may have come from the dead instance, and is not judged (§2):
  // only corruptions that precede every FATAL must be rejected.
  for (const Operation& o : gen.history.ops)
    RC_PRE(o.outcome.kind != model::OutcomeKind::Fatal || !o.ret || precedes(gen.history.ops[*at], o));
  RC_LOG() << describe(g) << " corrupted op " << *at << "\n";
  // A bounded search: some histories (many commuting calls before the corruption) take tens of
  // seconds to prove, minutes under the sanitizers (a CI run timed out at 900 s). Out of budget the
  // judge says Unknown, which is no acceptance: the property is that an impossible answer is never
  // accepted, and proven wrong whenever the search completes.
  Options bounded;
  bounded.budget.max_steps = 1'000'000;
  const Judgement j = judge(gen.history, bounded);
  RC_LOG() << summary(gen.history, j) << "\n";
  RC_ASSERT(j.verdict != Verdict::Agree);
  RC_TAG(j.verdict == Verdict::Violation ? "proven" : "out of budget");
  if (j.verdict != Verdict::Violation) return;
  RC_ASSERT(j.culprit.has_value());
  // The culprit is the corrupted op, or one whose response is not later than its (an earlier
  // response that no order could pass once the corrupted one was forced before it).
  RC_ASSERT(j.culprit_is_observation || !gen.history.ops[*j.culprit].ret ||
            *gen.history.ops[*j.culprit].ret <= *gen.history.ops[*at].ret);
}

RC_GTEST_PROP(LinProperties, CacheModesAgree, ()) {
  GenConfig g = *configs(60);
  testing::Generated gen = testing::generate(g);
  if (*rc::gen::arbitrary<bool>()) testing::corrupt(gen.history, *rc::gen::inRange<std::size_t>(0, 1000));
  Options exact, fp, off;
  exact.cache = CacheMode::Exact;
  fp.cache = CacheMode::Fingerprint;
  off.cache = CacheMode::Off;
  off.budget.max_steps = 200000;
  const Judgement a = judge(gen.history, exact), b = judge(gen.history, fp), c = judge(gen.history, off);
  RC_LOG() << describe(g) << "\n" << summary(gen.history, a) << "\n" << summary(gen.history, b) << "\n";
  RC_ASSERT(a.verdict == b.verdict);
  RC_ASSERT(a.stats.states == b.stats.states);
  if (c.verdict != Verdict::Unknown) RC_ASSERT(c.verdict == a.verdict);
}

// States dropped from the search's path and rebuilt by replaying its steps are the states it had:
// keeping only the last level's state explores exactly the same nodes.
RC_GTEST_PROP(LinProperties, ReplayedStatesAreTheSame, ()) {
  GenConfig g = *configs(100);
  testing::Generated gen = testing::generate(g);
  if (*rc::gen::arbitrary<bool>()) testing::corrupt(gen.history, *rc::gen::inRange<std::size_t>(0, 1000));
  // A step budget, not a time one: a hard case (8 hosts, a corrupted answer far from its cause) may
  // run out, and must run out at the same step in both, whatever the machine's load.
  Options all, few;
  all.budget = few.budget = Budget{300'000, 1e9};
  few.recent_states = 1;
  const Judgement a = judge(gen.history, all), b = judge(gen.history, few);
  RC_LOG() << describe(g) << "\n" << summary(gen.history, a) << "\n";
  RC_ASSERT(a.verdict == b.verdict);
  RC_ASSERT(a.stats.states == b.stats.states);
  RC_ASSERT(a.stats.steps == b.stats.steps);
  RC_ASSERT(a.order.size() == b.order.size());
  RC_TAG(b.stats.replayed > 0 ? "replayed" : "no replay");
}

// With §6 checked on every step (and the console kept in the states) the verdicts are the same.
RC_GTEST_PROP(LinProperties, InvariantModeAgrees, ()) {
  GenConfig g = *configs(80);
  testing::Generated gen = testing::generate(g);
  if (*rc::gen::arbitrary<bool>()) testing::corrupt(gen.history, *rc::gen::inRange<std::size_t>(0, 1000));
  Options inv;
  inv.invariants = true;
  const Judgement a = judge(gen.history), b = judge(gen.history, inv);
  RC_LOG() << describe(g) << "\n" << summary(gen.history, a) << "\n" << summary(gen.history, b) << "\n";
  RC_ASSERT(a.verdict == b.verdict);
}

// The order an Agree carries is a linearisation: replaying it on the model gives the same outcomes,
// and each step lies after every response that precedes its operation's invocation.
RC_GTEST_PROP(LinProperties, TheOrderFoundRespectsRealTime, ()) {
  GenConfig g = *configs(150);
  const testing::Generated gen = testing::generate(g);
  const Judgement j = judge(gen.history);
  RC_ASSERT(j.verdict == Verdict::Agree);
  std::vector<bool> placed(gen.history.ops.size(), false);
  for (const Step& s : j.order) {
    if (s.observation) continue;
    for (std::size_t k = 0; k < gen.history.ops.size(); ++k)
      if (precedes(gen.history.ops[k], gen.history.ops[s.index]) && !j.ended_by_fatal) RC_ASSERT(placed[k]);
    placed[s.index] = true;
  }
}


// Committing at quiescent observations (Options::commit_at_quiescent_observations) only bounds the
// search: with and without it the verdict is the same, on histories that agree and on histories
// with one impossible answer (LIN.md, "Hints and commits").
RC_GTEST_PROP(LinProperties, CommitsDoNotChangeTheVerdict, ()) {
  GenConfig g = *configs(120);
  g.observe_every = *rc::gen::element<std::size_t>(5, 9, 17);
  testing::Generated gen = testing::generate(g);
  const bool corrupted = *rc::gen::arbitrary<bool>();
  if (corrupted) testing::corrupt(gen.history, *rc::gen::inRange<std::size_t>(0, 1000));
  Options with, without;
  without.commit_at_quiescent_observations = false;
  without.budget.max_steps = 2'000'000;
  const Judgement a = judge(gen.history, with), b = judge(gen.history, without);
  RC_LOG() << describe(g) << "\n" << summary(gen.history, a) << "\n" << summary(gen.history, b) << "\n";
  RC_CLASSIFY(a.stats.commits > 0, "committed");
  RC_CLASSIFY(corrupted, "corrupted");
  if (b.verdict != Verdict::Unknown) RC_ASSERT(a.verdict == b.verdict);
  RC_ASSERT(a.verdict != Verdict::Unknown || b.verdict == Verdict::Unknown);
}

// Compaction drops dead objects at commits and renames the survivors; the search reports its order
// in the uncompacted ids. So the verdict, the order (every op with its handles) and the culprit are
// the same with and without it.
RC_GTEST_PROP(LinProperties, CompactionChangesNothing, ()) {
  GenConfig g = *configs(200);
  g.observe_every = *rc::gen::element<std::size_t>(5, 9, 17);
  testing::Generated gen = testing::generate(g);
  const bool corrupted = *rc::gen::arbitrary<bool>();
  if (corrupted) testing::corrupt(gen.history, *rc::gen::inRange<std::size_t>(0, 1000));
  Options with, without;
  without.compact_at_commits = false;
  with.budget.max_steps = without.budget.max_steps = 2'000'000;
  const Judgement a = judge(gen.history, with), b = judge(gen.history, without);
  RC_LOG() << describe(g) << "\n" << summary(gen.history, a) << "\n" << summary(gen.history, b) << "\n";
  RC_CLASSIFY(a.stats.compacted > 0, "compacted");
  RC_CLASSIFY(corrupted, "corrupted");
  RC_ASSERT(a.verdict == b.verdict);
  RC_ASSERT(a.culprit == b.culprit);
  RC_ASSERT(a.order.size() == b.order.size());
  for (std::size_t i = 0; i < a.order.size(); ++i) {
    RC_ASSERT(a.order[i].observation == b.order[i].observation);
    RC_ASSERT(a.order[i].index == b.order[i].index);
    RC_ASSERT(a.order[i].applied == b.order[i].applied);
  }
}

}  // namespace
}  // namespace lockstep::checker::lin
