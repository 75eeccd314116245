// The linearizability judge (checker/lin) on long histories, as the free-running stress mode will
// record them: 8 host threads (plus kthread bodies, the clock and the reaper) whose operations
// overlap at random, made from a model run of N steps re-cut into intervals that reach up to
// `stretch` steps beyond their instants (tests/checker/lin_histories.hpp). For N = 10^3, 10^4,
// 10^5: the time to judge, the states the search entered, operations judged per second, the
// growth factor of the time per 10x more operations (10 = linear), and memory (the cache's
// estimate and the process's peak RSS). Goals: 10^4 operations in < 1 s, 10^5 in < 10 s, memory
// linear. Figures only; nothing here is a test.
//   lin_bench [--stretch S] [--max N] [--observe-every K]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "checker/lin_judge.hpp"
#include "lin_histories.hpp"

using namespace lockstep::checker;
using Clock = std::chrono::steady_clock;

namespace {

long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t stretch = 6, max_n = 100000, observe_every = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--stretch")) stretch = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--max")) max_n = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--observe-every")) observe_every = std::strtoull(argv[i + 1], nullptr, 10);
  }
  std::printf("lin_bench: histories of N operations from 8 host threads (+ kthreads, clock, reaper), intervals\n"
              "reaching up to %zu steps beyond their instants; maxproc 12, PID_MAX 12 as conformance runs use;\n"
              "%s\n\n",
              stretch, observe_every ? ("an observation every " + std::to_string(observe_every) + " steps").c_str() : "no observations");
  std::printf("%8s %8s %10s %10s %9s %10s %11s %8s %8s %10s %9s %7s\n", "N", "ops", "verdict", "judge s", "states", "pruned",
              "ops/s", "overlap", "growth", "cache KiB", "RSS KiB", "cache");
  double prev = 0;
  for (std::size_t n = 1000; n <= max_n; n *= 10) {
    lin::testing::GenConfig g;
    g.seed = 20240601 + n;
    g.steps = n;
    g.hosts = 8;
    g.stretch = stretch;
    g.observe_every = observe_every;
    const lin::testing::Generated gen = lin::testing::generate(g);
    const lin::History& h = gen.history;
    // How many other operations an operation overlaps, on average (the search's width).
    double overlap = 0;
    {
      std::vector<std::pair<std::size_t, int>> ev;
      for (const lin::Operation& o : h.ops) ev.push_back({o.call, +1}), ev.push_back({o.ret.value_or(~std::size_t{0} / 2), -1});
      std::sort(ev.begin(), ev.end(), [](auto a, auto b) { return a.first != b.first ? a.first < b.first : a.second > b.second; });
      long open = 0;
      for (auto [at, d] : ev) {
        if (d > 0) overlap += static_cast<double>(open);
        open += d;
      }
      overlap = 2 * overlap / static_cast<double>(h.ops.size());
    }
    lin::Options o;
    o.budget.max_seconds = 120;
    const auto t0 = Clock::now();
    const lin::Judgement j = lin::judge(h, o);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    const std::string growth = prev > 0 ? std::to_string(s / prev).substr(0, 5) : "-";
    std::printf("%8zu %8zu %10s %10.3f %9llu %10llu %11.0f %8.1f %8s %10zu %9ld %7s\n", n, h.ops.size(),
                std::string(lin::to_string(j.verdict)).c_str(), s, static_cast<unsigned long long>(j.stats.states),
                static_cast<unsigned long long>(j.stats.pruned), static_cast<double>(h.ops.size()) / s, overlap, growth.c_str(),
                j.stats.cache_bytes / 1024, peak_rss_kib(), j.stats.exact_cache ? "exact" : "fp128");
    if (j.verdict != lin::Verdict::Agree) std::printf("  %s\n", lin::summary(h, j).c_str());
    std::fflush(stdout);
    prev = s;
  }
  std::printf("\ngrowth = judge time / judge time at N/10 (10 = linear); overlap = operations an operation's\n"
              "interval overlaps, on average. Goals: 10^4 ops < 1 s, 10^5 ops < 10 s, memory linear.\n");
  return 0;
}
