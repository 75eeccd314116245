#include "checker/campaign.hpp"

#include <rapidcheck.h>

#include <fmt/format.h>

#include "checker/model_run.hpp"

namespace lockstep::checker {

namespace {

using Clock = std::chrono::steady_clock;

// A program: up to `size` steps, each kChoicesPerStep choices. RapidCheck shrinks it by
// dropping steps and moving choices toward 0 (the chooser's first option).
rc::Gen<Program> program_gen() {
  auto step = rc::gen::container<std::vector<std::uint32_t>>(kChoicesPerStep, rc::gen::inRange<std::uint32_t>(0, 1u << 16));
  return rc::gen::map(rc::gen::container<std::vector<std::vector<std::uint32_t>>>(std::move(step)),
                      [](std::vector<std::vector<std::uint32_t>> steps) { return Program{std::move(steps)}; });
}

bool same_failure(const LockstepResult& a, const LockstepResult& b) { return a.verdict == b.verdict; }

// The shrink tree we descend: RapidCheck's chunk removal over the steps, then, step by step,
// each non-zero choice set to 0 (the chooser's first option). Not RapidCheck's integral
// binary search toward 0: a choice is an index into options, and halving it buys nothing
// but candidates.
rc::Seq<Program> shrink_program(const Program& p) {
  auto zero_one_choice = [](const std::vector<std::uint32_t>& step) {
    std::vector<std::vector<std::uint32_t>> simpler;
    for (std::size_t i = 0; i < step.size(); ++i)
      if (step[i] != 0) {
        simpler.push_back(step);
        simpler.back()[i] = 0;
      }
    return rc::seq::fromContainer(std::move(simpler));
  };
  auto as_program = [](std::vector<std::vector<std::uint32_t>> steps) { return Program{std::move(steps)}; };
  return rc::seq::map(rc::seq::concat(rc::shrink::removeChunks(p.steps), rc::shrink::eachElement(p.steps, zero_one_choice)),
                      as_program);
}

// Greedy descent through RapidCheck's shrink tree: take the first smaller candidate that still
// fails the same way, until none does. Each candidate runs on a fresh kernel; an accepted one is
// run a second time, and a different outcome is reported as nondeterminism. `lc.deadline` ends
// it: a candidate cut short by it is not a failure, and no candidate starts after it.
void shrink(rc::Shrinkable<Program> failing, Counterexample& cex, const LockstepConfig& lc,
            const std::function<void(const CampaignProgress&)>& progress) {
  cex.shrunk = cex.original;
  cex.shrunk_result = cex.original_result;
  bool improved = true;
  while (improved && !cex.nondeterminism) {
    improved = false;
    auto candidates = failing.shrinks();
    while (auto cand = candidates.next()) {
      if (Clock::now() >= *lc.deadline) {
        cex.shrink_budget_exhausted = true;
        return;
      }
      Program p = cand->value();
      LockstepResult r = run_lockstep(p, lc);
      ++cex.shrink_runs;
      if (progress) progress(CampaignProgress{cex.shrink_runs, 0, true});
      if (r.cut_short) {
        cex.shrink_budget_exhausted = true;
        return;
      }
      if (r.verdict == Verdict::Agree || !same_failure(r, cex.original_result)) continue;
      LockstepResult again = run_lockstep(p, lc);
      if (!again.cut_short && again.summary() != r.summary())
        cex.nondeterminism = fmt::format("the same program gave \"{}\" and then \"{}\"", r.summary(), again.summary());
      failing = *cand;
      cex.shrunk = std::move(p);
      cex.shrunk_result = std::move(r);
      ++cex.shrinks_accepted;
      improved = true;
      break;
    }
  }
}

}  // namespace

// The bound on a campaign's wall-clock time: no program starts after the time budget, and one in
// flight then is cut one watchdog period later (time for it to show a DEADLOCK). Shrinking, with the
// re-run that checks the failure is deterministic, gets the shrink budget from the moment of the
// failure. So a campaign ends within time budget + watchdog + shrink budget, plus at most two
// teardowns' minimum grace (kMinTeardownGrace), whatever the impl does.
Schedule schedule_for(const CampaignConfig& c, std::uint64_t index, std::uint64_t seed) {
  Schedule s = c.lockstep.schedule;
  s.seed = seed;
  s.program_index = index;
  return s;
}

CampaignReport run_campaign(const CampaignConfig& c, const std::function<void(const CampaignProgress&)>& progress) {
  CampaignReport rep;
  const auto t0 = Clock::now();
  const auto gen = program_gen();
  LockstepConfig search = c.lockstep;
  search.deadline = t0 + c.time_budget + c.lockstep.watchdog;
  if (c.lockstep.deadline) search.deadline = std::min(*search.deadline, *c.lockstep.deadline);
  const std::uint64_t first = c.program.value_or(c.shard.index);
  const std::uint64_t end = c.program ? *c.program + 1 : c.programs;
  const std::uint64_t stride = c.program ? 1 : c.shard.total;
  for (std::uint64_t i = first; i < end; i += stride) {
    if (Clock::now() - t0 > c.time_budget) {
      rep.budget_exhausted = true;
      break;
    }
    const std::uint64_t seed = program_seed(c.seed, i);
    Program p = gen(rc::Random(seed), static_cast<int>(c.steps)).value();
    // The interleaving is the program's too: its seed and index pick the schedule, so
    // `--program I` (and shrinking, which keeps it) reproduce it.
    search.schedule = schedule_for(c, i, seed);
    const auto started = Clock::now();
    LockstepResult r = run_lockstep(p, search);
    if (r.cut_short) {  // the budget ran out inside this program: it has no verdict
      rep.budget_exhausted = true;
      break;
    }
    ++rep.programs;
    rep.records.push_back(ProgramRecord{i, seed, r.events.size(), r.verdict, r.summary(),
                                        std::chrono::duration<double>(Clock::now() - started).count()});
    rep.steps += r.events.size();
    rep.coverage.merge(r.coverage);
    if (progress) progress(CampaignProgress{rep.programs, rep.steps, false});
    if (r.verdict == Verdict::Agree) continue;
    Counterexample cex;
    cex.program_index = i;
    cex.program_seed = seed;
    cex.schedule = search.schedule;
    cex.seconds_to_first_failure = std::chrono::duration<double>(Clock::now() - t0).count();
    cex.original = std::move(p);
    cex.original_result = std::move(r);
    if (c.on_failure_found) c.on_failure_found(cex.original, cex.original_result);
    LockstepConfig shrinking = c.lockstep;
    shrinking.schedule = search.schedule;
    shrinking.deadline = Clock::now() + c.shrink_budget;
    if (c.lockstep.deadline) shrinking.deadline = std::min(*shrinking.deadline, *c.lockstep.deadline);
    LockstepResult again = run_lockstep(cex.original, shrinking);
    if (!again.cut_short && again.summary() != cex.original_result.summary())
      cex.nondeterminism = fmt::format("the same program gave \"{}\" and then \"{}\"", cex.original_result.summary(), again.summary());
    if (c.shrink && !cex.nondeterminism)
      shrink(rc::shrinkable::shrinkRecur(cex.original, &shrink_program), cex, shrinking, progress);
    else {
      cex.shrunk = cex.original;
      cex.shrunk_result = cex.original_result;
    }
    if (c.on_failure_shrunk) c.on_failure_shrunk(cex.shrunk, cex.shrunk_result);
    rep.failure = std::move(cex);
    break;
  }
  rep.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return rep;
}

CampaignReport replay_program(const Program& p, const CampaignConfig& c) {
  CampaignReport rep;
  const auto t0 = Clock::now();
  LockstepResult r = run_lockstep(p, c.lockstep);
  rep.programs = 1;
  rep.steps = r.events.size();
  rep.coverage.merge(r.coverage);
  if (r.verdict != Verdict::Agree) {
    Counterexample cex;
    cex.schedule = c.lockstep.schedule;
    cex.original = p;
    cex.original_result = r;
    cex.shrunk = p;
    cex.shrunk_result = std::move(r);
    LockstepResult again = run_lockstep(p, c.lockstep);
    if (again.summary() != cex.original_result.summary())
      cex.nondeterminism = fmt::format("the same program gave \"{}\" and then \"{}\"", cex.original_result.summary(), again.summary());
    rep.failure = std::move(cex);
  }
  rep.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return rep;
}

// " --strategy X" where it is not the default.
std::string strategy_option(const CampaignConfig& c) {
  const Strategy& s = c.lockstep.schedule.strategy;
  return s == Strategy{} ? std::string() : " --strategy " + to_string(s);
}

std::string program_command(std::uint64_t index, const CampaignConfig& c) {
  std::string faults;
  for (auto name : c.lockstep.faults.names()) faults += fmt::format("{}{}", faults.empty() ? "" : ",", name);
  return fmt::format("lockstep run --seed {} --program {} --steps {} --threads {} --kthreads {} --maxproc {} --pid-max {}{}", c.seed,
                     index, c.steps, c.lockstep.program.chooser.hosts, c.lockstep.program.chooser.max_kthreads,
                     c.lockstep.program.maxproc, c.lockstep.program.pid_max, faults.empty() ? "" : " --fault " + faults) +
         strategy_option(c);
}

std::string reproduce_command(const Program& p, const CampaignConfig& c, const std::optional<Schedule>& schedule) {
  std::string faults;
  for (auto name : c.lockstep.faults.names()) faults += fmt::format("{}{}", faults.empty() ? "" : ",", name);
  // An interleaving strategy replays from the strategy the program really ran (a portfolio's pick)
  // and its seed.
  std::string sched;
  if (const Schedule s = schedule.value_or(c.lockstep.schedule); effective(s) != Strategy{})
    sched = fmt::format(" --strategy {} --schedule-seed {}", to_string(effective(s)), s.seed);
  return fmt::format("lockstep run --threads {} --kthreads {} --maxproc {} --pid-max {}{}{} --replay '{}'",
                     c.lockstep.program.chooser.hosts, c.lockstep.program.chooser.max_kthreads, c.lockstep.program.maxproc,
                     c.lockstep.program.pid_max, faults.empty() ? "" : " --fault " + faults, sched, encode(p));
}

}  // namespace lockstep::checker
