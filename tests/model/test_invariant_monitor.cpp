// The incremental invariant checks (InvariantMonitor) against the full ones (check_step +
// check_state): the model's recorded footprint names every change a step makes (so checking what
// it names is enough), and on random corruptions of any object, at any step, the incremental checks
// report exactly the rules the full checks report.
#include <set>

#include <fmt/format.h>

#include "helpers.hpp"
#include "model/invariant_monitor.hpp"
#include "programs.hpp"

namespace lockstep::model::testing {
namespace {

std::set<Rule> rules(const std::vector<Violation>& vs) {
  std::set<Rule> out;
  for (const Violation& v : vs) out.insert(v.rule);
  return out;
}

// The violations as their report lines: the incremental checks must say the same words.
std::set<std::string> lines(const std::vector<Violation>& vs) {
  std::set<std::string> out;
  for (const Violation& v : vs) out.insert(to_string(v));
  return out;
}

std::string names(const std::set<Rule>& rs) {
  std::string s;
  for (Rule r : rs) s += std::string(rule_name(r)) + " ";
  return s.empty() ? "none" : s;
}

template <class Id, class T>
bool names_all(const std::vector<std::pair<Id, T>>& recorded, const std::vector<std::pair<Id, T>>& changed, std::string& why, const char* what) {
  for (const auto& [id, was] : changed) {
    auto it = std::find_if(recorded.begin(), recorded.end(), [&](const auto& e) { return e.first == id; });
    if (it == recorded.end()) {
      why = fmt::format("{} #{} changed but the footprint does not name it", what, id);
      return false;
    }
    if (!(it->second == was)) {
      why = fmt::format("{} #{}: the footprint's before-image is not its value before the step", what, id);
      return false;
    }
  }
  return true;
}

// Whether `recorded` names everything diff() finds between the states.
bool complete(const Footprint& recorded, const Footprint& d, std::string& why) {
  if (d.whole) {
    if (!recorded.whole) why = "the state was replaced but the footprint is not whole";
    return recorded.whole;
  }
  if (!names_all(recorded.procs, d.procs, why, "proc") || !names_all(recorded.lwps, d.lwps, why, "lwp") ||
      !names_all(recorded.fdtables, d.fdtables, why, "fd table") || !names_all(recorded.hosts, d.hosts, why, "host"))
    return false;
  for (const auto& [pid, was] : d.table) {
    auto it = std::find_if(recorded.table.begin(), recorded.table.end(), [&](const auto& e) { return e.first == pid; });
    if (it == recorded.table.end() || it->second != was) {
      why = fmt::format("table entry of pid {} changed but the footprint does not say what it was", pid);
      return false;
    }
  }
  if (d.waits && (!recorded.waits || *recorded.waits != *d.waits)) why = "the waits changed but the footprint holds no image of them";
  if (d.files && !recorded.files) why = "the files changed but the footprint does not say so";
  return why.empty();
}

constexpr std::size_t kPrograms = 400;
constexpr std::size_t kSteps = 120;

TEST(Footprint, TheModelNamesEveryChangeItMakes) {
  checker::SplitMix src(7);
  std::size_t steps = 0, writes = 0;
  for (std::size_t i = 0; i < kPrograms; ++i) {
    const bool chaos = i % 3 == 0;
    const checker::ProgramConfig pc = i % 7 == 0 ? arbitrary_config() : program_config(chaos);
    const checker::Program prog = random_choices(src, kSteps);
    Model m(Config{.maxproc = static_cast<int>(3 + i % 10), .initialized = i % 11 != 0});
    for (const auto& step : prog.steps) {
      const checker::ChosenStep st = checker::resolve_step(m.state(), pc, step);
      const State before = m.state();
      Footprint fp;
      m.apply(st.op, st.choice, &fp);
      std::string why;
      ASSERT_TRUE(complete(fp, diff(before, m.state()), why)) << "program " << i << ", " << to_string(st.op) << ": " << why;
      ++steps;
      writes += fp.procs.size() + fp.lwps.size() + fp.fdtables.size() + fp.hosts.size() + fp.table.size();
    }
  }
  // The programs must write existing objects, or the test shows nothing.
  EXPECT_GT(writes, steps / 2) << writes << " writes in " << steps << " steps";
}

// One random corruption of `s`: any object kind, any field an invariant reads.
bool corrupt(State& s, checker::SplitMix& rng, std::string& what) {
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng.below(static_cast<std::uint32_t>(n))); };
  // The kthread fields are corrupted on kthreads, parked or exited ones first (S1, S3, S5 read them).
  std::vector<ProcId> kthreads, stopped;
  for (ProcId id = 0; id < s.procs.size(); ++id) {
    if (s.procs[id].kind != ProcKind::Kthread) continue;
    kthreads.push_back(id);
    if (s.procs[id].kt.state != KState::Running) stopped.push_back(id);
  }
  auto kthread = [&]() -> Process& {
    const std::vector<ProcId>& from = !stopped.empty() && rng.below(2) == 0 ? stopped : kthreads;
    return s.procs[from[pick(from.size())]];
  };
  switch (rng.below(16)) {
    case 0: {
      Process& p = s.procs[pick(s.procs.size())];
      p.freed = !p.freed;
      what = "a process's freed flag";
      return true;
    }
    case 1: {
      Process& p = s.procs[pick(s.procs.size())];
      p.ppid = static_cast<Pid>(rng.below(12));
      what = "a process's ppid";
      return true;
    }
    case 2: {
      Process& p = s.procs[pick(s.procs.size())];
      p.fdtable = static_cast<FdTableId>(pick(s.fdtables.size()));
      what = "a process's fd table";
      return true;
    }
    case 3: {
      if (kthreads.empty()) return false;
      Process& p = kthread();
      p.kt.state = static_cast<KState>(rng.below(4));
      what = "a kthread's state";
      return true;
    }
    case 4: {
      if (kthreads.empty()) return false;
      Process& p = kthread();
      p.kt.suspend_requested = !p.kt.suspend_requested;
      what = "a suspend request";
      return true;
    }
    case 5: {
      Lwp& l = s.lwps[pick(s.lwps.size())];
      l.released = !l.released;
      what = "an lwp's released flag";
      return true;
    }
    case 6: {
      Lwp& l = s.lwps[pick(s.lwps.size())];
      l.bound = static_cast<std::int32_t>(rng.below(5)) - 2;
      what = "an lwp's binding";
      return true;
    }
    case 7: {
      if (s.hosts.empty()) return false;
      s.hosts[pick(s.hosts.size())].curlwp = rng.below(3) == 0 ? kNoLwp : static_cast<LwpId>(pick(s.lwps.size()));
      what = "a host's curlwp";
      return true;
    }
    case 8: {
      FdTable& t = s.fdtables[pick(s.fdtables.size())];
      t.refs += rng.below(2) == 0 ? 1 : -1;
      what = "an fd table's refcount";
      return true;
    }
    case 9: {
      FdTable& t = s.fdtables[pick(s.fdtables.size())];
      t.freed = !t.freed;
      what = "an fd table's freed flag";
      return true;
    }
    case 10: {
      auto it = s.table.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(pick(s.table.size())));
      s.table.erase(it);
      what = "a table entry removed";
      return true;
    }
    case 11: {
      auto it = s.table.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(pick(s.table.size())));
      it->second = static_cast<ProcId>(pick(s.procs.size()));
      what = "a table entry re-pointed";
      return true;
    }
    case 12:
      s.nprocs += rng.below(2) == 0 ? 1 : -1;
      what = "nprocs";
      return true;
    case 13: {
      if (s.waits.empty()) return false;
      Wait& w = s.waits[pick(s.waits.size())];
      if (rng.below(2) == 0) w.deadline = s.now;
      else w.target = static_cast<ProcId>(pick(s.procs.size()));
      what = "a wait";
      return true;
    }
    case 14:
      s.console.emplace_back(rng.below(2) == 0 ? "stopped" : "Waiting (max 60 seconds) for system process `x' to stop...");
      what = "a console line";
      return true;
    default: {
      if (kthreads.empty()) return false;
      Process& p = kthread();
      ++p.kt.progress;
      what = "a kthread's progress";
      return true;
    }
  }
}

TEST(InvariantMonitor, ReportsWhatTheFullChecksReportOnRandomCorruptions) {
  checker::SplitMix src(11);
  std::size_t corrupted = 0, caught = 0, clean_steps = 0;
  std::set<Rule> seen;
  for (std::size_t i = 0; i < 4 * kPrograms; ++i) {
    const checker::ProgramConfig pc = program_config(i % 3 == 0);
    const checker::Program prog = random_choices(src, kSteps);
    Model m(Config{.maxproc = static_cast<int>(3 + i % 10), .initialized = true});
    InvariantMonitor mon(InvariantMonitor::Options{0});  // no sampled full check: the incremental ones alone
    ASSERT_TRUE(mon.full(m.state()).empty());
    const std::size_t corrupt_at = src.below(kSteps);
    for (std::size_t k = 0; k < prog.steps.size(); ++k) {
      const checker::ChosenStep st = checker::resolve_step(m.state(), pc, prog.steps[k]);
      const State before = m.state();
      Footprint fp;
      const StepResult res = m.apply(st.op, st.choice, &fp);
      if (k != corrupt_at) {
        const auto inc = mon.step(st.op, res, fp, m.state());
        ASSERT_TRUE(inc.empty()) << "program " << i << " step " << k << ": " << describe(inc);
        ++clean_steps;
        continue;
      }
      // The step went wrong: its after-state is corrupted; the footprint is what changed (diff).
      State after = m.state();
      std::string what;
      if (!corrupt(after, src, what)) break;
      const Footprint d = diff(before, after);
      auto full = check_step(before, st.op, res, after);
      for (Violation& v : check_state(after)) full.push_back(std::move(v));
      const auto inc = mon.step(st.op, res, d, after);
      ++corrupted;
      caught += full.empty() ? 0 : 1;
      for (Rule r : rules(full)) seen.insert(r);
      ASSERT_EQ(lines(inc), lines(full)) << "program " << i << " step " << k << " (" << to_string(st.op) << "), corrupted " << what
                                         << ": the full checks say " << names(rules(full)) << "\n"
                                         << describe(full) << "the incremental ones say " << names(rules(inc)) << "\n"
                                         << describe(inc);
      break;
    }
  }
  EXPECT_GT(clean_steps, kPrograms * kSteps);
  // Most corruptions must break something, and every state rule must have been broken at least once.
  EXPECT_GT(caught, corrupted / 2) << caught << " of " << corrupted;
  for (Rule r : {Rule::R1, Rule::R2, Rule::R3, Rule::R4, Rule::R5, Rule::R6, Rule::S1, Rule::S2, Rule::S3, Rule::S5, Rule::S6})
    EXPECT_TRUE(seen.contains(r)) << rule_name(r) << " never broken: seen " << names(seen);
}

// A change the footprint misses is found by the sampled full check within `full_every` steps.
TEST(InvariantMonitor, TheSampledFullCheckFindsAChangeTheFootprintMissed) {
  Model m;
  InvariantMonitor mon(InvariantMonitor::Options{4});
  ASSERT_TRUE(mon.full(m.state()).empty());
  Footprint fp;
  StepResult res = m.apply(host(0, op::Rfork{kRumpRfcfdg}), {}, &fp);
  ASSERT_TRUE(mon.step(host(0, op::Rfork{kRumpRfcfdg}), res, fp, m.state()).empty());
  State s = m.state();
  s.nprocs += 1;  // behind the footprint's back
  const Op nop = host(0, op::Getpid{});
  int found_at = 0;
  for (int k = 1; k <= 4 && found_at == 0; ++k) {
    Footprint none = Footprint::of(s);
    none.nprocs = s.nprocs;
    StepResult r;
    r.outcome.kind = OutcomeKind::Returned;
    r.outcome.rule = Rule::P6;
    if (has_rule(mon.step(nop, r, none, s), Rule::R6)) found_at = k;
  }
  // R6's count is read on every step, so it is found at once; a per-object one waits for the sample.
  EXPECT_EQ(found_at, 1);
  State t = m.state();
  t.procs[1].freed = true;  // R1 of process 1, which no step names
  int sampled_at = 0;
  for (int k = 1; k <= 4 && sampled_at == 0; ++k) {
    Footprint none = Footprint::of(t);
    StepResult r;
    r.outcome.kind = OutcomeKind::Returned;
    r.outcome.rule = Rule::P6;
    if (has_rule(mon.step(nop, r, none, t), Rule::R1)) sampled_at = k;
  }
  EXPECT_GE(sampled_at, 1);
  EXPECT_LE(sampled_at, 4);
  EXPECT_GE(mon.stats().full_checks, 2u);
}

}  // namespace
}  // namespace lockstep::model::testing
