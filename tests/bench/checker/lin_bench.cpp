// The linearizability judge (checker/lin) on long histories, as the free-running stress mode will
// record them: 8 host threads (plus kthread bodies, the clock and the reaper) whose operations
// overlap at random, made from a model run of N steps re-cut into intervals that reach up to
// `stretch` steps beyond their instants (tests/checker/lin_histories.hpp). For N = 10^3, 10^4,
// 10^5: the time to judge, the states the search entered, operations judged per second, the
// growth factor of the time per 10x more operations (10 = linear), and memory (the cache's
// estimate, and the peak resident memory the judge added on top of the history). Goals: 10^4
// operations in < 1 s, 10^5 in < 10 s, memory linear. Then the other side: the same histories with
// one answer corrupted halfway (a write or getpid answer no order produces), where the judge must
// show that no order of the whole prefix explains it (within a 30 s budget, else `unknown`).
// Figures only; nothing here is a test.
//   lin_bench [--stretch S] [--max N] [--observe-every K] [--max-violation N] [--no-lids]
// (--no-lids: the histories do not record the lids of created lwps, Operation::created_lids.)
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

// Resident and peak resident memory (VmRSS, VmHWM) in KiB; the peak can be reset (Linux >= 4.0).
long status_kib(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long v = -1;
  while (std::fgets(line, sizeof line, f))
    if (!std::strncmp(line, field, std::strlen(field))) v = std::strtol(line + std::strlen(field), nullptr, 10);
  std::fclose(f);
  return v;
}
void reset_peak() {
  if (std::FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}

bool record_lids = true;

lin::testing::GenConfig config(std::size_t n, std::size_t stretch, std::size_t observe_every) {
  lin::testing::GenConfig g;
  g.seed = 20240601 + n;
  g.steps = n;
  g.hosts = 8;
  g.stretch = stretch;
  g.observe_every = observe_every;
  g.record_lids = record_lids;
  return g;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t stretch = 6, max_n = 100000, observe_every = 0, max_violation = 10000;
  for (int i = 1; i < argc; ++i) {
    const bool value = i + 1 < argc;
    if (!std::strcmp(argv[i], "--no-lids")) record_lids = false;
    else if (value && !std::strcmp(argv[i], "--stretch")) stretch = std::strtoull(argv[++i], nullptr, 10);
    else if (value && !std::strcmp(argv[i], "--max")) max_n = std::strtoull(argv[++i], nullptr, 10);
    else if (value && !std::strcmp(argv[i], "--observe-every")) observe_every = std::strtoull(argv[++i], nullptr, 10);
    else if (value && !std::strcmp(argv[i], "--max-violation")) max_violation = std::strtoull(argv[++i], nullptr, 10);
  }
  std::printf("lin_bench: histories of N operations from 8 host threads (+ kthreads, clock, reaper), intervals\n"
              "reaching up to %zu steps beyond their instants; maxproc 12, PID_MAX 12;\n"
              "%s; %s\n\n",
              stretch, observe_every ? ("an observation every " + std::to_string(observe_every) + " steps").c_str() : "no observations",
              record_lids ? "created lwps' lids recorded" : "lids not recorded");
  std::printf("%8s %8s %10s %10s %9s %10s %11s %8s %8s %10s %10s %7s\n", "N", "ops", "verdict", "judge s", "states", "pruned",
              "ops/s", "overlap", "growth", "cache KiB", "judge KiB", "cache");
  double prev = 0;
  for (std::size_t n = 1000; n <= max_n; n *= 10) {
    const lin::testing::Generated gen = lin::testing::generate(config(n, stretch, observe_every));
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
    const long resident = status_kib("VmRSS:");
    reset_peak();
    const auto t0 = Clock::now();
    const lin::Judgement j = lin::judge(h, o);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    const long judge_kib = status_kib("VmHWM:") - resident;
    const std::string growth = prev > 0 ? std::to_string(s / prev).substr(0, 5) : "-";
    std::printf("%8zu %8zu %10s %10.3f %9llu %10llu %11.0f %8.1f %8s %10zu %10ld %7s\n", n, h.ops.size(),
                std::string(lin::to_string(j.verdict)).c_str(), s, static_cast<unsigned long long>(j.stats.states),
                static_cast<unsigned long long>(j.stats.pruned), static_cast<double>(h.ops.size()) / s, overlap, growth.c_str(),
                j.stats.cache_bytes / 1024, judge_kib, j.stats.exact_cache ? "exact" : "fp128");
    if (j.verdict != lin::Verdict::Agree) std::printf("  %s\n", lin::summary(h, j).c_str());
    std::fflush(stdout);
    prev = s;
  }
  std::printf("\ngrowth = judge time / judge time at N/10 (10 = linear); overlap = operations an operation's\n"
              "interval overlaps, on average; judge KiB = peak resident memory during the judgement minus the\n"
              "resident memory before it. Goals: 10^4 ops < 1 s, 10^5 ops < 10 s, memory linear.\n\n");

  std::printf("One answer corrupted halfway (budget 30 s):\n%8s %10s %10s %10s %10s %10s  %s\n", "N", "corrupted", "verdict", "judge s",
              "states", "steps", "reported");
  for (std::size_t n = 1000; n <= max_violation; n *= 10) {
    for (std::size_t k = 0; k < (n > 1000 ? 1u : 3u); ++k) {  // the whole bench stays under a minute
      lin::testing::Generated gen = lin::testing::generate(config(n, stretch, observe_every));
      lin::History& h = gen.history;
      const auto at = lin::testing::corrupt(h, h.ops.size() / 2 + 17 * k);
      if (!at) continue;
      lin::Options o;
      o.budget.max_seconds = 30;
      const auto t0 = Clock::now();
      const lin::Judgement j = lin::judge(h, o);
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      std::printf("%8zu %10zu %10s %10.3f %10llu %10llu  %s\n", n, *at, std::string(lin::to_string(j.verdict)).c_str(), s,
                  static_cast<unsigned long long>(j.stats.states), static_cast<unsigned long long>(j.stats.steps),
                  j.culprit ? ("op " + std::to_string(*j.culprit) + (j.culprit == at ? " (the corrupted one)" : "")).c_str() : "-");
      std::fflush(stdout);
    }
  }
  std::printf("\nA violation is proven by showing that no order of the prefix before it explains it: the cost\n"
              "grows with the prefix and with the overlap (LIN.md, \"Cost\"). An `unknown` still names the\n"
              "furthest point reached and what failed there.\n");
  return 0;
}
