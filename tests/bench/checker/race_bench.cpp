// Schedules to the first detection of each race fault, per strategy (the table of the PCT, SURW and
// RFF papers): for each fault with FaultInfo::race and each interleaving strategy, SEEDS campaigns
// (seeds 1..SEEDS) run programs until the first divergence or a cap of programs; a program is one
// schedule. Printed: the mean number of schedules to the first detection over the seeds that found it,
// and how many seeds found it within the cap. Each fault's depth is measured: 1 + the fewest
// preemptions of its shrunk counterexamples (portfolio runs of seeds 1-3, program and schedule
// shrunk: the fewest preemptions that show it, so an upper bound of the bug's depth d). Beside it, the PCT bound for that
// d, 1/(n k^(d-1)) per schedule, as schedules to expect (n k^(d-1)), with n the threads a round has
// (ops + the reaper + kthreads: 3 hosts + 1 + 2) and k the scheduling choices of a round (PCT runs per
// round: kChoicesPerRoundOp = 12 per op, 3 ops), and the ratio of that to the best strategy's mean.
//
// A second table takes the papers' own setting: one program that contains the bug (the one the
// fault's first depth run failed on), and the schedules to its first detection under each strategy
// (the schedule seed varied, the program fixed).
//
//   race_bench [SEEDS=20] [CAP=400] [STEPS=30] [FAULTS=all race faults] [STRATEGIES=random,pct:2,pct:3,pos,gap,op]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "checker/campaign.hpp"
#include "checker/lockstep.hpp"
#include "checker/model_run.hpp"
#include "impl/faults.hpp"

using namespace lockstep;
using namespace lockstep::checker;

int main(int argc, char** argv) {
  const int seeds = argc > 1 ? std::atoi(argv[1]) : 20;
  const std::uint64_t cap = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 400;
  const std::uint32_t steps = argc > 3 ? static_cast<std::uint32_t>(std::atoi(argv[3])) : 30;
  // Optional filters: FAULTS and STRATEGIES, comma-separated.
  auto split = [](const char* text) {
    std::vector<std::string> out;
    std::string cur;
    for (const char* c = text; *c; ++c) {
      if (*c == ',') out.push_back(cur), cur.clear();
      else cur += *c;
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
  };
  const std::vector<std::string> only_faults = argc > 4 ? split(argv[4]) : std::vector<std::string>{};
  const std::vector<std::string> strategies = argc > 5 ? split(argv[5]) : std::vector<std::string>{"random", "pct:2", "pct:3", "pos", "gap", "op"};

  CampaignConfig base;
  base.steps = steps;
  base.programs = cap;
  base.shrink = false;
  base.time_budget = std::chrono::seconds(60);
  const int n = base.lockstep.program.chooser.hosts + 1 + base.lockstep.program.chooser.max_kthreads;
  const double k = 12.0 * 3;
  std::printf("race_bench: %d seeds, at most %llu schedules each, %u steps per program; n = %d threads, k = %.0f choices per round\n",
              seeds, static_cast<unsigned long long>(cap), steps, n, k);
  struct PerProgram {
    std::string name;
    impl::Fault fault;
    int depth;
    double bound;
    Program program;
  };
  std::vector<PerProgram> per_program;
  std::printf("%-26s %5s %12s", "fault", "depth", "PCT bound");
  for (const auto& s : strategies) std::printf(" %16s", s.c_str());
  std::printf(" %12s\n", "bound/best");
  for (const impl::FaultInfo& f : impl::all_faults()) {
    if (!f.race) continue;
    if (!only_faults.empty() && std::find(only_faults.begin(), only_faults.end(), std::string(f.name)) == only_faults.end()) continue;
    // The depth: the fewest preemptions of the shrunk counterexamples of seeds 1-3, + 1.
    int depth = 0;
    std::optional<Program> failing;  // the first depth run's original program (second table)
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      CampaignConfig shrinking = base;
      shrinking.seed = seed;
      shrinking.programs = 20000;
      shrinking.steps = 100;
      shrinking.shrink = true;
      shrinking.shrink_budget = std::chrono::seconds(20);
      shrinking.lockstep.faults = impl::FaultSet{f.fault};
      shrinking.lockstep.schedule.strategy = *parse_strategy("portfolio");
      const CampaignReport deep = run_campaign(shrinking);
      if (!deep.failure) continue;
      if (!failing) failing = deep.failure->original;
      const int d = static_cast<int>(deep.failure->preemptions_after) + 1;
      depth = depth == 0 ? d : std::min(depth, d);
    }
    const double expect = depth > 0 ? n * std::pow(k, depth - 1) : 0;
    std::printf("%-26.*s %5s %12s", static_cast<int>(f.name.size()), f.name.data(), depth ? std::to_string(depth).c_str() : "?",
                depth ? (std::to_string(static_cast<long long>(expect))).c_str() : "-");
    double best = 0;
    for (const auto& s : strategies) {
      double sum = 0;
      int found = 0;
      for (int seed = 1; seed <= seeds; ++seed) {
        CampaignConfig c = base;
        c.seed = static_cast<std::uint64_t>(seed);
        c.lockstep.faults = impl::FaultSet{f.fault};
        c.lockstep.schedule.strategy = *parse_strategy(s);
        const CampaignReport r = run_campaign(c);
        if (r.failure) {
          ++found;
          sum += static_cast<double>(r.programs);
        }
      }
      char cell[64];
      if (found == 0) std::snprintf(cell, sizeof cell, "- (0/%d)", seeds);
      else std::snprintf(cell, sizeof cell, "%.1f (%d/%d)", sum / found, found, seeds);
      std::printf(" %16s", cell);
      if (found == seeds && (best == 0 || sum / found < best)) best = sum / found;
    }
    if (best > 0 && depth > 0) std::printf(" %11.0fx\n", expect / best);
    else std::printf(" %12s\n", "-");
    std::fflush(stdout);
    if (failing) per_program.push_back(PerProgram{std::string(f.name), f.fault, depth, expect, *failing});
  }

  // The papers' setting: one test (a program that contains the bug), many schedules. For each fault,
  // the program its first depth run failed on, run under each strategy with schedule seeds
  // (s, 0), (s, 1), ... until it diverges or CAP schedules; a schedule here is the whole interleaving
  // of that program (which of its steps overlap, and how their threads interleave).
  std::printf("\nschedules of one failing program (the program fixed, the schedule seed varied):\n");
  std::printf("%-26s %5s %6s %12s", "fault", "depth", "steps", "PCT bound");
  for (const auto& st : strategies) std::printf(" %16s", st.c_str());
  std::printf(" %12s\n", "bound/best");
  for (const PerProgram& pp : per_program) {
    std::printf("%-26s %5d %6zu %12.0f", pp.name.c_str(), pp.depth, pp.program.steps.size(), pp.bound);
    double best = 0;
    for (const auto& st : strategies) {
      double sum = 0;
      int found = 0;
      for (int seed = 1; seed <= seeds; ++seed) {
        for (std::uint64_t j = 0; j < cap; ++j) {
          LockstepConfig lc = base.lockstep;
          lc.faults = impl::FaultSet{pp.fault};
          lc.schedule.strategy = *parse_strategy(st);
          lc.schedule.seed = program_seed(static_cast<std::uint64_t>(seed) * 0x9e3779b97f4a7c15ULL, j);
          lc.schedule.program_index = j;
          if (run_lockstep(pp.program, lc).verdict == Verdict::Agree) continue;
          ++found;
          sum += static_cast<double>(j + 1);
          break;
        }
      }
      char cell[64];
      if (found == 0) std::snprintf(cell, sizeof cell, "- (0/%d)", seeds);
      else std::snprintf(cell, sizeof cell, "%.1f (%d/%d)", sum / found, found, seeds);
      std::printf(" %16s", cell);
      if (found == seeds && (best == 0 || sum / found < best)) best = sum / found;
    }
    if (best > 0 && pp.depth > 0) std::printf(" %11.0fx\n", pp.bound / best);
    else std::printf(" %12s\n", "-");
    std::fflush(stdout);
  }
  std::printf("\ncells: mean schedules to the first detection (seeds that found it within the cap / seeds); depth: 1 + the\n"
              "preemptions of the shrunk counterexample; PCT bound: n k^(d-1) schedules to expect; bound/best: that over the\n"
              "best strategy that found it for every seed\n");
  return 0;
}
