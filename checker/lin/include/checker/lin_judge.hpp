// The linearizability judge (SPEC §8): is there an order of atomic model steps, each inside its
// operation's interval, that explains every answer, wake-up and observation of a history?
// Wing & Gong's search with Lowe's just-in-time linearisation and a cache of (set of linearised
// operations, model state) as in Porcupine and Lincheck, states compared up to renaming of serial
// ids; the design, the cache key and how each §8 rule maps to code are in checker/lin/LIN.md.
//
// Verdicts: Agree carries the order found; Violation the longest linearizable prefix found and the
// first operation that no order could explain; Unknown means a budget ran out, and is never Agree.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checker/lin_history.hpp"
#include "model/model.hpp"
#include "model/rules.hpp"

namespace lockstep::checker::lin {

struct Budget {
  std::uint64_t max_steps = 20'000'000;  // model steps tried (each candidate placement is one)
  double max_seconds = 60.0;             // wall time
};

// What the cache keeps of each node it has seen. Exact: the placed sets and the states themselves
// (relabelled by creator, model::relabel), compared with ==. Fingerprint: a 128-bit hash of them
// (memory per entry is constant; two unequal keys collide with probability 2^-128 per pair, and a
// collision could only hide an order, i.e. turn Agree into Violation, never the reverse). Auto: Exact up to kExactCacheOps operations (a
// round of the lockstep runner; exact entries cost a relabelled copy of the state each).
// Off: no memoisation (every order is tried; for measuring what the cache saves).
enum class CacheMode : std::uint8_t { Auto, Exact, Fingerprint, Off };
inline constexpr std::size_t kExactCacheOps = 64;

struct Options {
  Budget budget;
  CacheMode cache = CacheMode::Auto;
  bool invariants = false;  // also check SPEC §6 on every model step (keeps the console in the states)
  // States kept on the search's path: those of the last `recent_states` levels (plus up to 64
  // checkpoints further down); a backtrack below them replays steps from the nearest kept state.
  // Memory against backtracking cost; the verdict and the search do not depend on it.
  std::size_t recent_states = 64;
  // At an observation where only untimed waits are in flight, keep the order that explained it: never
  // backtrack below it (and forget the cache and the states before it). Sound because every order that
  // explains the history up to there reaches the same state up to what no later step reads (LIN.md,
  // "Committing at quiescent observations"); it bounds the search's memory and its backtracking to the
  // stretch between two such observations, as a stress run's periodic barriers make them.
  bool commit_at_quiescent_observations = true;
  // At each commit, drop from the committed state the dead objects no remaining operation names
  // (model/compact.hpp; LIN.md, "Compaction"): a step's cost then follows what is alive rather than
  // everything the history ever created. The reported order names objects as the uncompacted model
  // does, so the verdict and the order are the same with or without it.
  bool compact_at_commits = true;
  // Agree: apply the order found to `before` again, for each Step::result and Judgement::after. A
  // caller that takes the steps itself turns it off: its steps then carry no result, and `after` is
  // empty. A violation's prefix is always replayed.
  bool replay_agreement = true;
};

enum class Verdict : std::uint8_t { Agree, Violation, Unknown };
std::string_view to_string(Verdict v);

// One atomic model step of an order: an operation's request (or its whole call), or an observation.
struct Step {
  bool observation = false;
  std::size_t index = 0;      // into History::ops, or History::observations when `observation`
  model::Op applied;          // the op as the model took it (model ids in place of history symbols)
  model::Choice choice;       // the pid the step bound, if it created a process
  model::StepResult result;   // the model's outcome and the wake-ups it caused (empty for an observation)
};

struct Stats {
  std::uint64_t steps = 0;       // model steps tried while searching
  std::uint64_t states = 0;      // distinct (linearised set, state) nodes entered: the cache's size
  std::uint64_t pruned = 0;      // placements whose node the cache had seen already
  std::uint64_t backtracks = 0;
  std::uint64_t replayed = 0;    // model steps re-applied to rebuild a state dropped from the stack
  std::size_t max_depth = 0;
  std::size_t cache_bytes = 0;   // estimate of what the cache holds
  double seconds = 0;
  bool exact_cache = false;
  std::uint64_t commits = 0;     // observations the search committed to
  std::uint64_t compactions = 0; // commits that dropped dead objects (Options::compact_at_commits)
  std::uint64_t compacted = 0;   // objects they dropped
};

struct Judgement {
  Verdict verdict = Verdict::Unknown;
  // Agree: the order found, ending with the FATAL step when `ended_by_fatal`. Operations still in
  // flight at the end appear iff the order lets them take effect.
  // Violation (and Unknown): the longest linearizable prefix found (most responses explained).
  std::vector<Step> order;
  // Violation (and Unknown): how many leading steps of `order` the search committed to (they end with
  // the last observation it committed at, Options::commit_at_quiescent_observations): every order
  // that explains the history up to that observation reaches the same state, so the failure after it
  // does not depend on how they were ordered. 0: no commit, or the prefix reported is not that one.
  std::size_t committed = 0;
  std::optional<model::Model> after;  // Agree: the model after the order (console included)
  bool ended_by_fatal = false;
  // Violation: the first operation no order explains (the first response the longest prefix could
  // not get past), and why, in the round judge's terms. Unknown: the same for the furthest point the
  // search reached before its budget ran out (no verdict on it).
  std::optional<std::size_t> culprit;
  bool culprit_is_observation = false;
  model::Rule rule = model::Rule::P0;
  std::string what, expected, observed;
  // Unknown: which budget ran out.
  std::string budget_exhausted;
  Stats stats;
};

// Throws std::invalid_argument when validate(h) finds the history malformed.
Judgement judge(const History& h, const Options& options = {});

// One line: the verdict, and for a violation its culprit and reason.
std::string summary(const History& h, const Judgement& j);

}  // namespace lockstep::checker::lin
