// Counts which SPEC rule ids and which outcomes (ok, each errno, BLOCKED, each
// FATAL) a run reached, and renders the coverage table.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "model/outcome.hpp"
#include "model/rules.hpp"

namespace lockstep::checker {

class Coverage {
 public:
  void count(const model::Outcome& o);
  void count_violation(model::Rule r) { ++violations_[static_cast<std::size_t>(r)]; }
  void merge(const Coverage& other);

  std::uint64_t hits(model::Rule r) const { return by_rule_[static_cast<std::size_t>(r)]; }
  std::uint64_t hits(model::Rule r, std::string_view label) const;
  // Every rule:label pair reached ("K3:EWOULDBLOCK", "L3:FATAL(L3-stale)"), sorted: a set to compare.
  std::vector<std::string> reached_labels() const;
  // The SPEC operation rules (P0-K9) that no step reached.
  std::string unreached_rules() const;
  // One row per rule: the outcome labels reached and how often.
  std::string table() const;

 private:
  std::array<std::uint64_t, model::kRuleCount> by_rule_{};
  std::array<std::uint64_t, model::kRuleCount> violations_{};
  std::map<std::pair<model::Rule, std::string_view>, std::uint64_t> by_label_;
};

}  // namespace lockstep::checker
