// Schedules to the first detection of each race fault, per strategy (the table of the PCT, SURW and
// RFF papers): for each fault with FaultInfo::race and each interleaving strategy, SEEDS campaigns
// (seeds 1..SEEDS) run programs until the first divergence or a cap of programs; a program is one
// schedule. Printed: the mean number of schedules to the first detection over the seeds that found it,
// how many seeds found it within the cap, and the PCT bound 1/(n k^(d-1)) for depth 2 and 3 beside
// it, where n is the number of threads a run registers (host threads + reaper + kthreads) and k the
// scheduling choices of a program (the `expected_choices` PCT spreads its change points over).
//
//   race_bench [SEEDS=20] [CAP=400] [STEPS=30] [FAULTS=all race faults] [STRATEGIES=random,pct:2,pct:3,pos,op]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "checker/campaign.hpp"
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
  const std::vector<std::string> strategies = argc > 5 ? split(argv[5]) : std::vector<std::string>{"random", "pct:2", "pct:3", "pos", "op"};

  CampaignConfig base;
  base.steps = steps;
  base.programs = cap;
  base.shrink = false;
  base.time_budget = std::chrono::seconds(60);
  const int n = base.lockstep.program.chooser.hosts + 1 + base.lockstep.program.chooser.max_kthreads;
  const double k = 8.0 * steps;
  std::printf("race_bench: %d seeds, at most %llu schedules each, %u steps per program; n = %d threads, k = %.0f choices\n", seeds,
              static_cast<unsigned long long>(cap), steps, n, k);
  std::printf("PCT bound per schedule: d=2 %.2e (1 in %.0f), d=3 %.2e (1 in %.0f)\n\n", 1.0 / (n * k), n * k, 1.0 / (n * k * k),
              n * k * k);
  std::printf("%-22s", "fault");
  for (const auto& s : strategies) std::printf(" %16s", s.c_str());
  std::printf("\n");
  for (const impl::FaultInfo& f : impl::all_faults()) {
    if (!f.race) continue;
    if (!only_faults.empty() && std::find(only_faults.begin(), only_faults.end(), std::string(f.name)) == only_faults.end()) continue;
    std::printf("%-22.*s", static_cast<int>(f.name.size()), f.name.data());
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
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  std::printf("\ncells: mean schedules to the first detection (seeds that found it within the cap / seeds)\n");
  return 0;
}
