// Sharding: one campaign split across CI jobs by stride. Shard I of N runs program i (or fault i of
// `lockstep mutants`) exactly when i mod N == I. Program i's seed is a hash of (base seed, i), never a
// draw from a per-shard stream, so any shard count runs the same programs, and `lockstep run --seed S
// --program I` reproduces program I of any sharded run on any machine.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lockstep::checker {

struct Shard {
  std::uint64_t index = 0;
  std::uint64_t total = 1;
  bool includes(std::uint64_t i) const { return i % total == index; }
  bool sharded() const { return total > 1; }
  friend bool operator==(const Shard&, const Shard&) = default;
};

// "I/N" with 0 <= I < N. nullopt with *error saying why otherwise.
std::optional<Shard> parse_shard(std::string_view spec, std::string* error);

// The shard a test runner asks for through the environment: GoogleTest's GTEST_TOTAL_SHARDS and
// GTEST_SHARD_INDEX, else Bazel's TEST_TOTAL_SHARDS and TEST_SHARD_INDEX. Neither set: Shard{}. A
// malformed value, only one of a pair, or an index >= total: nullopt with *error. When sharding is
// asked for, the runner's status file (GTEST_SHARD_STATUS_FILE / TEST_SHARD_STATUS_FILE), if named,
// is created to say that this program shards; *error says so if it cannot be.
// `getenv` is a parameter so that tests can supply an environment.
using Getenv = const char* (*)(const char*);
std::optional<Shard> shard_from_environment(std::string* error, Getenv getenv);

}  // namespace lockstep::checker
