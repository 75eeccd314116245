#include "checker/stress_verdict.hpp"

#include <fmt/format.h>

namespace lockstep::checker::stress {

std::string_view to_string(StressVerdictKind k) {
  switch (k) {
    case StressVerdictKind::Agree: return "AGREE";
    case StressVerdictKind::Violation: return "VIOLATION";
    case StressVerdictKind::Deadlock: return "DEADLOCK";
    case StressVerdictKind::Unknown: return "UNKNOWN";
  }
  return "?";
}

int exit_code(StressVerdictKind k) {
  switch (k) {
    case StressVerdictKind::Agree: return 0;
    case StressVerdictKind::Violation:
    case StressVerdictKind::Deadlock: return 1;
    case StressVerdictKind::Unknown: return 3;
  }
  return 3;
}

StressVerdict judge_stress(const StressRecording& rec, const VerdictOptions& o) {
  StressVerdict v;
  if (!rec.stuck.empty()) {
    std::string who;
    for (const std::string& s : rec.stuck) who += (who.empty() ? "" : ", ") + s;
    v.kind = StressVerdictKind::Deadlock;
    v.line = fmt::format("DEADLOCK: {} neither returned nor waited in a kernel wait at the end of the run", who);
    return v;
  }
  lin::Options opt;
  opt.budget = o.budget;
  opt.commit_at_quiescent_observations = o.commit;
  v.judgement = lin::judge(rec.history, opt);
  // A violation found with commits is confirmed by the search that may reconsider everything, within
  // what is left of the same budget: a commit only bounds the search (LIN.md), so the two must agree.
  // On a long history the exhaustive search rarely finishes; the violation then stands as found with
  // commits, and the line says it was not confirmed.
  bool unconfirmed = false;
  std::optional<lin::Judgement> with_commits;  // what the witness's narrowing reads (witness_narrow.hpp)
  if (v.judgement.verdict == lin::Verdict::Violation && opt.commit_at_quiescent_observations) {
    with_commits = v.judgement;
    opt.commit_at_quiescent_observations = false;
    opt.budget.max_seconds = o.budget.max_seconds - v.judgement.stats.seconds;
    lin::Judgement full = opt.budget.max_seconds > 0 ? lin::judge(rec.history, opt) : lin::Judgement{};
    if (full.verdict == lin::Verdict::Unknown) {
      unconfirmed = true;
    } else {
      full.stats.seconds += v.judgement.stats.seconds;
      v.judgement = std::move(full);
    }
  }
  const std::string why = lin::summary(rec.history, v.judgement);
  switch (v.judgement.verdict) {
    case lin::Verdict::Agree:
      v.kind = StressVerdictKind::Agree;
      v.line = "AGREE: the history is linearizable (SPEC §8)";
      break;
    case lin::Verdict::Unknown:
      v.kind = StressVerdictKind::Unknown;
      v.line = fmt::format("UNKNOWN: the judge's budget ran out ({}); never read as agree. {}", v.judgement.budget_exhausted, why);
      break;
    case lin::Verdict::Violation:
      v.kind = StressVerdictKind::Violation;
      v.line = fmt::format("VIOLATION: {}{}", why,
                           unconfirmed ? " (found with commits at quiescent observations; the exhaustive search that confirms it "
                                         "ran out of the budget)"
                                       : "");
      if (o.shrink)
        v.witness = shrink_witness(rec.history, v.judgement, lin::Budget{o.budget.max_steps, std::min(o.budget.max_seconds, 10.0)}, o.shrink_seconds,
                                   with_commits ? &*with_commits : nullptr);
      break;
  }
  return v;
}

}  // namespace lockstep::checker::stress
