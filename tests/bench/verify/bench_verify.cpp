// bench_verify: how long Z3 takes to verify SPEC §6 on traces of 10^3, 10^4, 10^5 and 10^6 events,
// and the growth factor from each length to the next (linear growth = 10x per decade).
// Traces are model-only random programs (no misuse, so no FATAL ends them early); `--max N` caps the length.
// Then the partial-order mode on histories of 10^2 and 10^3 events (`--po-sizes 100,1000`), ordered
// (a) only by what they prove themselves (program order, wake-ups, creation before use), and
// (b) as a stress run would record them: also each event after the one W = 8 places before it
//     (intervals that overlap at most 7 neighbours); `--po-windows 8,0` (0 = (a)).
// Then stress histories with quiescent points (`--stress-sizes 1000,10000,100000`): the events in
// bursts of 1..B (`--stress-burst 8`), each burst's events unordered among themselves (but for what
// they prove: program order, wake-ups, creation before use) and all after every event of the burst
// before: the real-time order of a stress run whose threads' calls overlap only within a burst.
// And as a real-time recorder writes them (`--jitter 12`): calls 10 ticks apart, each within 12
// ticks of its instant, an event after another iff that one responded before it was invoked.
// Judged window by window (cut at every quiescent point), and the old way, as one window, where
// that is cheap enough (`--old-max 1000`: sizes up to it).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "checker/op_chooser.hpp"
#include "checker/random_source.hpp"
#include "checker/verify.hpp"
#include "checker/verify_partial.hpp"
#include "model/model.hpp"

using namespace lockstep;
using namespace lockstep::checker;

namespace {

VOutcome vout(const model::Outcome& o) {
  VOutcome v;
  v.kind = o.returned() ? VOutcome::Kind::Returned : o.blocked() ? VOutcome::Kind::Blocked : o.is_fatal() ? VOutcome::Kind::Fatal : VOutcome::Kind::NotRunnable;
  v.ret = o.ret;
  return v;
}

VTrace make_trace(std::size_t n, std::uint64_t seed) {
  SplitMix rng(seed);
  model::Model m(model::Config{12, true, 12});
  ChooserConfig cc{3, 2, 0};
  VTrace t;
  t.hosts = 3;
  t.events.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const model::Op op = choose_op(m.state(), cc, rng);
    const std::size_t procs = m.state().procs.size(), lwps = m.state().lwps.size();
    const model::StepResult r = m.apply(op, model::Choice{});
    const model::State& s = m.state();
    VEvent e;
    e.step = i;
    e.op = op;
    e.outcome = vout(r.outcome);
    for (const auto& c : r.completions) e.woke.push_back(VCompletion{c.actor, vout(c.outcome)});
    for (std::size_t p = procs; p < s.procs.size(); ++p) e.bound.push_back(Binding{Binding::Kind::Proc, static_cast<std::uint32_t>(p), s.procs[p].pid});
    for (std::size_t l = lwps; l < s.lwps.size(); ++l) e.bound.push_back(Binding{Binding::Kind::Lwp, static_cast<std::uint32_t>(l), s.procs[s.lwps[l].proc].pid});
    t.events.push_back(std::move(e));
    if (r.outcome.is_fatal()) break;
  }
  return t;
}

// A stress-like history: the model's events in bursts of 1..max_burst, each event after every event
// of the burst before (quiescent points between bursts), unordered within its burst.
VTrace stress_history(std::size_t n, std::uint64_t seed, std::size_t max_burst) {
  VTrace t = make_trace(n, seed);
  SplitMix rng(seed * 7919 + 1);
  std::size_t prev_begin = 0, begin = 0;
  while (begin < t.events.size()) {
    const std::size_t end = std::min(t.events.size(), begin + 1 + rng.below(static_cast<std::uint32_t>(max_burst)));
    for (std::size_t i = begin; i < end; ++i)
      for (std::size_t j = prev_begin; j < begin; ++j) t.events[i].after.push_back(t.events[j].step);
    prev_begin = begin;
    begin = end;
  }
  return t;
}

// A stress-like history as a real-time recorder writes it: the model's events at instants 10 ticks
// apart, each call's interval within `jitter` ticks of its instant, an event after another iff that
// one's response came before its invocation (edges from the last few events only: older ones
// precede through them).
VTrace interval_history(std::size_t n, std::uint64_t seed, std::size_t jitter) {
  VTrace t = make_trace(n, seed);
  SplitMix rng(seed * 6151 + 9);
  const auto j = static_cast<std::uint32_t>(jitter + 1);
  std::vector<std::int64_t> inv, resp;
  const std::size_t reach = 2 * (2 * jitter / 10 + 2);  // beyond it, every earlier call responded first
  for (std::size_t k = 0; k < t.events.size(); ++k) {
    inv.push_back(static_cast<std::int64_t>(10 * k) - rng.below(j));
    resp.push_back(static_cast<std::int64_t>(10 * k) + rng.below(j));
    for (std::size_t i = k > reach ? k - reach : 0; i < k; ++i)
      if (resp[i] < inv[k]) t.events[k].after.push_back(t.events[i].step);
  }
  return t;
}

std::string verdict_of(const PartialOrderReport& r) {
  std::string verdict, undecided;
  for (const auto& v : r.verdicts) {
    if (!v.holds) verdict += fmt::format("{}{}", verdict.empty() ? "violated: " : " ", model::rule_name(v.rule));
    if (!v.decided) undecided += fmt::format(" {}", model::rule_name(v.rule));
  }
  if (!undecided.empty()) verdict += fmt::format("{}UNDECIDED:{}", verdict.empty() ? "" : "; ", undecided);
  return verdict.empty() ? "holds in every order" : verdict;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t max = 1000000;
  std::vector<std::size_t> po_sizes = {100, 1000}, windows = {8, 0};
  unsigned po_timeout_s = 300;  // per solver check: beyond it the bench reports UNDECIDED
  std::size_t seq_window = VerifyOptions{}.window;
  std::vector<std::size_t> stress_sizes = {1000, 10000, 100000};
  std::size_t burst = 8, old_max = 1000, min_window = PartialOrderOptions{}.min_window, jitter = 12;
  auto list = [](const char* s) {
    std::vector<std::size_t> out;
    for (char* end = nullptr; *s; s = *end ? end + 1 : end) out.push_back(std::strtoull(s, &end, 10));
    return out;
  };
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--max") == 0) max = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--po-sizes") == 0) po_sizes = list(argv[i + 1]);
    if (std::strcmp(argv[i], "--po-windows") == 0) windows = list(argv[i + 1]);  // 0: causal edges only
    if (std::strcmp(argv[i], "--stress-sizes") == 0) stress_sizes = list(argv[i + 1]);
    if (std::strcmp(argv[i], "--stress-burst") == 0) burst = std::max<std::size_t>(1, std::strtoull(argv[i + 1], nullptr, 10));
    if (std::strcmp(argv[i], "--jitter") == 0) jitter = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--min-window") == 0) min_window = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--old-max") == 0) old_max = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--window") == 0) seq_window = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--po-timeout") == 0) po_timeout_s = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
  }
  fmt::print("{:>10} {:>12} {:>12} {:>14} {:>8}\n", "events", "verify s", "events/s", "solver checks", "growth");
  double prev = 0;
  verify(make_trace(1000, 5), VerifyOptions{.explain = false});  // warm-up: the first call makes the thread's Z3 context
  for (std::size_t n = 1000; n <= max; n *= 10) {
    const VTrace t = make_trace(n, 7);
    const auto t0 = std::chrono::steady_clock::now();
    const VerifyReport r = verify(t, VerifyOptions{.window = seq_window, .explain = false});
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!r.all_hold()) {
      std::fputs(render(r).c_str(), stderr);
      return 1;
    }
    fmt::print("{:>10} {:>12.3f} {:>12.0f} {:>14} {:>8}   encode {:.3f} solve {:.3f} model {:.3f}\n", t.events.size(), s, t.events.size() / s, r.solver_checks,
               prev > 0 ? fmt::format("{:.1f}x", s / prev) : "-", r.profile.encode, r.profile.solve, r.profile.model);
    std::fflush(stdout);
    prev = s;
  }
  fmt::print("goal: 1e6 events < 10 s (before: 38-50 s on this machine), growth ~10x per decade (linear)\n\n");

  fmt::print("partial-order mode: does ANY order the happens-before graph allows break an invariant?\n");
  fmt::print("{:>22} {:>7} {:>7} {:>10} {:>8} {:>10} {:>9} {:>8} {:>8}  {}\n", "history", "events", "edges", "unordered", "reads", "verify s",
             "(encode)", "checks", "growth", "verdict");
  for (const std::size_t window : windows) {
    double prev_po = 0;
    for (const std::size_t n : po_sizes) {
      VTrace t = make_trace(n, 11);
      if (window > 0)
        for (std::size_t i = window; i < t.events.size(); ++i) t.events[i].after.push_back(t.events[i - window].step);
      const auto t0 = std::chrono::steady_clock::now();
      const PartialOrderReport r = verify_partial_order(t, PartialOrderOptions{.timeout_ms = po_timeout_s * 1000});
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::string verdict;
      std::string undecided;
      for (const auto& v : r.verdicts) {
        if (!v.holds) verdict += fmt::format("{}{}", verdict.empty() ? "violated: " : " ", model::rule_name(v.rule));
        if (!v.decided) undecided += fmt::format(" {} ({})", model::rule_name(v.rule), v.what);
      }
      if (!undecided.empty()) verdict += fmt::format("; UNDECIDED after {} s per check:{}", po_timeout_s, undecided);
      fmt::print("{:>22} {:>7} {:>7} {:>10} {:>8} {:>10.3f} {:>9.3f} {:>8} {:>8}  {}\n", window ? fmt::format("stress, overlap {}", window - 1) : "causal edges only",
                 r.events, r.edges, r.concurrent_pairs, r.reads, s, r.encode_seconds, r.solver_checks, prev_po > 0 ? fmt::format("{:.1f}x", s / prev_po) : "-",
                 verdict.empty() ? "holds in every order" : verdict);
      prev_po = s;
      std::fflush(stdout);
    }
  }

  // Two recorders: bursts (each event after every event of the burst before), and intervals (each
  // call from its invocation to its response, at most `jitter` ticks either side of the instant it
  // took effect, 10 ticks apart; a call is after another iff that one responded before it was
  // invoked: quiescent points wherever no interval straddles).
  for (const bool intervals : {false, true}) {
    if (intervals) fmt::print("\nstress histories with real-time intervals (each call within {} ticks of its instant, instants 10 apart): judged window by window\n", jitter);
    else fmt::print("\nstress histories with quiescent points (bursts of 1..{} events): judged window by window\n", burst);
    fmt::print("{:>8} {:>8} {:>8} {:>7} {:>7} {:>10} {:>10} {:>8} {:>10} {:>8}  {}\n", "events", "edges", "windows", "longest", "states", "verify s",
               "events/s", "growth", "old way s", "ratio", "verdict");
    double prev_stress = 0;
    for (const std::size_t n : stress_sizes) {
      const VTrace t = intervals ? interval_history(n, 17, jitter) : stress_history(n, 13, burst);
      const auto t0 = std::chrono::steady_clock::now();
      const PartialOrderReport r = verify_partial_order(t, PartialOrderOptions{.timeout_ms = po_timeout_s * 1000, .min_window = min_window});
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::string old = "-", ratio = "-";
      if (n <= old_max) {
        const auto t1 = std::chrono::steady_clock::now();
        const PartialOrderReport w = verify_partial_order(t, PartialOrderOptions{.timeout_ms = po_timeout_s * 1000, .cut = false});
        const double so = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
        old = fmt::format("{:.3f}", so);
        ratio = fmt::format("{:.1f}x", so / s);
        if (verdict_of(w) != verdict_of(r)) {
          std::fputs(fmt::format("windowed and one-window verdicts differ:\n{}{}", render(r), render(w)).c_str(), stderr);
          return 1;
        }
      }
      fmt::print("{:>8} {:>8} {:>8} {:>7} {:>7} {:>10.3f} {:>10.0f} {:>8} {:>10} {:>8}  {}\n", r.events, r.edges, r.windows, r.largest_window, r.max_cut_states, s,
                 r.events / s, prev_stress > 0 ? fmt::format("{:.1f}x", s / prev_stress) : "-", old, ratio, verdict_of(r));
      prev_stress = s;
      std::fflush(stdout);
    }
  }
  fmt::print("goal: a 1e4-event stress history < 30 s, growth ~10x per decade (linear)\n");
}
