// `--shard I/N` and the test runners' sharding environment, for `run` and `mutants`.
#pragma once
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

#include "checker/shard.hpp"

namespace lockstep::cli {

// The shard to run: `--shard` when given, else what GTEST_* / TEST_* sharding variables ask for,
// else the whole run. Bad input throws CLI::ValidationError (exit 2, one line).
inline checker::Shard resolve_shard(const std::string& flag) {
  std::string error;
  if (!flag.empty()) {
    auto s = checker::parse_shard(flag, &error);
    if (!s) throw CLI::ValidationError("--shard", error);
    return *s;
  }
  auto s = checker::shard_from_environment(&error, [](const char* name) -> const char* { return std::getenv(name); });
  if (!s) throw CLI::ValidationError("sharding environment", error);
  return *s;
}

}  // namespace lockstep::cli
