// The mutant campaign: a conformance run against each injected fault of the impl,
// and against the correct impl as control. For each fault it reports whether the
// run killed it (found a divergence), how fast, how short the shrunk counterexample
// is, which SPEC rule it names, and (optionally) the length of the shortest program
// that exposes it, from a breadth-first search of the model's state graph.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checker/campaign.hpp"
#include "checker/state_graph.hpp"
#include "impl/faults.hpp"

namespace lockstep::checker {

struct MutantRow {
  std::string fault;
  std::string breaks;              // the SPEC rule(s) the fault's comment names
  bool killed = false;
  double seconds_to_kill = 0;
  std::size_t original_steps = 0;
  std::size_t shrunk_steps = 0;
  std::string reported_rule;       // the rule the shrunk divergence names
  std::string verdict;             // its one-line summary
  std::optional<std::size_t> shortest;  // BFS: length of the shortest exposing program
  std::size_t shortest_tried = 0;       // candidates run for it
  bool nondeterministic = false;
  std::uint64_t programs = 0;      // programs its campaign ran
  double seconds = 0;              // its campaign's whole time, shrinking and --shortest included
};

struct MutantReport {
  std::vector<MutantRow> rows;
  std::uint64_t control_programs = 0;
  std::uint64_t control_steps = 0;
  std::optional<std::string> false_alarm;  // the correct impl's divergence, if any
  bool control_ran = false;                // this shard ran the control (control programs > 0)
  double control_seconds = 0;
  std::size_t survived() const;
};

struct MutantConfig {
  CampaignConfig campaign;          // per fault; its time budget bounds each fault's run
  std::uint64_t control_programs = 2000;
  bool shortest = false;            // also search the shortest exposing program
  ExploreBounds bounds{};
  double shortest_seconds = 30;     // per fault
  std::vector<impl::FaultInfo> faults;  // the faults to run; empty: every project fault (impl::project_faults)
  // campaign.shard splits the faults by stride (fault i of the list runs in shard i mod N) and the
  // control programs by stride like `lockstep run`.
};

MutantReport run_mutants(const MutantConfig& c, const std::function<void(const std::string&)>& status = {});

// Length of the shortest candidate program (BFS order) on which the fault diverges; nullopt
// when none within the candidates or the time cap.
std::optional<std::size_t> shortest_exposure(const std::vector<std::vector<model::Op>>& candidates, const LockstepConfig& c,
                                             double seconds, std::size_t* tried);

std::string mutant_table(const MutantReport& r, const MutantConfig& c);

}  // namespace lockstep::checker
