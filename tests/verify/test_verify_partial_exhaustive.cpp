// Completeness and soundness of the partial-order judge, by brute force: on small histories the
// set of invariants it reports violated "in some order" must be exactly the union of what the
// sequential judge reports over every linearisation of the happens-before graph, each written out
// as its own trace by reorder_trace. A rule the partial-order judge misses is a missed race; a rule
// it reports that no linearisation breaks is a false alarm.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "checker/happens_before.hpp"
#include "checker/trace.hpp"
#include "checker/trace_reorder.hpp"
#include "checker/verify_partial.hpp"
#include "model_traces.hpp"
#include "breadth.hpp"

using namespace lockstep;
using namespace lockstep::checker;
using namespace lockstep::test_traces;
using model::Rule;

namespace {

// Every linearisation of `hb`, in lexicographic order, until `limit` of them (then returns false).
bool linearisations(const HappensBefore& hb, std::size_t limit, std::vector<std::vector<std::size_t>>& out) {
  const std::size_t n = hb.size();
  std::vector<std::size_t> order;
  std::vector<bool> placed(n, false);
  std::function<bool()> go = [&]() -> bool {
    if (order.size() == n) {
      out.push_back(order);
      return out.size() <= limit;
    }
    for (std::size_t e = 0; e < n; ++e) {
      if (placed[e]) continue;
      bool ready = true;
      for (std::size_t d = 0; d < n && ready; ++d) ready = placed[d] || !hb.before(d, e);
      if (!ready) continue;
      placed[e] = true;
      order.push_back(e);
      const bool more = go();
      order.pop_back();
      placed[e] = false;
      if (!more) return false;
    }
    return true;
  };
  return go();
}

std::set<Rule> violated(const PartialOrderReport& r) {
  std::set<Rule> out;
  for (const auto& v : r.verdicts)
    if (!v.holds) out.insert(v.rule);
  return out;
}

// A release that frees a user process holding pid v (in the file's order), left unordered with an
// event the file lists after it that creates a process with ppid v: in the orders where the
// creation comes first, the release orphans that child (ppid 1), a ppid the file's order never
// gives it. (That needs v reused after the release in the file: the creator runs a process
// given pid v again.)
bool has_orphan_race(const Trace& tr, const std::vector<std::optional<model::Pid>>& frees, const std::vector<std::optional<model::Pid>>& child_of) {
  const HappensBefore hb(to_vtrace(tr.header, tr.events));
  for (std::size_t r = 0; r < frees.size(); ++r)
    for (std::size_t c = r + 1; frees[r] && c < child_of.size(); ++c)
      if (child_of[c] == frees[r] && hb.concurrent(r, c)) return true;
  return false;
}

// A model trace by three hosts and up to two kthreads: a prefix whose explicit `after` edges (as a
// stress recorder's real-time order would give) order it totally, which builds up processes, lwps,
// kthreads and waits to race over, then a few events the graph leaves (mostly) unordered.
// `orphan_race` (if given) says whether a release in it may orphan a child the file creates later
// (has_orphan_race).
Trace small_history(std::uint64_t seed, bool* orphan_race = nullptr) {
  SplitMix rng(seed * 7919 + 17);
  // One history in three has PID_MAX 4 (pids 2 and 3 only), so that a fork in the racing tail
  // reuses a pid a racing release frees: R5 in the orders where the fork comes first.
  const model::Pid pid_max = seed % 3 == 0 ? 4 : 6;
  // One history in four starts its racing tail with a release that frees a process (pid v),
  // racing with another host's fork given pid v again and a fork from that process (ppid v):
  // the release orphans that child in the orders where both forks come first. The last event of
  // the prefix forks the process the release frees.
  const bool orphan_motif = seed % 4 == 2;
  model::Model m(model::Config{6, true, pid_max});
  ChooserConfig cc{kHosts, 2, 0};
  Trace tr;
  tr.header.config.hosts = kHosts;
  tr.header.partial_order = true;
  const std::size_t racing = 3 + rng.below(3), n = racing + 2 + rng.below(8);
  std::vector<std::pair<model::Op, model::Choice>> script;  // the motif's next events, last first
  model::HostId releaser = 0;
  std::vector<std::optional<model::Pid>> frees, child_of;  // per event: the pid a release frees, the ppid of a process it creates
  for (std::size_t i = 0; i < n; ++i) {
    model::Op op;
    model::Choice choice{};
    if (orphan_motif && i + racing + 1 == n) {
      releaser = static_cast<model::HostId>(rng.below(kHosts));
      while (m.state().wait_of(releaser) != nullptr && releaser + 1 < kHosts) ++releaser;  // a host that can act
      op = model::Op{model::Actor::host(releaser), model::op::Rfork{0}};
    } else if (orphan_motif && i + racing == n) {
      const model::ProcId p = m.state().current_proc(releaser);
      model::Model probe = m;
      probe.apply(model::Op{model::Actor::host(releaser), model::op::Release{}});
      if (p < probe.state().procs.size() && probe.state().procs[p].kind == model::ProcKind::User && probe.state().procs[p].freed) {
        const model::Pid v = m.state().procs[p].pid;
        auto other = static_cast<model::HostId>((releaser + 1 + rng.below(kHosts - 1)) % kHosts);
        if (m.state().wait_of(other) != nullptr) other = static_cast<model::HostId>(3 - releaser - other);  // the third host
        script = {{model::Op{model::Actor::host(other), model::op::Rfork{0}}, model::Choice{}},
                  {model::Op{model::Actor::host(other), model::op::Rfork{0}}, model::Choice{v}},
                  {model::Op{model::Actor::host(releaser), model::op::Release{}}, model::Choice{}}};
      }
    }
    if (!script.empty()) {
      std::tie(op, choice) = script.back();
      script.pop_back();
    } else if (!(orphan_motif && i + racing + 1 == n)) {
      // The racing events are drawn among ops that change something (a success or a block): an
      // error return races with nothing.
      op = choose_op(m.state(), cc, rng);
      for (int tries = 0; i + racing >= n && tries < 20; ++tries) {
        model::Model probe = m;
        const model::Outcome o = probe.apply(op).outcome;
        if (o.blocked() || (o.kind == model::OutcomeKind::Returned && o.ret == 0 && !std::holds_alternative<model::op::Work>(op.body))) break;
        op = choose_op(m.state(), cc, rng);
      }
    }
    const model::State before = m.state();
    TraceEvent e = model_step(m, op, choice, 0);
    const model::State& after = m.state();
    frees.emplace_back();
    child_of.emplace_back();
    if (std::holds_alternative<model::op::Release>(op.body) && op.actor.kind == model::Actor::Kind::Host) {
      const model::ProcId p = before.current_proc(op.actor.index);
      if (before.procs[p].kind == model::ProcKind::User && !before.procs[p].freed && after.procs[p].freed) frees.back() = before.procs[p].pid;
    }
    if (after.procs.size() > before.procs.size()) child_of.back() = after.procs.back().ppid;
    e.step = i;
    e.digest.reset();
    if (i > 0 && i + racing < n) e.after.push_back(i - 1);
    else if (i > 1 && rng.below(6) == 0) e.after.push_back(rng.below(static_cast<std::uint32_t>(i)));
    const bool fatal = e.outcome.kind == model::OutcomeKind::Fatal;
    // One history in four ends with an observed state an impl bug could leave (test_traces::
    // corrupt_state): a barrier, judged after every order, whose writes the order-dependent
    // instances (R6's parents, the waiters) must take in.
    if (i + 1 == n && !fatal && rng.below(4) == 0) {
      model::State bad = m.state();
      if (corrupt_state(bad, rng)) e.observed_state = observe(bad, kHosts);
    }
    tr.events.push_back(std::move(e));
    if (fatal) break;
  }
  if (orphan_race) *orphan_race = has_orphan_race(tr, frees, child_of);
  return tr;
}

// Judges `tr` in every linearisation and by the partial-order judge. Returns false (leaving
// `expected` empty) when it has more than `limit` linearisations; `mismatch` says what differs.
struct Brute {
  std::size_t orders = 0, windows = 1, states = 1;
  std::set<Rule> expected, got;
  std::string mismatch;
};
bool brute_force(const Trace& tr, std::size_t limit, Brute& b, const PartialOrderOptions& o = {}) {
  const VTrace vt = to_vtrace(tr.header, tr.events);
  const HappensBefore hb(vt);
  std::vector<std::vector<std::size_t>> all;
  if (!linearisations(hb, limit, all)) return false;
  b.orders = all.size();
  std::map<Rule, std::size_t> first_order;
  for (std::size_t k = 0; k < all.size(); ++k) {
    const Trace w = reorder_trace(tr, all[k]);
    const VerifyReport seq = verify(to_vtrace(w.header, w.events), VerifyOptions{.explain = false});
    for (const auto& v : seq.verdicts)
      if (!v.holds && b.expected.insert(v.rule).second) first_order[v.rule] = k;
  }
  const PartialOrderReport po = verify_partial_order(vt, o);
  b.windows = po.windows;
  b.states = po.max_cut_states;
  b.got = violated(po);
  if (b.got == b.expected) return true;
  for (Rule r : b.expected)
    if (!b.got.contains(r)) {
      std::string order;
      for (std::size_t i : all[first_order[r]]) order += fmt::format("{} ", tr.events[i].step);
      b.mismatch += fmt::format("missed {}: the linearisation {}breaks it\n", model::rule_name(r), order);
    }
  for (Rule r : b.got)
    if (!b.expected.contains(r)) b.mismatch += fmt::format("false alarm {}: {}\n", model::rule_name(r), po.of(r).what);
  b.mismatch += render(po);
  return true;
}

// A history of the model's own steps, with the given explicit `after` edges (by step) and, where
// given, the pid a fork is to get (any free one, SPEC P1).
struct Step {
  model::Op op;
  std::vector<std::size_t> after;
  std::optional<model::Pid> pid = std::nullopt;
};
Trace scripted(const std::vector<Step>& steps, model::Pid pid_max = 12) {
  model::Model m(model::Config{12, true, pid_max});
  Trace tr;
  tr.header.config.hosts = kHosts;
  tr.header.partial_order = true;
  for (const auto& [op, after, pid] : steps) {
    TraceEvent e = model_step(m, op, model::Choice{pid}, 0);
    e.step = tr.events.size();
    e.digest.reset();
    e.after = after;
    tr.events.push_back(std::move(e));
  }
  return tr;
}

}  // namespace

TEST(VerifyPartialOrderExhaustive, ReportsExactlyWhatSomeLinearisationBreaks) {
  constexpr std::size_t kLimit = 150;  // linearisations per history; larger histories are skipped
  std::size_t histories = 0, orders = 0, racy = 0, skipped = 0, orphaning = 0, orphaning_unscripted = 0;
  std::map<Rule, std::size_t> reached;
  for (std::uint64_t seed = 1; seed <= 1000 && histories < lockstep::test::breadth(400); seed += lockstep::test::kSeedStride) {
    bool orphan_race = false;
    const Trace tr = small_history(seed, &orphan_race);
    Brute b;
    if (!brute_force(tr, kLimit, b)) {
      ++skipped;
      continue;
    }
    ++histories;
    orders += b.orders;
    if (!b.expected.empty()) ++racy;
    if (orphan_race) {
      ++orphaning;
      if (seed % 4 != 2) ++orphaning_unscripted;
    }
    for (Rule r : b.expected) ++reached[r];
    if (!b.mismatch.empty()) ADD_FAILURE() << "seed " << seed << " (" << tr.events.size() << " events, " << b.orders << " linearisations)\n" << b.mismatch;
  }
  std::string by_rule;
  for (const auto& [r, k] : reached) by_rule += fmt::format("{} {}  ", model::rule_name(r), k);
  std::printf("histories: %zu (%zu skipped as too concurrent), linearisations judged: %zu, histories with a violating order: %zu; by rule: %s\n",
              histories, skipped, orders, racy, by_rule.c_str());
  std::printf("histories where a release may orphan a child the file creates later: %zu (%zu of them outside the orphan motif's seeds)\n", orphaning,
              orphaning_unscripted);
  RecordProperty("violations_by_rule", by_rule);
  RecordProperty("orphan_races", static_cast<int>(orphaning));
  EXPECT_GE(histories, lockstep::test::reached(350, 117));
  EXPECT_GE(racy, lockstep::test::reached(60, 50)) << "the generator rarely reaches a racy history";
  EXPECT_GE(reached.size(), 6u) << "too few invariants reached: " << by_rule;
  EXPECT_GT(reached[Rule::R5], 0u) << "no history reuses a pid in some order: " << by_rule;
  EXPECT_GE(orphaning, lockstep::test::reached(40, 25)) << "the generator rarely lets a release orphan a child the file creates later";
}

// Window by window (checker/verify/VERIFY.md, "Windows"), with every quiescent point a cut: the same
// histories (whose totally ordered prefix is a cut at every event, carrying processes, lwps, waits
// and ppids into the racing tail's window), and histories in bursts (each event after every event
// of the burst before), whose windows end in several states where their orders differ.
TEST(VerifyPartialOrderExhaustive, WindowByWindowReportsExactlyWhatSomeLinearisationBreaks) {
  constexpr std::size_t kLimit = 200;
  std::size_t histories = 0, windowed = 0, several = 0, racy = 0;
  for (std::uint64_t seed = 1; seed <= 1000 && histories < lockstep::test::breadth(300); seed += lockstep::test::kSeedStride) {
    Trace tr;
    if (seed % 4 == 1) {
      tr = small_history(seed);
    } else {
      SplitMix rng(seed * 7 + 5);
      model::Model m(model::Config{6, true, seed % 3 == 0 ? 4 : 6});
      ChooserConfig cc{kHosts, 2, 0};
      tr.header.config.hosts = kHosts;
      tr.header.partial_order = true;
      std::size_t prev_begin = 0, begin = 0, end = 0;
      for (std::size_t i = 0, n = 8 + rng.below(4); i < n; ++i) {
        if (i == end) {
          prev_begin = begin;
          begin = i;
          end = i + 2 + rng.below(2);
        }
        // Ops that change something (a success or a block), as in small_history's racing tail:
        // an error return races with nothing.
        model::Op op = choose_op(m.state(), cc, rng);
        for (int tries = 0; tries < 20; ++tries) {
          model::Model probe = m;
          const model::Outcome o = probe.apply(op).outcome;
          if (o.blocked() || (o.kind == model::OutcomeKind::Returned && o.ret == 0 && !std::holds_alternative<model::op::Work>(op.body))) break;
          op = choose_op(m.state(), cc, rng);
        }
        if (!append_burst_event(tr, m, op, i, prev_begin, begin)) break;
      }
    }
    Brute b;
    if (!brute_force(tr, kLimit, b, PartialOrderOptions{.min_window = 1})) continue;
    ++histories;
    windowed += b.windows > 1 ? 1 : 0;
    several += b.states > 1 ? 1 : 0;
    racy += b.expected.empty() ? 0 : 1;
    if (!b.mismatch.empty()) ADD_FAILURE() << "seed " << seed << " (" << tr.events.size() << " events, " << b.orders << " linearisations, " << b.windows << " windows)\n" << b.mismatch;
  }
  std::printf("histories: %zu, judged in several windows: %zu, with several states across a cut: %zu, with a violating order: %zu\n", histories,
              windowed, several, racy);
  EXPECT_GE(histories, lockstep::test::reached(250, 90));
  EXPECT_GE(windowed, lockstep::test::reached(200, 80));
  EXPECT_GE(several, lockstep::test::reached(3, 2)) << "no random window ends in several states";
  EXPECT_GE(racy, lockstep::test::reached(25, 9));
  // Windows that surely end in several states: a release racing a newlwp of its process (in one
  // order the process is freed, in the other not), then, after a cut, what each state makes of the
  // next events: the second lwp's release (frees it, or frees it again), a fork that reuses the pid
  // (R5 where it may come before that release), a newlwp of it. And a kthread racing its suspend
  // and resume (which end in one state: the effects follow the recorded outcomes).
  using model::Actor;
  namespace op = model::op;
  const std::vector<Step> race = {{{Actor::host(0), op::Rfork{0}}, {}, 2},
                                  {{Actor::host(1), op::Newlwp{2}}, {0}},
                                  {{Actor::host(0), op::Release{}}, {0}}};
  std::vector<std::vector<Step>> motifs;
  motifs.push_back(race);
  motifs.back().push_back({{Actor::host(1), op::Release{}}, {1, 2}});
  motifs.back().push_back({{Actor::host(2), op::Rfork{0}}, {1, 2}, 2});
  motifs.back().push_back({{Actor::host(2), op::Release{}}, {3, 4}});
  motifs.push_back(race);
  motifs.back().push_back({{Actor::host(2), op::Newlwp{2}}, {1, 2}});
  motifs.back().push_back({{Actor::host(1), op::Release{}}, {1, 2}});
  motifs.back().push_back({{Actor::host(0), op::Rfork{0}}, {3, 4}});
  motifs.push_back({{{Actor::host(0), op::KthreadCreate{0, "k"}}, {}},
                    {{Actor::host(1), op::Suspend{2, 0}}, {0}},
                    {{Actor::kthread(2), op::SuspendCheck{2}}, {0}},
                    {{Actor::host(2), op::Resume{2}}, {1, 2}},
                    {{Actor::kthread(2), op::Work{}}, {1, 2}},
                    {{Actor::kthread(2), op::SuspendCheck{2}}, {3, 4}}});
  for (std::size_t i = 0; i < motifs.size(); ++i) {
    Brute b;
    ASSERT_TRUE(brute_force(scripted(motifs[i], 3), kLimit, b, PartialOrderOptions{.min_window = 1}));
    EXPECT_TRUE(b.mismatch.empty()) << "motif " << i << "\n" << b.mismatch;
    EXPECT_GT(b.windows, 2u) << "motif " << i;
    if (i < 2) {
      EXPECT_GT(b.states, 1u) << "motif " << i;
    }
  }
}

// Races whose instance exists only in another order than the file's: a tick that the file lists
// before a timed wait, but that may come after it (the wait then outlives its deadline); and a
// release that frees a process in some order only, after which its pid is reused.
TEST(VerifyPartialOrderExhaustive, RacesTheFileOrderHides) {
  using model::Actor;
  namespace op = model::op;
  const model::Op create{Actor::host(0), op::KthreadCreate{0, "k"}};
  std::vector<std::pair<std::string, Trace>> cases = {
      {"tick before a timed suspend", scripted({{create, {}},
                                                {{Actor::clock(), op::Tick{10}}, {}},
                                                {{Actor::host(1), op::Suspend{2, 5}}, {}},
                                                {{Actor::kthread(2), op::SuspendCheck{2}}, {}}})},
      {"tick before a timed wait for exit", scripted({{create, {}},
                                                      {{Actor::clock(), op::Tick{10}}, {}},
                                                      {{Actor::host(1), op::WaitExit{2, 5}}, {}},
                                                      {{Actor::kthread(2), op::KthreadExit{0}}, {}}})},
      {"release racing a newlwp, then a fork", scripted({{{Actor::host(0), op::Rfork{0}}, {}},
                                                            {{Actor::host(0), op::Rfork{0}}, {}},
                                                            {{Actor::host(2), op::Newlwp{2}}, {}},
                                                            {{Actor::host(1), op::Switch{1}}, {1}},
                                                            {{Actor::host(1), op::Release{}}, {}},
                                                            {{Actor::host(1), op::Rfork{0}}, {}}})},
      // PID_MAX 3: H1's second fork reuses pid 2, which H0's release freed, but nothing orders the
      // two: in the orders where the fork comes first, two processes hold pid 2.
      {"pid reused by a fork racing the release that freed it", scripted({{{Actor::host(0), op::Rfork{0}}, {}},
                                                                         {{Actor::host(0), op::Release{}}, {}},
                                                                         {{Actor::host(1), op::Rfork{0}}, {}},
                                                                         {{Actor::host(1), op::Rfork{0}}, {}}},
                                                                        3)},
  };
  // H1's first fork is given pid 2 again after H0's release freed it (in the file's order), and its
  // second fork makes a child with ppid 2. Nothing orders H1's forks with the release: in the
  // orders where both come first, pid 2 names two processes (R5) and the release orphans that
  // child (its ppid becomes 1, which names init: no R6).
  cases.emplace_back("a release orphans a child the file creates later", scripted({{{Actor::host(0), op::Rfork{0}}, {}},
                                                                                   {{Actor::host(0), op::Release{}}, {}},
                                                                                   {{Actor::host(1), op::Rfork{0}}, {}, 2},
                                                                                   {{Actor::host(1), op::Rfork{0}}, {}}}));
  // The newlwp's success recorded after the release that freed its process (a use after free in
  // the file's order; in the orders where it comes first, the release frees nothing, and neither
  // R3 nor R6 may be reported from the file order's "it was freed").
  Trace late = reorder_trace(scripted({{{Actor::host(0), op::Rfork{0}}, {}},
                                       {{Actor::host(0), op::Rfork{0}}, {}},
                                       {{Actor::host(1), op::Switch{1}}, {1}},
                                       {{Actor::host(2), op::Newlwp{2}}, {}},
                                       {{Actor::host(1), op::Release{}}, {}}}),
                             {0, 1, 2, 4, 3});
  late.header.partial_order = true;
  cases.emplace_back("newlwp recorded after the release that freed its process", std::move(late));
  for (const auto& [name, tr] : cases) {
    Brute b;
    ASSERT_TRUE(brute_force(tr, 1000, b)) << name;
    EXPECT_FALSE(b.expected.empty()) << name << ": no order breaks anything; the case tests nothing";
    EXPECT_EQ(b.mismatch, "") << name;
    std::string rules;
    for (Rule r : b.expected) rules += std::string(model::rule_name(r)) + " ";
    std::printf("%s: %zu linearisations, broken in some: %s\n", name.c_str(), b.orders, rules.c_str());
  }
}
