// The verdict on a stress recording: the history judged by checker/lin, and on a violation a
// witness, the smallest sub-history the shrinker found that no order explains for the same reason.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "checker/lin_judge.hpp"
#include "checker/stress.hpp"

namespace lockstep::checker::stress {

struct VerdictOptions {
  lin::Budget budget{200'000'000, 60.0};
  bool shrink = true;
  double shrink_seconds = 30;
  bool commit = true;  // lin::Options::commit_at_quiescent_observations
};

enum class StressVerdictKind { Agree, Violation, Deadlock, Unknown };
std::string_view to_string(StressVerdictKind k);
int exit_code(StressVerdictKind k);  // 0 agree, 1 violation or deadlock, 3 unknown

struct Witness {
  lin::History history;             // a sub-history of the recording's
  std::vector<std::size_t> ops;     // per op of `history`: its index in the recording's history
  lin::Judgement judgement;         // a violation
  // Operations of `history` (indices) before the judge's last commit, whose intervals were narrowed
  // to the order it committed to (witness_narrow.hpp); every other one keeps its recorded interval.
  std::vector<std::size_t> narrowed;
  std::size_t candidates = 0;       // sub-histories judged while shrinking
  double seconds = 0;
};

struct StressVerdict {
  StressVerdictKind kind = StressVerdictKind::Unknown;
  lin::Judgement judgement;         // of the whole history (not run when the impl hung)
  std::optional<Witness> witness;   // a violation, shrunk
  std::string line;                 // one line: the verdict and why
};

StressVerdict judge_stress(const StressRecording& rec, const VerdictOptions& o);

// Shrinks a violating history (the search's culprit and rule must stay the same): first narrows what
// the judge committed to to the order it kept (when that fails the same way), then drops what comes
// after the culprit, then whole threads, then operations in halving chunks, judging each candidate
// within `budget`; an operation goes together with everything that names an object it created.
// `with_commits`: the judgement of `h` with commits when `j` is the exhaustive search's (its
// committed prefix is what the narrowing reads); `j` itself when null.
Witness shrink_witness(const lin::History& h, const lin::Judgement& j, const lin::Budget& budget, double seconds,
                       const lin::Judgement* with_commits = nullptr);

}  // namespace lockstep::checker::stress
