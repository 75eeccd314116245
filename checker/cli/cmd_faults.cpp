// `lockstep faults`: the injected faults (mutants) impl/ can run with, one per line:
//   name  SPEC rule(s) broken  description
// Select them with LOCKSTEP_FAULT=name[,name] (C API default kernel) or KernelConfig::faults.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "commands.hpp"
#include "impl/faults.hpp"

namespace lockstep::cli {

void add_faults(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("faults", "List the injected faults of impl/ (name, SPEC rule broken, description)");
  auto names_only = std::make_shared<bool>(false);
  auto with_tests = std::make_shared<bool>(false);
  cmd->add_flag("--names", *names_only, "Print only the names, one per line");
  cmd->add_flag("--test-only", *with_tests, "Also list the test-only faults (checker robustness probes, not mutants)");
  cmd->callback([&exit_code, names_only, with_tests] {
    std::size_t width = 0;
    for (const auto& f : impl::all_faults()) width = std::max(width, f.name.size());
    for (const auto& f : impl::all_faults()) {
      if (f.test_only && !*with_tests) continue;
      if (*names_only) {
        std::printf("%.*s\n", static_cast<int>(f.name.size()), f.name.data());
      } else {
        std::printf("%-*.*s  %-14.*s  %.*s\n", static_cast<int>(width), static_cast<int>(f.name.size()),
                    f.name.data(), static_cast<int>(f.rule.size()), f.rule.data(),
                    static_cast<int>(f.description.size()), f.description.data());
      }
    }
    exit_code = 0;
  });
}

}  // namespace lockstep::cli
