// A campaign on a plug-in SUT (see sut_campaign.hpp).
#include "checker/sut_campaign.hpp"

#include <fmt/format.h>

#include "checker/model_run.hpp"

namespace lockstep::checker::sut {

namespace {

using Clock = std::chrono::steady_clock;

bool same_failure(const SutRunResult& a, const SutRunResult& b) { return a.verdict == b.verdict && a.rule == b.rule; }

// Greedy shrinking: drop chunks of steps (halves down to single steps), then lower each step's
// choices to 0 one at a time; every candidate runs on a fresh child.
void shrink(const SutCampaignConfig& c, SutFailure& f, const std::function<void(const SutProgress&)>& progress) {
  const auto until = Clock::now() + c.shrink_budget;
  auto out_of_time = [&] {
    if (!f.shrink_error.empty()) return true;
    if (Clock::now() < until) return false;
    f.shrink_budget_exhausted = true;
    return true;
  };
  auto attempt = [&](const Program& p) {
    ++f.shrink_runs;
    if (progress) progress(SutProgress{f.shrink_runs, 0, true});
    SutRunResult r = run_sut_program(p, c.run);
    if (r.verdict == SutVerdict::Error) {
      // No child can be started any more: what was shrunk so far stands, and the time is not spent.
      f.shrink_error = r.failure;
      return false;
    }
    if (r.agreed() || !same_failure(r, f.original_result)) return false;
    f.shrunk = p;
    f.shrunk_result = std::move(r);
    ++f.shrinks_accepted;
    return true;
  };
  // Only the steps that ran matter.
  if (f.shrunk_result.program_steps < f.shrunk.steps.size()) {
    Program p = f.shrunk;
    p.steps.resize(f.shrunk_result.program_steps);
    attempt(p);
  }
  for (std::size_t chunk = std::max<std::size_t>(1, f.shrunk.steps.size() / 2); chunk >= 1 && !out_of_time(); chunk /= 2) {
    for (std::size_t i = 0; i + chunk <= f.shrunk.steps.size() && !out_of_time();) {
      Program p = f.shrunk;
      p.steps.erase(p.steps.begin() + static_cast<std::ptrdiff_t>(i), p.steps.begin() + static_cast<std::ptrdiff_t>(i + chunk));
      if (!attempt(p)) i += chunk;
    }
    if (chunk == 1) break;
  }
  for (std::size_t i = 0; i < f.shrunk.steps.size() && !out_of_time(); ++i)
    for (std::size_t k = 0; k < f.shrunk.steps[i].size() && !out_of_time(); ++k) {
      if (f.shrunk.steps[i][k] == 0) continue;
      Program p = f.shrunk;
      p.steps[i][k] = 0;
      attempt(p);
    }
}

}  // namespace

SutCampaignReport run_sut_campaign(const SutCampaignConfig& c, const std::function<void(const SutProgress&)>& progress) {
  SutCampaignReport rep;
  const auto t0 = Clock::now();
  SutChild child;               // kept between programs when the SUT can be reset
  std::uint64_t child_programs = 0;
  for (std::uint64_t i = 0; i < (c.replay ? 1 : c.programs); ++i) {
    if (!c.replay && i > 0 && Clock::now() - t0 >= c.time_budget) {
      rep.budget_exhausted = true;
      break;
    }
    Program p;
    if (c.replay) {
      p = *c.replay;
    } else {
      SplitMix src(program_seed(c.seed, i));
      p = random_program(src, c.steps, kChoicesPerStep);
    }
    SutRunResult r = run_sut_program(p, c.run, &child);
    if (r.reused_process) ++rep.reused;
    if (!r.agreed() && r.verdict != SutVerdict::Error && r.reused_process) {
      // A failure after a reset: the program again, in a fresh child. If it agrees there, the reset
      // left state behind (the SUT's bug, shown by this program after the earlier ones).
      SutRunResult fresh = run_sut_program(p, c.run);
      if (fresh.verdict == SutVerdict::Error) {
        r = std::move(fresh);
      } else if (fresh.agreed()) {
        r.failure = fmt::format("after lockstep_sut_reset this program failed, in a fresh process it agrees: the reset leaves state "
                                "behind ({} programs ran in that process before it). What it did after the reset: {}",
                                child_programs, r.failure);
        r.rule = model::Rule::P0;
      } else {
        r = std::move(fresh);
      }
    }
    if (r.verdict == SutVerdict::Error) {
      rep.error = fmt::format("program {} could not be run: {}", i, r.failure);
      break;
    }
    child_programs = r.reused_process ? child_programs + 1 : 1;
    ++rep.programs;
    rep.steps += r.program_steps;
    rep.calls += r.calls;
    rep.spawn_seconds += r.spawn_seconds;
    rep.states_compared += r.states_compared;
    rep.armed_compared += r.armed_compared;
    rep.kthread_pids_asked += r.kthread_pids_asked;
    rep.pid_probes += r.pid_probes;
    rep.coverage.merge(r.coverage);
    if (progress) progress(SutProgress{rep.programs, rep.steps, false});
    if (!r.agreed()) {
      SutFailure f;
      f.program_index = i;
      f.original = p;
      f.original_result = r;
      f.shrunk = p;
      f.shrunk_result = std::move(r);
      if (c.on_failure_found) c.on_failure_found(f.original, f.original_result);
      if (c.shrink && !c.replay) shrink(c, f, progress);
      if (c.on_failure_shrunk) c.on_failure_shrunk(f.shrunk, f.shrunk_result);
      rep.failure = std::move(f);
      break;
    }
  }
  rep.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return rep;
}

std::string sut_listing(const SutRunResult& r) {
  std::string s;
  std::size_t n = 0;
  for (const SutStepRecord& e : r.listing) {
    ++n;
    s += fmt::format("{:>4}{} {:<52} model: {}", n, e.probe ? "·" : " ", e.op, e.model);
    if (!e.sut.empty()) s += fmt::format("   SUT: {}", e.sut);
    s += "\n";
  }
  return s;
}

}  // namespace lockstep::checker::sut
