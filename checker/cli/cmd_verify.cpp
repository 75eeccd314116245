// `lockstep verify FILE...`: Z3 judges SPEC §6 (R1-R6, S1-S6) on each recorded trace, independently
// of the model (checker/verify/VERIFY.md). Exit 0 when every invariant holds on every trace, 1 when one is
// violated (the report names the event and the events that force it), 2 on bad input.
// A partial-order history (header "order": "partial", or any trace with --partial-order) is judged
// in every order its happens-before graph allows; --out writes a violating order as a trace; exit 3
// when Z3 ran out of --timeout or --rlimit before settling every invariant (and found no violation). An
// internal error (a bug of lockstep's own) exits 4 from main.
#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>

#include "checker/trace_io.hpp"
#include "checker/trace_reorder.hpp"
#include "checker/verify.hpp"
#include "checker/verify_partial.hpp"
#include "commands.hpp"

namespace lockstep::cli {

using namespace lockstep::checker;

namespace {

struct VerifyCli {
  std::vector<std::string> files;
  std::size_t window = VerifyOptions{}.window;
  bool no_explain = false, partial = false;
  std::string out;
  double timeout_s = 300, budget_s = 0;
  unsigned rlimit = 0;
  std::size_t search_window = PartialOrderOptions{}.search_window;
};

// The sequential judge on the witness order: the same invariant, found step by step.
std::string confirm(const Trace& witness) {
  try {
    return render(verify(to_vtrace(witness.header, witness.events), VerifyOptions{.explain = false}));
  } catch (const std::invalid_argument& e) {
    return fmt::format("the sequential judge finds this order self-contradicting: {}\n", e.what());
  }
}

int judge_partial(const VerifyCli& o, const std::string& file, const Trace& tr) {
  // Z3 takes whole milliseconds in an unsigned: a positive timeout is at least 1 ms, a huge one "none".
  const double ms = std::ceil(o.timeout_s * 1000);
  const unsigned timeout_ms = ms <= 0 || ms >= std::numeric_limits<unsigned>::max() ? 0u : static_cast<unsigned>(ms);
  const double budget_ms = std::ceil(o.budget_s * 1000);
  const unsigned budget = budget_ms <= 0 || budget_ms >= std::numeric_limits<unsigned>::max() ? 0u : static_cast<unsigned>(budget_ms);
  const PartialOrderReport rep = verify_partial_order(
      to_vtrace(tr.header, tr.events),
      PartialOrderOptions{.timeout_ms = timeout_ms, .rlimit = o.rlimit, .search_window = o.search_window, .budget_ms = budget});
  std::string text = fmt::format("== {} (partial order)\n{}", file, render(rep));
  for (const PartialOrderVerdict& v : rep.verdicts) {
    if (v.holds) continue;
    text += fmt::format("{}'s order (steps):", model::rule_name(v.rule));
    for (std::size_t i : v.order) text += fmt::format(" {}", tr.events[i].step);
    text += "\n";
  }
  if (!rep.any_violated() && !rep.all_hold())
    text += "to settle the UNDECIDED ones: a larger --timeout, --rlimit or --budget, or more `after` edges (fewer orders to search)\n";
  std::fputs(text.c_str(), stdout);
  if (!rep.any_violated()) return rep.all_hold() ? 0 : 3;
  if (o.out.empty()) return 1;
  const PartialOrderVerdict& first = *std::find_if(rep.verdicts.begin(), rep.verdicts.end(), [](const auto& v) { return !v.holds; });
  Trace witness = reorder_trace(tr, first.order);
  // The rule/label classifications were the recorded order's (like its digests): without them a
  // replay compares what each call returned, and stops where this order contradicts the history.
  for (TraceEvent& e : witness.events) {
    e.outcome.rule.reset();
    e.outcome.label.reset();
    for (TraceCompletion& c : e.woke) {
      c.outcome.rule.reset();
      c.outcome.label.reset();
    }
  }
  witness.header.rules = {std::string(model::rule_name(first.rule))};
  if (const std::string err = write_trace(o.out, witness.header, witness.events); !err.empty()) {
    std::fprintf(stderr, "lockstep: %s\n", err.c_str());
    return 2;
  }
  std::fputs(fmt::format("wrote {}: the events in {}'s order ({} events, total order; `lockstep replay {}` runs it).\n"
                         "the sequential judge on it:\n{}",
                         o.out, model::rule_name(first.rule), witness.events.size(), o.out, confirm(witness))
                 .c_str(),
             stdout);
  return 1;
}

}  // namespace

void add_verify(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("verify", "Prove with Z3 that SPEC §6's invariants hold on recorded traces; exit 0 when they all do, 1 on a violation, 2 on bad input, 3 undecided (partial order, --timeout/--rlimit), 4 internal error");
  auto o = std::make_shared<VerifyCli>();
  cmd->add_option("FILE", o->files, "Traces (traces/FORMAT.md)")->required();
  cmd->add_option("--window", o->window, "Events per incremental solver window")->check(CLI::PositiveNumber);
  cmd->add_flag("--no-explain", o->no_explain, "Do not compute unsat cores for violations");
  cmd->add_flag("--partial-order", o->partial,
                "Judge every order the trace's happens-before graph allows (program order, wake-ups, creation before use, `after` edges), "
                "not only the file's order; implied by a trace whose header says \"order\": \"partial\"");
  cmd->add_option("--timeout", o->timeout_s, "Partial order: seconds per Z3 check before the invariants still open are UNDECIDED (exit 3); 0 = no limit")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--rlimit", o->rlimit,
                  "Partial order: Z3 resource units per check before the invariants still open are UNDECIDED (exit 3); 0 = no limit. "
                  "Unlike --timeout, the verdict is the same on every machine")
      ->capture_default_str();
  cmd->add_option("--budget", o->budget_s, "Partial order: seconds for the whole judgement, however many windows it is cut into; past it the invariants still open are UNDECIDED (exit 3); 0 = no limit")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--search-window", o->search_window,
                  "Partial order: events per window of the first, local search for races (the rest pinned in file order); 0 = search every order at once only")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "With one FILE judged in partial order: write the first violating order found as a trace (atomically)");
  cmd->callback([o, &exit_code] {
    if (!o->out.empty() && o->files.size() != 1) throw CLI::ValidationError("--out", "takes exactly one FILE");
    int worst = 0;
    for (const std::string& file : o->files) {
      Trace tr;
      try {
        tr = read_trace(file);
      } catch (const TraceFormatError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        worst = 2;
        continue;
      }
      int verdict = 0;
      try {
        if (o->partial || tr.header.partial_order) {
          verdict = judge_partial(*o, file, tr);
        } else {
          if (!o->out.empty()) throw std::invalid_argument("--out needs a partial-order judgement (--partial-order)");
          const VerifyReport rep = verify(to_vtrace(tr.header, tr.events), VerifyOptions{.window = o->window, .explain = !o->no_explain});
          std::fputs(fmt::format("== {}\n{}", file, render(rep)).c_str(), stdout);
          verdict = rep.all_hold() ? 0 : 1;
        }
      } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "%s: %s\n", file.c_str(), e.what());
        verdict = 2;
      }
      // Precedence: bad input, then a violation, then undecided, then all hold.
      auto rank = [](int v) { return v == 2 ? 3 : v == 1 ? 2 : v == 3 ? 1 : 0; };
      if (rank(verdict) > rank(worst)) worst = verdict;
    }
    exit_code = worst;
  });
}

}  // namespace lockstep::cli
