#include "checker/lin_partition.hpp"

#include <numeric>

namespace lockstep::checker::lin {

std::vector<Part> whole(const History& h) {
  Part p{h, std::vector<std::size_t>(h.ops.size()), std::vector<std::size_t>(h.observations.size())};
  std::iota(p.ops.begin(), p.ops.end(), 0u);
  std::iota(p.observations.begin(), p.observations.end(), 0u);
  return {std::move(p)};
}

PartsJudgement judge_parts(const History& h, const Partitioner& split, const Options& options) {
  PartsJudgement out;
  const std::vector<Part> parts = split(h);
  for (std::size_t k = 0; k < parts.size(); ++k) {
    out.parts.push_back(judge(parts[k].history, options));
    const Verdict v = out.parts.back().verdict;
    if (v == Verdict::Violation && out.verdict != Verdict::Violation) out.verdict = v, out.deciding = k;
    if (v == Verdict::Unknown && out.verdict == Verdict::Agree) out.verdict = v, out.deciding = k;
  }
  return out;
}

}  // namespace lockstep::checker::lin
