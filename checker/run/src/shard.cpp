#include "checker/shard.hpp"

#include <charconv>
#include <fstream>

#include <fmt/format.h>

namespace lockstep::checker {

namespace {

std::optional<std::uint64_t> number(std::string_view s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<Shard> checked(std::optional<std::uint64_t> index, std::optional<std::uint64_t> total, const std::string& what,
                             std::string* error) {
  if (!index || !total) {
    *error = fmt::format("{}: expected two non-negative integers", what);
    return std::nullopt;
  }
  if (*total == 0) {
    *error = fmt::format("{}: the shard count must be at least 1", what);
    return std::nullopt;
  }
  if (*index >= *total) {
    *error = fmt::format("{}: shard index {} is not below the shard count {} (indices are 0-based)", what, *index, *total);
    return std::nullopt;
  }
  return Shard{*index, *total};
}

}  // namespace

std::optional<Shard> parse_shard(std::string_view spec, std::string* error) {
  const auto slash = spec.find('/');
  if (slash == std::string_view::npos) {
    *error = fmt::format("'{}': expected I/N (shard I of N, 0-based), e.g. 0/4", spec);
    return std::nullopt;
  }
  return checked(number(spec.substr(0, slash)), number(spec.substr(slash + 1)), fmt::format("'{}'", spec), error);
}

std::optional<Shard> shard_from_environment(std::string* error, Getenv getenv) {
  for (const char* prefix : {"GTEST_", "TEST_"}) {
    const std::string total_var = fmt::format("{}TOTAL_SHARDS", prefix);
    const std::string index_var = fmt::format("{}SHARD_INDEX", prefix);
    const char* total = getenv(total_var.c_str());
    const char* index = getenv(index_var.c_str());
    if (total == nullptr && index == nullptr) continue;
    if (total == nullptr || index == nullptr) {
      *error = fmt::format("{} is set but {} is not", total ? total_var : index_var, total ? index_var : total_var);
      return std::nullopt;
    }
    auto shard = checked(number(index), number(total), fmt::format("{}={} {}={}", index_var, index, total_var, total), error);
    if (!shard) return std::nullopt;
    const std::string status_var = fmt::format("{}SHARD_STATUS_FILE", prefix);
    if (const char* status = getenv(status_var.c_str()); status != nullptr && *status != '\0') {
      std::ofstream touch(status, std::ios::app);
      if (!touch) {
        *error = fmt::format("{}={}: cannot create the shard status file", status_var, status);
        return std::nullopt;
      }
    }
    return shard;
  }
  return Shard{};
}

}  // namespace lockstep::checker
