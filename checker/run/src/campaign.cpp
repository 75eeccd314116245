#include "checker/campaign.hpp"

#include <algorithm>

#include <rapidcheck.h>

#include <fmt/format.h>

#include "checker/model_run.hpp"
#include "explore.hpp"

namespace lockstep::checker {

namespace {

using Clock = std::chrono::steady_clock;

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
  auto as_program = [](std::vector<std::vector<std::uint32_t>> steps) { return Program{std::move(steps), {}}; };
  return rc::seq::map(rc::seq::concat(rc::shrink::removeChunks(p.steps), rc::shrink::eachElement(p.steps, zero_one_choice)),
                      as_program);
}

// A program: up to `size` steps (how many: uniform in [0, size]), each kChoicesPerStep choices in
// [0, 2^16), from RapidCheck's random source (four choices per number drawn), shrinking as the
// campaign shrinks a failing program (shrink_program: dropping steps, setting choices to 0). Not
// gen::container of gen::inRange: that builds a shrinkable for every choice, which nothing descends
// (the campaign shrinks by shrink_program), and was about 8% of a run's time.
rc::Gen<Program> program_gen() {
  return rc::Gen<Program>([](const rc::Random& random, int size) {
    rc::Random r = random;
    const auto n = static_cast<std::size_t>(r.next() % (static_cast<std::uint64_t>(std::max(size, 0)) + 1));
    Program p;
    p.steps.assign(n, std::vector<std::uint32_t>(kChoicesPerStep));
    std::uint64_t bits = 0;
    int left = 0;
    for (std::vector<std::uint32_t>& step : p.steps)
      for (std::uint32_t& choice : step) {
        if (left == 0) bits = r.next(), left = 4;
        choice = static_cast<std::uint32_t>(bits & 0xffff);
        bits >>= 16;
        --left;
      }
    return rc::shrinkable::shrinkRecur(std::move(p), &shrink_program);
  });
}

// One shrink candidate run: false when the budget is gone (then no candidate may follow), else
// `fails` says whether it fails as the counterexample does (`r` is its run).
bool try_candidate(const Program& p, Counterexample& cex, const LockstepConfig& lc,
                   const std::function<void(const CampaignProgress&)>& progress, LockstepResult& r, bool& fails) {
  if (Clock::now() >= *lc.deadline) {
    cex.shrink_budget_exhausted = true;
    return false;
  }
  r = run_lockstep(p, lc);
  ++cex.shrink_runs;
  if (progress) progress(CampaignProgress{cex.shrink_runs, 0, true});
  if (r.cut_short) {
    cex.shrink_budget_exhausted = true;
    return false;
  }
  fails = r.verdict != Verdict::Agree && same_failure(r, cex.original_result);
  return true;
}

// Greedy descent through RapidCheck's shrink tree: take the first smaller candidate that still
// fails the same way, until none does. Each candidate runs on a fresh kernel; an accepted one is
// run a second time, and a different outcome is reported as nondeterminism. `lc.deadline` ends
// it: a candidate cut short by it is not a failure, and no candidate starts after it.
void shrink(rc::Shrinkable<Program> failing, LockstepResult result, Counterexample& cex, const LockstepConfig& lc,
            const std::function<void(const CampaignProgress&)>& progress) {
  cex.shrunk = failing.value();
  cex.shrunk_result = std::move(result);
  bool improved = true;
  while (improved && !cex.nondeterminism) {
    improved = false;
    auto candidates = failing.shrinks();
    while (auto cand = candidates.next()) {
      Program p = cand->value();
      LockstepResult r;
      bool fails = false;
      if (!try_candidate(p, cex, lc, progress, r, fails)) return;
      if (!fails) continue;
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

// ---- shrinking a program with its rounds (Program::plan) -----------------------------------------
// An interleaved counterexample's rounds depend on steps far from them (forming a round looks ahead
// and counts earlier rounds' shapes), so dropping a step from the choice program re-forms every round
// after it, and the failing round is rarely formed again. Once the failure is found, the program as
// its rounds ran (LockstepResult::formed) is shrunk instead: whole rounds dropped (chunks first, as
// RapidCheck's removeChunks), a round split into single steps, single steps dropped from a round,
// then choices set to 0; every other round keeps its steps, focus and seeds. Each accepted candidate's own formed program (the steps
// that really ran, up to the failure) is the next starting point.
struct FormedRound {
  PlannedRound plan;
  std::vector<std::vector<std::uint32_t>> steps;
};

std::vector<FormedRound> rounds_of(const Program& p) {
  std::vector<FormedRound> out;
  std::size_t at = 0;
  for (const PlannedRound& r : p.plan) {
    FormedRound f{r, {}};
    for (std::uint32_t k = 0; k < r.size && at < p.steps.size(); ++k) f.steps.push_back(p.steps[at++]);
    out.push_back(std::move(f));
  }
  return out;
}

Program program_of(const std::vector<FormedRound>& rounds) {
  Program p;
  for (const FormedRound& f : rounds) {
    if (f.steps.empty()) continue;
    PlannedRound r = f.plan;
    r.size = static_cast<std::uint32_t>(f.steps.size());
    p.plan.push_back(r);
    p.steps.insert(p.steps.end(), f.steps.begin(), f.steps.end());
  }
  return p;
}

// Candidates one step simpler than `p`, the coarsest first.
std::vector<Program> simpler_planned(const Program& p) {
  std::vector<Program> out;
  const std::vector<FormedRound> rounds = rounds_of(p);
  auto chunks = rc::shrink::removeChunks(rounds);
  while (auto c = chunks.next()) out.push_back(program_of(*c));
  // A round run as single steps, one after the other: a failure that needs no overlap (most
  // sequential bugs) then sheds the round's other steps one by one without changing any round.
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    if (rounds[r].steps.size() < 2) continue;
    std::vector<FormedRound> cand(rounds.begin(), rounds.begin() + static_cast<std::ptrdiff_t>(r));
    for (const auto& step : rounds[r].steps) cand.push_back(FormedRound{PlannedRound{1, 0, rounds[r].plan.rng, rounds[r].plan.key}, {step}});
    cand.insert(cand.end(), rounds.begin() + static_cast<std::ptrdiff_t>(r + 1), rounds.end());
    out.push_back(program_of(cand));
  }
  for (std::size_t r = 0; r < rounds.size(); ++r)
    for (std::size_t k = 0; rounds[r].steps.size() > 1 && k < rounds[r].steps.size(); ++k) {
      std::vector<FormedRound> cand = rounds;
      FormedRound& f = cand[r];
      f.steps.erase(f.steps.begin() + static_cast<std::ptrdiff_t>(k));
      // Step k's focus bit goes, the later steps' bits move down with them; a round's first step
      // leans on nothing.
      std::uint32_t focused = 0;
      for (std::size_t i = 0, j = 0; i < rounds[r].steps.size(); ++i) {
        if (i == k) continue;
        if (i < 32 && j > 0 && j < 32 && ((f.plan.focused >> i) & 1u) != 0) focused |= 1u << j;
        ++j;
      }
      f.plan.focused = focused;
      out.push_back(program_of(cand));
    }
  for (std::size_t i = 0; i < p.steps.size(); ++i)
    for (std::size_t j = 0; j < p.steps[i].size(); ++j)
      if (p.steps[i][j] != 0) {
        Program cand = p;
        cand.steps[i][j] = 0;
        out.push_back(std::move(cand));
      }
  return out;
}

// Greedy descent as shrink() does, over simpler_planned(). `failing` is a planned program whose
// run (`result`) fails as the counterexample does.
void shrink_planned(Program failing, LockstepResult result, Counterexample& cex, const LockstepConfig& lc,
                    const std::function<void(const CampaignProgress&)>& progress) {
  cex.shrunk = failing;
  cex.shrunk_result = result;
  bool improved = true;
  while (improved && !cex.nondeterminism) {
    improved = false;
    for (Program& p : simpler_planned(cex.shrunk)) {
      LockstepResult r;
      bool fails = false;
      if (!try_candidate(p, cex, lc, progress, r, fails)) return;
      if (!fails) continue;
      // The rounds as they ran: a step that no longer fit its round is gone, and so is everything
      // after the failure. Running that again must fail the same way.
      Program next = r.formed;
      LockstepResult again = run_lockstep(next, lc);
      if (again.cut_short) {
        cex.shrink_budget_exhausted = true;
        return;
      }
      if (again.summary() != r.summary()) {
        cex.nondeterminism = fmt::format("the same program gave \"{}\" and then \"{}\"", r.summary(), again.summary());
        return;
      }
      cex.shrunk = std::move(next);
      cex.shrunk_result = std::move(again);
      ++cex.shrinks_accepted;
      improved = true;
      break;
    }
  }
}

// The same failure, for schedule shrinking: the verdict and, for a divergence, its rule.
bool same_rule(const LockstepResult& a, const LockstepResult& b) {
  if (a.verdict != b.verdict) return false;
  return a.verdict != Verdict::Diverge || (a.divergence && b.divergence && a.divergence->rule == b.divergence->rule);
}

// How simple a schedule is: fewer preemptions first, then fewer context switches.
std::pair<std::size_t, std::size_t> schedule_cost(const std::vector<TraceTurn>& turns) {
  return {count_preemptions(turns), count_switches(turns)};
}

// The context switches of `turns`, latest first (where a late change disturbs least), as (turn
// before, turn after).
std::vector<std::pair<std::size_t, std::size_t>> switches_latest_first(const std::vector<TraceTurn>& turns) {
  std::vector<std::pair<std::size_t, std::size_t>> switches;
  std::optional<std::size_t> last;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    if (turns[i].wake) continue;
    if (last && turns[*last].thread != turns[i].thread) switches.emplace_back(*last, i);
    last = i;
  }
  std::reverse(switches.begin(), switches.end());
  return switches;
}

// The candidate one step simpler than `turns` at one context switch: after a preemption the
// preempted thread runs on instead; after a thread stopped for good (blocked, returned, exited) the
// default thread (the earliest runnable) runs instead of the recorded one. Made one at a time: a
// livelock's schedule holds its ~10^5 turns, and a copy per switch at once would not fit in memory.
std::vector<TraceTurn> without_switch(const std::vector<TraceTurn>& turns, std::pair<std::size_t, std::size_t> at) {
  std::vector<TraceTurn> cand = turns;
  // A name no thread has: the lenient script falls back to the thread that ran last, if it can
  // run, else the earliest runnable.
  cand[at.second].thread = preempted_at(turns[at.first]) ? turns[at.first].thread : std::string("-");
  return cand;
}

// Schedule shrinking: with the program fixed, replay its recorded decisions leniently with one
// context switch taken out, and keep a candidate that fails the same way (same verdict and rule)
// with fewer preemptions, or as many and fewer switches. The accepted run's own decisions are the
// next starting point. The final schedule is re-run strictly: a different outcome is
// nondeterminism.
void shrink_schedule(Counterexample& cex, const LockstepConfig& lc, const std::function<void(const CampaignProgress&)>& progress) {
  std::vector<TraceTurn> turns = recorded_turns(cex.shrunk_result);
  std::tie(cex.preemptions_before, cex.switches_before) = schedule_cost(turns);
  std::tie(cex.preemptions_after, cex.switches_after) = schedule_cost(turns);
  LockstepConfig l = lc;
  l.schedule = cex.schedule;
  l.schedule.strict = false;
  l.schedule.script_rounds = recorded_rounds(cex.shrunk_result);
  bool improved = true;
  while (improved && !cex.shrink_budget_exhausted) {
    improved = false;
    for (const auto& at : switches_latest_first(turns)) {
      if (Clock::now() >= *lc.deadline) {
        cex.shrink_budget_exhausted = true;
        break;
      }
      l.schedule.script = without_switch(turns, at);
      LockstepResult r = run_lockstep(cex.shrunk, l);
      ++cex.schedule_runs;
      if (progress) progress(CampaignProgress{cex.shrink_runs + cex.schedule_runs, 0, true});
      if (r.cut_short) {
        cex.shrink_budget_exhausted = true;
        break;
      }
      std::vector<TraceTurn> got = recorded_turns(r);
      if (!same_rule(r, cex.shrunk_result) || schedule_cost(got) >= schedule_cost(turns)) continue;
      turns = std::move(got);
      l.schedule.script_rounds = recorded_rounds(r);
      cex.shrunk_result = std::move(r);
      improved = true;
      break;
    }
  }
  std::tie(cex.preemptions_after, cex.switches_after) = schedule_cost(turns);
  cex.schedule.script = turns;
  cex.schedule.script_rounds = recorded_rounds(cex.shrunk_result);
  cex.schedule.strict = true;
  l.schedule = cex.schedule;
  LockstepResult again = run_lockstep(cex.shrunk, l);
  if (!again.cut_short && again.summary() != cex.shrunk_result.summary() && !cex.nondeterminism)
    cex.nondeterminism = fmt::format("the shrunk schedule gave \"{}\" and then \"{}\"", cex.shrunk_result.summary(), again.summary());
}

}  // namespace

std::vector<std::size_t> recorded_rounds(const LockstepResult& r) {
  std::vector<std::size_t> out;
  for (const std::vector<TraceTurn>& round : turns_by_round(r.events)) out.push_back(round.size());
  if (!r.unfinished_turns.empty()) out.push_back(r.unfinished_turns.size());
  return out;
}

std::vector<TraceTurn> recorded_turns(const LockstepResult& r) {
  std::vector<TraceTurn> out;
  for (const TraceEvent& e : r.events) out.insert(out.end(), e.turns.begin(), e.turns.end());
  out.insert(out.end(), r.unfinished_turns.begin(), r.unfinished_turns.end());
  return out;
}

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
  const auto generate = [&](std::uint64_t seed) { return gen(rc::Random(seed), static_cast<int>(c.steps)).value(); };
  std::optional<FoundFailure> found = explore(c, search, generate, t0, rep, progress);
  if (found) {
    Counterexample cex;
    cex.program_index = found->index;
    cex.program_seed = found->seed;
    cex.schedule = found->schedule;
    cex.seconds_to_first_failure = found->seconds_since_start;
    cex.original = std::move(found->program);
    cex.original_result = std::move(found->result);
    if (c.on_failure_found) c.on_failure_found(cex.original, cex.original_result);
    LockstepConfig shrinking = c.lockstep;
    shrinking.schedule = cex.schedule;
    shrinking.deadline = Clock::now() + c.shrink_budget;
    if (c.lockstep.deadline) shrinking.deadline = std::min(*shrinking.deadline, *c.lockstep.deadline);
    LockstepResult again = run_lockstep(cex.original, shrinking);
    if (!again.cut_short && again.summary() != cex.original_result.summary())
      cex.nondeterminism = fmt::format("the same program gave \"{}\" and then \"{}\"", cex.original_result.summary(), again.summary());
    if (c.shrink && !cex.nondeterminism) {
      // The program first, within two thirds of the budget when a schedule is to shrink after it.
      const bool interleaved = effective(cex.schedule) != Strategy{};
      LockstepConfig program_phase = shrinking;
      if (interleaved) program_phase.deadline = std::min(*shrinking.deadline, Clock::now() + c.shrink_budget * 2 / 3);
      // An interleaved failure shrinks as the rounds it ran in, when those rounds, run again as they
      // are, fail the same way (a step resolved with the focus of an earlier round is not planned
      // exactly; then the choice program shrinks as it is).
      std::optional<LockstepResult> planned;
      if (interleaved && !cex.original_result.formed.plan.empty()) {
        LockstepResult r = run_lockstep(cex.original_result.formed, program_phase);
        if (!r.cut_short && r.summary() == cex.original_result.summary()) planned = std::move(r);
      }
      if (planned) {
        // Both ways, each in half the program phase, and the shorter kept: the planned rounds keep a
        // race's failing round, while a failure that needs no particular round (most sequential
        // bugs) often sheds more as a choice program whose rounds re-form (a fork whose only role
        // was to make a later choice resolve as it did).
        LockstepConfig half = program_phase;
        half.deadline = Clock::now() + (*program_phase.deadline - Clock::now()) / 2;
        shrink_planned(cex.original_result.formed, std::move(*planned), cex, half, progress);
        Counterexample alt = cex;
        alt.shrink_budget_exhausted = false;
        shrink(rc::shrinkable::shrinkRecur(cex.original, &shrink_program), cex.original_result, alt, program_phase, progress);
        cex.shrink_runs = alt.shrink_runs;
        cex.shrink_budget_exhausted = cex.shrink_budget_exhausted || alt.shrink_budget_exhausted;
        if (alt.nondeterminism) cex.nondeterminism = alt.nondeterminism;
        if (alt.shrunk_result.events.size() < cex.shrunk_result.events.size()) {
          cex.shrinks_accepted = alt.shrinks_accepted;
          cex.shrunk = std::move(alt.shrunk);
          cex.shrunk_result = std::move(alt.shrunk_result);
        }
      } else {
        shrink(rc::shrinkable::shrinkRecur(cex.original, &shrink_program), cex.original_result, cex, program_phase, progress);
      }
      if (interleaved && !cex.nondeterminism) {
        cex.shrink_budget_exhausted = false;  // the program phase's own share ran out, not the budget
        shrink_schedule(cex, shrinking, progress);
      }
    } else {
      cex.shrunk = cex.original;
      cex.shrunk_result = cex.original_result;
    }
    if (c.on_failure_shrunk) c.on_failure_shrunk(cex.shrunk, cex.shrunk_result);
    rep.failure = std::move(cex);
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
