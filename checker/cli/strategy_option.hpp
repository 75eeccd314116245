// `--strategy S` for `run` and `mutants`: how threads interleave (checker/schedule_policy.hpp).
#pragma once
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "checker/strategy.hpp"

namespace lockstep::cli {

// Adds --strategy, writing into `strategy` (which also gives the default shown in --help). A bad
// name or depth is a one-line usage error (exit 2). `owner` keeps `strategy` alive as long as the
// option's callback can run.
template <class Owner>
void add_strategy_option(CLI::App* cmd, std::shared_ptr<Owner> owner, checker::Strategy& strategy) {
  cmd->add_option_function<std::string>(
         "--strategy", [owner, &strategy](const std::string& v) { strategy = *checker::parse_strategy(v); },
         "How threads interleave: op (only at operation boundaries), random, pct:D, pos, gap, lead, portfolio (rotates "
         "random, pos, lead, pct:2, pct:3, lead, gap across programs); all but op preempt inside operations")
      ->check([](const std::string& v) {
        std::string error;
        return checker::parse_strategy(v, &error) ? std::string() : error;
      })
      ->default_str(checker::to_string(strategy));
}

}  // namespace lockstep::cli
