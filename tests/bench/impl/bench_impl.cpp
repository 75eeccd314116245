// bench_impl: throughput of impl/ kernel operations, real backend vs controlled backend.
//
// Prints ops/s (one "op" = one full cycle) for
//   rfork+release               rfork(0) then releaselwp (the process is created and freed)
//   newlwp+switch+release       newlwp(1), switch(NULL), switch(l), releaselwp
// on 1 and 2 host threads, with
//   real                        std primitives, threads run freely
//   controlled                  scheduler backend; each host is a registered thread run by the control
//                               thread until it finishes (coarse: no preemption between critical sections)
//   controlled+preempt          scheduler backend with a preemption point at every outermost lock; the
//                               control thread round-robins the hosts (every critical section is a
//                               scheduling decision: the checker's finest interleaving)
// and the ratio of each controlled figure to the real one measured in the same run.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "impl/controlled.hpp"
#include "impl/kernel.hpp"

using namespace lockstep::impl;
using Clock = std::chrono::steady_clock;

namespace {

using Cycle = std::function<void(Kernel&, HostContext&)>;

void rfork_release(Kernel& k, HostContext& h) {
  if (k.rfork(h, 0) != 0) std::abort();
  k.releaselwp(h);
}

void newlwp_switch_release(Kernel& k, HostContext& h) {
  if (k.newlwp(h, 1) != 0) std::abort();
  ::lwp* l = k.curlwp(h);
  k.switch_lwp(h, nullptr);
  k.switch_lwp(h, l);
  k.releaselwp(h);
}

enum class Mode { real, controlled, controlled_preempt };

// Total cycles per second over `hosts` host threads, each doing `n` cycles.
double measure(Mode mode, int hosts, long n, const Cycle& cycle) {
  std::shared_ptr<sync::ControlledBackend> cb;
  KernelConfig cfg;
  if (mode != Mode::real) {
    cb = std::make_shared<sync::ControlledBackend>(
        sync::ControlledBackend::Options{.preempt_at_locks = mode == Mode::controlled_preempt,
                                         .watchdog = std::chrono::milliseconds(60000)});
    cfg.backend = cb;
  }
  Kernel k(cfg);
  std::vector<std::unique_ptr<HostContext>> hs;
  for (int i = 0; i < hosts; ++i) hs.push_back(std::make_unique<HostContext>(k, "H" + std::to_string(i)));
  const auto t0 = Clock::now();
  if (mode == Mode::real) {
    std::vector<std::thread> ts;
    for (int i = 0; i < hosts; ++i)
      ts.emplace_back([&, i] {
        for (long j = 0; j < n; ++j) cycle(k, *hs[i]);
      });
    for (auto& t : ts) t.join();
  } else {
    std::vector<std::unique_ptr<sync::ThreadImpl>> ts;
    for (int i = 0; i < hosts; ++i)
      ts.push_back(cb->spawn("H" + std::to_string(i), [&, i] {
        for (long j = 0; j < n; ++j) cycle(k, *hs[i]);
      }));
    // Round-robin over the runnable hosts until all have finished.
    for (;;) {
      const auto ids = cb->runnable();
      if (ids.empty()) break;
      for (auto id : ids) cb->run(id);
    }
    for (auto& t : ts) t->join();
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  hs.clear();
  return static_cast<double>(n) * hosts / secs;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 200000;  // cycles per host thread
  struct Row {
    const char* name;
    Cycle cycle;
  } rows[] = {{"rfork+release", rfork_release}, {"newlwp+switch+release", newlwp_switch_release}};
  std::printf("bench_impl: %ld cycles per host thread; ops/s = cycles/s summed over host threads\n", n);
  std::printf("%-22s %5s %14s %14s %8s %20s %8s\n", "cycle", "hosts", "real", "controlled", "ratio",
              "controlled+preempt", "ratio");
  for (const auto& r : rows) {
    for (int hosts : {1, 2}) {
      const double real = measure(Mode::real, hosts, n, r.cycle);
      const double ctl = measure(Mode::controlled, hosts, n, r.cycle);
      const double pre = measure(Mode::controlled_preempt, hosts, n / 10, r.cycle);
      std::printf("%-22s %5d %14.0f %14.0f %8.3f %20.0f %8.4f\n", r.name, hosts, real, ctl, ctl / real, pre,
                  pre / real);
      std::fflush(stdout);
    }
  }
  return 0;
}
