#include "checker/mutants.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace lockstep::checker {

namespace {
using Clock = std::chrono::steady_clock;
}

std::optional<std::size_t> shortest_exposure(const std::vector<std::vector<model::Op>>& candidates, const LockstepConfig& c,
                                             double seconds, std::size_t* tried) {
  LockstepConfig lc = c;
  lc.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  *tried = 0;
  for (const auto& prog : candidates) {  // shortest first: the first divergence is a shortest one
    if (Clock::now() > *lc.deadline) return std::nullopt;
    ++*tried;
    const LockstepResult r = run_lockstep(prog, lc);
    if (r.cut_short) return std::nullopt;
    if (r.verdict != Verdict::Agree) return prog.size();
  }
  return std::nullopt;
}

MutantReport run_mutants(const MutantConfig& c, const std::function<void(const std::string&)>& status) {
  MutantReport rep;
  auto say = [&](const std::string& s) {
    if (status) status(s);
  };
  std::vector<std::vector<model::Op>> candidates;
  if (c.shortest) {
    say("exploring the model's state graph");
    candidates = candidate_programs(explore(c.bounds));
  }
  const std::vector<impl::FaultInfo> faults = c.faults.empty() ? impl::project_faults() : c.faults;
  for (std::size_t i = 0; i < faults.size(); ++i) {
    if (!c.campaign.shard.includes(i)) continue;
    const impl::FaultInfo& f = faults[i];
    say(fmt::format("fault {}", f.name));
    CampaignConfig cc = c.campaign;
    cc.shard = Shard{};  // a fault's campaign is whole: the shards split the faults
    cc.lockstep.faults = impl::FaultSet{f.fault};
    const auto started = Clock::now();
    const CampaignReport r = run_campaign(cc);
    MutantRow row;
    row.programs = r.programs;
    row.fault = std::string(f.name);
    row.breaks = std::string(f.rule);
    if (r.failure) {
      row.killed = true;
      row.seconds_to_kill = r.failure->seconds_to_first_failure;
      row.original_steps = r.failure->original_result.events.size();
      row.shrunk_steps = r.failure->shrunk_result.events.size();
      row.verdict = r.failure->shrunk_result.summary();
      row.nondeterministic = r.failure->nondeterminism.has_value();
      if (r.failure->shrunk_result.divergence) row.reported_rule = std::string(model::rule_name(r.failure->shrunk_result.divergence->rule));
      else row.reported_rule = "DEADLOCK";
    }
    if (c.shortest) {
      LockstepConfig lc = cc.lockstep;
      lc.program.chooser.hosts = c.bounds.hosts;
      row.shortest = shortest_exposure(candidates, lc, c.shortest_seconds, &row.shortest_tried);
    }
    row.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    rep.rows.push_back(std::move(row));
  }
  if (c.control_programs == 0) return rep;
  say(fmt::format("control: the correct impl, {} programs", c.control_programs));
  CampaignConfig control = c.campaign;
  control.lockstep.faults = {};
  control.programs = c.control_programs;
  control.time_budget = std::chrono::hours(24);
  const auto started = Clock::now();
  const CampaignReport r = run_campaign(control);
  rep.control_ran = true;
  rep.control_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  rep.control_programs = r.programs;
  rep.control_steps = r.steps;
  if (r.failure) rep.false_alarm = r.failure->shrunk_result.summary();
  return rep;
}

std::size_t MutantReport::survived() const {
  std::size_t n = 0;
  for (const MutantRow& m : rows) n += m.killed ? 0 : 1;
  return n;
}

std::string mutant_table(const MutantReport& r, const MutantConfig& c) {
  std::string out = fmt::format("{:<27} {:<12} {:<7} {:>8} {:>6} {:>7} {:>9} {:>6}  {}\n", "fault", "breaks", "killed",
                                "t-kill", "orig", "shrunk", "shortest", "ratio", "reported");
  std::vector<double> times;
  std::vector<double> ratios;
  int killed = 0;
  for (const MutantRow& m : r.rows) {
    std::string shortest = c.shortest ? (m.shortest ? fmt::format("{}", *m.shortest) : fmt::format(">{}", c.bounds.max_depth)) : "-";
    std::string ratio = "-";
    if (m.killed && m.shortest && *m.shortest > 0) {
      const double q = static_cast<double>(m.shrunk_steps) / static_cast<double>(*m.shortest);
      ratios.push_back(q);
      ratio = fmt::format("{:.2f}", q);
    }
    if (m.killed) {
      ++killed;
      times.push_back(m.seconds_to_kill);
      out += fmt::format("{:<27} {:<12} {:<7} {:>7.2f}s {:>6} {:>7} {:>9} {:>6}  {}{}\n", m.fault, m.breaks, "yes", m.seconds_to_kill,
                         m.original_steps, m.shrunk_steps, shortest, ratio, m.reported_rule,
                         m.nondeterministic ? " (NONDETERMINISTIC)" : "");
    } else {
      out += fmt::format("{:<27} {:<12} {:<7} {:>8} {:>6} {:>7} {:>9} {:>6}  {}\n", m.fault, m.breaks, "SURVIVED", "-", "-", "-",
                         shortest, "-", "no divergence within the budget");
    }
  }
  std::sort(times.begin(), times.end());
  const double median = times.empty() ? 0 : times[times.size() / 2];
  const double max = times.empty() ? 0 : times.back();
  out += fmt::format("\nkilled {} of {}; time to kill: median {:.2f} s, max {:.2f} s", killed, r.rows.size(), median, max);
  if (!ratios.empty()) {
    std::sort(ratios.begin(), ratios.end());
    out += fmt::format("; shrunk/shortest: median {:.2f}, max {:.2f}", ratios[ratios.size() / 2], ratios.back());
  }
  if (c.campaign.shard.sharded())
    out += fmt::format("\nshard {}/{}: faults i with i mod {} = {}; control programs likewise", c.campaign.shard.index,
                       c.campaign.shard.total, c.campaign.shard.total, c.campaign.shard.index);
  if (r.control_ran)
    out += fmt::format("\ncontrol (correct impl): {} programs, {} steps, {}\n", r.control_programs, r.control_steps,
                       r.false_alarm ? "FALSE ALARM: " + *r.false_alarm : std::string("0 false alarms"));
  else
    out += "\ncontrol (correct impl): not run (--control-programs 0)\n";
  return out;
}

}  // namespace lockstep::checker
