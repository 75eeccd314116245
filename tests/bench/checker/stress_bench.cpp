// Free-running stress (checker/stress), measured:
//  1. The recorder's cost: calls/s of the same run with recording on and off, delays off (what the
//     lanes, clock reads and lock stamps cost) and on (what a default run pays), in one process.
//  2. The judge on recorded histories of 10^4 and 10^5 calls (and 5 000, the size at which Porcupine
//     ran out of memory on some models, its issue #3), from 4 and 8 host threads: seconds, states,
//     the growth factor of the time per 10x more calls (10 = linear), the cache's memory, verdicts.
//     Real runs differ from one another, so each size is recorded and judged `runs` times.
// Figures only; nothing here is a test.
//   stress_bench [--runs R] [--max N] [--budget S]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "checker/stress.hpp"
#include "checker/stress_verdict.hpp"

using namespace lockstep::checker;
using namespace lockstep::checker::stress;

namespace {

double calls_per_second(const StressRecording& r) {
  return r.stats.seconds > 0 ? static_cast<double>(r.stats.host_ops + r.stats.kthread_ops) / r.stats.seconds : 0;
}

void overhead(int threads) {
  std::printf("recording overhead (%d host threads, 2 s each, barriers every 10 ms when recording)\n", threads);
  std::printf("  %-14s %14s %14s %8s\n", "delays", "off calls/s", "on calls/s", "ratio");
  for (double p : {0.0, 0.05}) {
    StressConfig c;
    c.threads = threads;
    c.duration = 2;
    c.ops = 0;
    c.delay_probability = p;
    c.spurious_probability = p > 0 ? 0.02 : 0;
    c.record = false;
    const double off = calls_per_second(record_stress(c));
    c.record = true;
    const double on = calls_per_second(record_stress(c));
    std::printf("  %-14s %14.0f %14.0f %8.2f\n", p > 0 ? "p=0.05" : "off", off, on, off > 0 ? on / off : 0);
  }
}

void judge_sizes(int threads, int runs, std::uint64_t max, double budget) {
  std::printf("judge on recorded histories (%d host threads, 2 kthreads, delays p=0.05, budget %.0f s)\n", threads, budget);
  std::printf("  %8s %4s %10s %10s %10s %8s %10s  %s\n", "calls", "run", "record s", "judge s", "states", "growth", "cache KiB", "verdict");
  double prev_mean = 0;
  std::uint64_t prev_n = 0;
  for (std::uint64_t n : {std::uint64_t{5000}, std::uint64_t{10000}, std::uint64_t{100000}}) {
    if (n > max) break;
    double sum = 0;
    int decided = 0;
    for (int r = 0; r < runs; ++r) {
      StressConfig c;
      c.threads = threads;
      c.duration = 60;
      c.ops = n;
      c.seed = static_cast<std::uint64_t>(r + 1);
      const StressRecording rec = record_stress(c);
      VerdictOptions vo;
      vo.budget.max_seconds = budget;
      vo.shrink = false;
      const StressVerdict v = judge_stress(rec, vo);
      const auto& st = v.judgement.stats;
      sum += st.seconds;
      decided += v.kind == StressVerdictKind::Unknown ? 0 : 1;
      std::printf("  %8zu %4d %10.2f %10.2f %10llu %8s %10zu  %s\n", rec.history.ops.size(), r + 1, rec.stats.seconds, st.seconds,
                  static_cast<unsigned long long>(st.states), "", st.cache_bytes / 1024, std::string(to_string(v.kind)).c_str());
      std::fflush(stdout);
    }
    const double mean = sum / runs;
    std::string growth = "-";
    if (prev_n && prev_mean > 0) growth = std::to_string(mean / prev_mean).substr(0, 5) + " per " + std::to_string(n / prev_n) + "x";
    std::printf("  %8llu mean %.2f s judged (%d of %d decided within the budget); growth %s\n", static_cast<unsigned long long>(n), mean,
                decided, runs, growth.c_str());
    prev_mean = mean;
    prev_n = n;
  }
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 3;
  std::uint64_t max = 100000;
  double budget = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--max")) max = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--budget")) budget = std::atof(argv[i + 1]);
  }
  overhead(4);
  for (int threads : {4, 8}) judge_sizes(threads, runs, max, budget);
  return 0;
}
