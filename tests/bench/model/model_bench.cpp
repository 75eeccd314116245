// Model throughput: steps/s of Model::apply with the invariants off and on, over
// programs recorded once by the op chooser and replayed on fresh models (so the
// figure is the model's, not the chooser's). Baseline, measured in the same run:
// a bare std::visit over the same ops, i.e. the cost of walking the program.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "checker/op_chooser.hpp"
#include "checker/random_source.hpp"
#include "model/invariant_monitor.hpp"
#include "model/invariants.hpp"
#include "model/model.hpp"

using namespace lockstep;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::vector<model::Op>> record(std::uint64_t programs, std::uint32_t steps) {
  std::vector<std::vector<model::Op>> out;
  checker::SplitMix src(42);
  checker::ChooserConfig cc;
  for (std::uint64_t p = 0; p < programs; ++p) {
    model::Model m(model::Config{12, true});
    std::vector<model::Op> prog;
    for (std::uint32_t i = 0; i < steps; ++i) {
      model::Op op = checker::choose_op(m.state(), cc, src);
      const bool fatal = m.apply(op).outcome.is_fatal();
      prog.push_back(std::move(op));
      if (fatal) break;
    }
    out.push_back(std::move(prog));
  }
  return out;
}

template <class F>
double best_rate(std::uint64_t steps, F run) {
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = Clock::now();
    run();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, static_cast<double>(steps) / s);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t programs = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10000;
  const auto progs = record(programs, 200);
  std::uint64_t steps = 0;
  for (const auto& p : progs) steps += p.size();

  volatile std::size_t sink = 0;
  const double baseline = best_rate(steps, [&] {
    for (const auto& p : progs)
      for (const auto& op : p) sink = sink + std::visit([](const auto& o) { return sizeof(o); }, op.body);
  });
  const double off = best_rate(steps, [&] {
    for (const auto& p : progs) {
      model::Model m(model::Config{12, true});
      for (const auto& op : p) sink = sink + m.apply(op).completions.size();
    }
  });
  std::uint64_t violations = 0;
  const double on = best_rate(steps, [&] {
    for (const auto& p : progs) {
      model::Model m(model::Config{12, true});
      for (const auto& op : p) {
        const model::State before = m.state();
        const model::StepResult r = m.apply(op);
        violations += model::check_step(before, op, r, m.state()).size() + model::check_state(m.state()).size();
      }
    }
  });
  // The incremental checks (InvariantMonitor): what each step touched, a full check every 64 steps
  // and at the end of every program, as a lockstep run uses them.
  const double incremental = best_rate(steps, [&] {
    for (const auto& p : progs) {
      model::Model m(model::Config{12, true});
      model::InvariantMonitor mon;
      violations += mon.full(m.state()).size();
      model::Footprint fp;
      for (const auto& op : p) {
        const model::StepResult r = m.apply(op, {}, &fp);
        violations += mon.step(op, r, fp, m.state()).size();
      }
      violations += mon.full(m.state()).size();
    }
  });
  std::printf("model_bench: %llu programs, %llu steps, one core\n", static_cast<unsigned long long>(progs.size()),
              static_cast<unsigned long long>(steps));
  std::printf("  baseline (walk the ops)    %12.0f steps/s\n", baseline);
  std::printf("  model, invariants off      %12.0f steps/s   (%.3f of baseline)   goal >= 2000000: %s\n", off,
              off / baseline, off >= 2e6 ? "met" : "NOT MET");
  std::printf("  model, invariants on (full) %11.0f steps/s   (%.3f of invariants off)\n", on, on / off);
  std::printf("  model, invariants incremental %9.0f steps/s   (%.3f of invariants off, %.1fx the full checks)   goal >= 2000000: %s\n",
              incremental, incremental / off, incremental / on, incremental >= 2e6 ? "met" : "NOT MET");
  std::printf("  invariant violations       %llu\n", static_cast<unsigned long long>(violations));
  return violations == 0 ? 0 : 1;
}
