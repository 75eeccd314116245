// The summaries and the JUnit report of `lockstep stress` (stress_files.hpp).
#include <map>
#include <optional>
#include <set>
#include <variant>

#include <fmt/format.h>

#include "checker/junit.hpp"
#include "checker/stress_files.hpp"
#include "witness_narrow.hpp"

namespace lockstep::checker::stress {

std::string recording_summary(const StressRecording& rec, const StressConfig& c) {
  const StressStats& s = rec.stats;
  const std::uint64_t calls = s.host_ops + s.kthread_ops;
  std::string out = fmt::format("recorded  {:.2f} s: {} calls ({} host, {} kthread) = {:.0f} calls/s{}\n", s.seconds, calls, s.host_ops,
                                s.kthread_ops, s.seconds > 0 ? static_cast<double>(calls) / s.seconds : 0.0,
                                c.record ? "" : " (recording off)");
  if (c.record)
    out += fmt::format("          history: {} operations, {} tick operations, {} §7 observations ({} barriers{}{}); {} kthreads created\n",
                       rec.history.ops.size(), s.ticks, rec.history.observations.size(), s.barriers,
                       s.barriers_skipped ? fmt::format(", {} skipped", s.barriers_skipped) : std::string(),
                       rec.observed ? ", one at the end" : ", none at the end", s.kthreads_created);
  if (s.host_ops > 0)
    out += fmt::format("          focus: {} of {} host calls ({:.0f}%) leaned on the process the hosts share for the stretch, its fd table "
                       "and its new path (host_chooser.hpp)\n",
                       s.focused, s.host_ops, 100.0 * static_cast<double>(s.focused) / static_cast<double>(s.host_ops));
  if (rec.plugin)
    out += fmt::format("          delays: the host's, in the SUT's pthread calls (schedule and noise above); {}\n",
                       rec.introspected ? "§7 states read with lockstep_sut_state at barriers" : "no §7 observation (answers only: no introspection)");
  else
    out += fmt::format("          delays: {} of {} sync points ({:.2f}%), {} spurious wakeups\n", s.delays, s.sync_points,
                       s.sync_points ? 100.0 * static_cast<double>(s.delays) / static_cast<double>(s.sync_points) : 0.0,
                       s.spurious_wakeups);
  if (rec.panic) out += fmt::format("          the {} failed: {}\n", rec.plugin ? "SUT" : "impl", *rec.panic);
  if (rec.abandoned) out += "          teardown did not finish within the grace period: the kernel instance was abandoned\n";
  return out;
}

namespace {

constexpr std::size_t kLastCommittedPerThread = 6;

// A thread as a key of the summary's per-thread sets and counts.
std::pair<int, std::uint32_t> thread_key(const model::Actor& a) { return {static_cast<int>(a.kind), a.index}; }

// Which of a witness's operations the summary lists. A witness of up to kWholeUpTo operations shows
// them all. A longer one the shrinker could not cut (a violation seen only at a §7 observation keeps
// every call before it) shows each thread's last calls; the history file holds them all. (Kthread
// bodies, which loop on suspend_check and work, show fewer.) A narrowed witness (witness_narrow.hpp)
// shows what follows the committed observation, and of what precedes it the calls that name an
// object those name, each thread's last few.
std::vector<bool> shown_ops(const Witness& w) {
  constexpr std::size_t kWholeUpTo = 100, kLastPerHost = 16, kLastPerBody = 4;
  const std::size_t n = w.history.ops.size();
  std::vector<bool> shown(n, n <= kWholeUpTo);
  std::optional<std::size_t> culprit;
  if (w.judgement.culprit && !w.judgement.culprit_is_observation) culprit = *w.judgement.culprit;
  auto last_of_each_actor = [&](const std::vector<bool>& eligible, auto&& how_many) {
    std::map<std::pair<int, std::uint32_t>, std::size_t> left;
    for (std::size_t i = n; i-- > 0;) {
      if (!eligible[i]) continue;
      const model::Actor a = w.history.ops[i].op.actor;
      auto [it, fresh] = left.try_emplace(thread_key(a), how_many(a));
      if (it->second > 0) shown[i] = true, --it->second;
    }
  };
  if (w.narrowed.empty()) {
    if (n > kWholeUpTo)
      last_of_each_actor(std::vector<bool>(n, true),
                         [](const model::Actor& a) { return a.kind == model::Actor::Kind::Kthread ? kLastPerBody : kLastPerHost; });
  } else {
    std::vector<bool> committed(n, false);
    for (std::size_t i : w.narrowed) committed[i] = true;
    std::set<std::pair<bool, std::uint32_t>> later;
    for (std::size_t i = 0; i < n; ++i)
      if (!committed[i]) {
        shown[i] = true;
        for (const auto& s : named_objects(w.history.ops[i])) later.insert(s);
      }
    std::vector<bool> related(n, false);
    for (std::size_t i : w.narrowed)
      for (const auto& s : named_objects(w.history.ops[i])) related[i] = related[i] || later.contains(s);
    last_of_each_actor(related, [](const model::Actor&) { return kLastCommittedPerThread; });
  }
  if (culprit) shown[*culprit] = true;
  return shown;
}

}  // namespace

std::string verdict_summary(const StressRecording& rec, const StressVerdict& v) {
  std::string out;
  if (v.kind != StressVerdictKind::Deadlock) {
    const lin::Stats& st = v.judgement.stats;
    out += fmt::format("judged    {:.2f} s: {} operations, {} states, {} model steps, {} backtracks, {} commits\n", st.seconds,
                       rec.history.ops.size(), st.states, st.steps, st.backtracks, st.commits);
  }
  if (v.witness) {
    const Witness& w = *v.witness;
    out += fmt::format("shrunk    {:.2f} s: {} candidates judged; the witness has {} of {} operations\n", w.seconds, w.candidates,
                       w.history.ops.size(), rec.history.ops.size());
    out += fmt::format("witness   {}\n", lin::summary(w.history, w.judgement));
    if (!w.narrowed.empty())
      out += fmt::format("          ({} of its operations came before the last observation the judge committed to: they are kept\n"
                         "          in the order it committed to, each narrowed to its place in that order; shown below: those\n"
                         "          that name an object a later operation names, each thread's last {}; the trace replays them all)\n",
                         w.narrowed.size(), kLastCommittedPerThread);
    out += "          (its operations, by thread; * = the one no order explains; a run of clock ticks on one line)\n";
    const std::vector<bool> shown = shown_ops(w);
    auto is_tick = [&](std::size_t i) { return std::holds_alternative<model::op::Tick>(w.history.ops[i].op.body); };
    const bool is_culprit_op = w.judgement.culprit && !w.judgement.culprit_is_observation;
    const std::size_t n = w.history.ops.size();
    // A thread with nothing shown is not listed, only counted (a narrowed witness keeps every thread
    // of the prefix, most of which the failure does not name).
    std::set<std::pair<int, std::uint32_t>> listed;
    for (std::size_t i = 0; i < n; ++i)
      if (shown[i]) listed.insert(thread_key(w.history.ops[i].op.actor));
    std::size_t unlisted_ops = 0;
    std::set<std::pair<int, std::uint32_t>> unlisted;
    for (std::size_t i = 0; i < n; ++i) {
      if (!shown[i]) {
        const model::Actor a = w.history.ops[i].op.actor;
        std::size_t end = i;
        while (end < n && !shown[end] && w.history.ops[end].op.actor == a) ++end;
        if (listed.contains(thread_key(a))) {
          out += fmt::format("            ({} {} operations of {}: the history file lists them)\n", end - i,
                             w.narrowed.empty() ? "earlier" : "other", model::to_string(a));
        } else {
          unlisted_ops += end - i;
          unlisted.insert(thread_key(a));
        }
        i = end - 1;
        continue;
      }
      const lin::Operation& o = w.history.ops[i];
      const bool culprit = is_culprit_op && *w.judgement.culprit == i;
      // The clock's ticks (a 20 ms tick makes 50 a second) would bury the calls: a run of them that
      // holds no culprit is one line with its count and its span.
      std::size_t run = i;
      while (run + 1 < n && shown[run + 1] && is_tick(i) && is_tick(run + 1) &&
             !(is_culprit_op && (*w.judgement.culprit == run + 1 || *w.judgement.culprit == i)))
        ++run;
      if (run > i) {
        const lin::Operation& last = w.history.ops[run];
        out += fmt::format("            clock: {} ticks                                    [{:.6f}, {}]\n", run - i + 1,
                           static_cast<double>(o.call) / 2e9,
                           last.ret ? fmt::format("{:.6f}", static_cast<double>(*last.ret) / 2e9) : std::string("in flight"));
        i = run;
        continue;
      }
      out += fmt::format("          {} {:<48} [{:.6f}, {}] -> {}\n", culprit ? '*' : ' ', model::to_string(o.op),
                         static_cast<double>(o.call) / 2e9,
                         o.ret ? fmt::format("{:.6f}", static_cast<double>(*o.ret) / 2e9) : std::string("in flight"),
                         o.ret ? render(o.outcome) : std::string("-"));
    }
    if (unlisted_ops > 0)
      out += fmt::format("            ({} operations of {} other threads: the history file lists them)\n", unlisted_ops, unlisted.size());
  }
  if (v.kind == StressVerdictKind::Unknown || (v.kind == StressVerdictKind::Violation && !v.witness)) {
    if (!v.judgement.expected.empty()) out += fmt::format("          expected: {}\n", v.judgement.expected);
    if (!v.judgement.observed.empty()) out += fmt::format("          observed: {}\n", v.judgement.observed);
  }
  out += fmt::format("verdict   {}\n", v.line);
  return out;
}

std::string stress_junit(const StressRecording& rec, const StressVerdict& v, const StressConfig& c) {
  const bool ok = v.kind == StressVerdictKind::Agree;
  const double secs = rec.stats.seconds + v.judgement.stats.seconds + (v.witness ? v.witness->seconds : 0.0);
  std::string body = ok ? "" : fmt::format("      <failure message=\"{}\">{}</failure>\n", xml_escape(std::string(to_string(v.kind))),
                                           xml_escape(verdict_summary(rec, v)));
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites tests=\"1\" failures=\"{}\" errors=\"0\" time=\"{:.3f}\">\n"
      "  <testsuite name=\"lockstep stress\" tests=\"1\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{:.3f}\">\n"
      "    <properties>\n"
      "      <property name=\"threads\" value=\"{}\"/>\n"
      "      <property name=\"seed\" value=\"{}\"/>\n"
      "      <property name=\"delay_probability\" value=\"{}\"/>\n"
      "      <property name=\"operations\" value=\"{}\"/>\n"
      "    </properties>\n"
      "    <testcase classname=\"stress\" name=\"history of {} operations is linearizable\" time=\"{:.3f}\">\n{}"
      "    </testcase>\n"
      "  </testsuite>\n"
      "</testsuites>\n",
      ok ? 0 : 1, secs, ok ? 0 : 1, secs, c.threads, c.seed, c.delay_probability, rec.history.ops.size(), rec.history.ops.size(), secs, body);
}

}  // namespace lockstep::checker::stress
