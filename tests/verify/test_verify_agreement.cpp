// The two judges agree: over 10^4 random model-only traces, most faithful and some corrupted on
// purpose at their last event (a mutated observed state, or a mutated outcome), the set of
// invariants Z3 reports violated equals the set the model's own checks (check_state/check_step)
// report on the same states.
#include <gtest/gtest.h>

#include "model_traces.hpp"

using namespace lockstep;
using namespace lockstep::checker;
using namespace lockstep::test_traces;
using model::Rule;

// 10^4 traces in four shards of 2500, so that ctest can run them side by side.
class VerifyAgreement : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(VerifyAgreement, Z3AndTheModelJudgeEveryInvariantAlike) {
  const std::uint64_t shard = 2500, first = GetParam() * shard + 1;
  std::size_t violating = 0, corrupted = 0;
  for (std::uint64_t seed = first; seed < first + shard; ++seed) {
    const bool corrupt = seed % 4 == 0;
    Case c = make_case(seed, 8 + seed % 25, corrupt);
    corrupted += c.what.empty() ? 0 : 1;
    const VerifyReport v = verify(c.trace, VerifyOptions{.explain = false});
    const std::set<Rule> z3 = z3_verdict(v);
    violating += z3.empty() ? 0 : 1;
    ASSERT_EQ(z3, c.model_verdict) << "seed " << seed << " (" << c.what << "): Z3 says " << names(z3) << ", the model says "
                                   << names(c.model_verdict) << "\n"
                                   << render(v);
  }
  // The shard really contained invalid traces, and Z3 found them.
  EXPECT_GT(corrupted, shard / 8);
  EXPECT_GT(violating, shard / 10);
}

INSTANTIATE_TEST_SUITE_P(TenThousandTraces, VerifyAgreement, ::testing::Values(0u, 1u, 2u, 3u));
