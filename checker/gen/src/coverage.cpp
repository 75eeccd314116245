#include "checker/coverage.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace lockstep::checker {

using model::Rule;

void Coverage::count(const model::Outcome& o) {
  if (o.kind == model::OutcomeKind::NotRunnable || o.kind == model::OutcomeKind::Dead) return;
  ++by_rule_[static_cast<std::size_t>(o.rule)];
  ++by_label_[{o.rule, o.label}];
}

void Coverage::merge(const Coverage& other) {
  for (std::size_t i = 0; i < model::kRuleCount; ++i) {
    by_rule_[i] += other.by_rule_[i];
    violations_[i] += other.violations_[i];
  }
  for (const auto& [k, n] : other.by_label_) by_label_[k] += n;
}

std::uint64_t Coverage::hits(Rule r, std::string_view label) const {
  auto it = by_label_.find({r, label});
  return it == by_label_.end() ? 0 : it->second;
}

std::vector<std::string> Coverage::reached_labels() const {
  std::vector<std::string> out;
  for (const auto& [k, n] : by_label_)
    if (n > 0) out.push_back(fmt::format("{}:{}", model::rule_name(k.first), k.second));
  std::sort(out.begin(), out.end());
  return out;
}

std::string Coverage::unreached_rules() const {
  std::string out;
  for (std::size_t i = 0; i <= static_cast<std::size_t>(Rule::K9); ++i)
    if (by_rule_[i] == 0) out += fmt::format("{}{}", out.empty() ? "" : " ", model::kRuleNames[i]);
  return out;
}

std::string Coverage::table() const {
  std::string out = fmt::format("{:<6} {:>10}  outcomes reached\n", "rule", "steps");
  for (std::size_t i = 0; i < model::kRuleCount; ++i) {
    const Rule r = static_cast<Rule>(i);
    const bool invariant = r >= Rule::R1;
    if (invariant) continue;
    std::string labels;
    for (auto it = by_label_.lower_bound({r, std::string_view{}}); it != by_label_.end() && it->first.first == r; ++it)
      labels += fmt::format("{}{} {}", labels.empty() ? "" : ", ", it->first.second, it->second);
    out += fmt::format("{:<6} {:>10}  {}\n", model::kRuleNames[i], by_rule_[i], labels.empty() ? "-- NOT REACHED --" : labels);
  }
  std::string inv;
  for (std::size_t i = static_cast<std::size_t>(Rule::R1); i < model::kRuleCount; ++i)
    inv += fmt::format("{}{}:{}", inv.empty() ? "" : "  ", model::kRuleNames[i], violations_[i] == 0 ? "held" : fmt::format("VIOLATED x{}", violations_[i]));
  out += fmt::format("invariants  {}\n", inv);
  return out;
}

}  // namespace lockstep::checker
