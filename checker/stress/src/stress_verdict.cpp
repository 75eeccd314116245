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
  // A violation found with commits is confirmed by the search that may reconsider everything: a
  // commit only bounds the search, so the two must agree, and only the exhaustive one is trusted.
  if (v.judgement.verdict == lin::Verdict::Violation && opt.commit_at_quiescent_observations) {
    opt.commit_at_quiescent_observations = false;
    lin::Judgement full = lin::judge(rec.history, opt);
    full.stats.seconds += v.judgement.stats.seconds;
    v.judgement = std::move(full);
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
      v.line = fmt::format("VIOLATION: {}", why);
      if (o.shrink) v.witness = shrink_witness(rec.history, v.judgement, lin::Budget{o.budget.max_steps, std::min(o.budget.max_seconds, 10.0)}, o.shrink_seconds);
      break;
  }
  return v;
}

}  // namespace lockstep::checker::stress
