// Programs as data: the text form round-trips, bad text is refused with a column.
#include <gtest/gtest.h>

#include "checker/program.hpp"

using namespace lockstep::checker;

TEST(ProgramText, RoundTripsThroughEncodeAndDecode) {
  SplitMix src(3);
  const Program p = random_program(src, 25);
  Program back;
  std::string error;
  ASSERT_TRUE(decode(encode(p), back, error)) << error;
  // Trailing zero choices are dropped by encode; they read as 0 anyway, so compare resolved choices.
  ASSERT_EQ(back.steps.size(), p.steps.size());
  for (std::size_t i = 0; i < p.steps.size(); ++i) {
    ChoiceSource a(p.steps[i]), b(back.steps[i]);
    for (int k = 0; k < 12; ++k) EXPECT_EQ(a.below(1000), b.below(1000)) << "step " << i << " choice " << k;
  }
}

TEST(ProgramText, RejectsBadTextWithAColumn) {
  Program p;
  std::string error;
  EXPECT_FALSE(decode("8.0/2.X", p, error));
  EXPECT_NE(error.find("column 7"), std::string::npos) << error;
  EXPECT_FALSE(decode("zzzzzzzzzzzz", p, error));
  EXPECT_NE(error.find("larger than 32 bits"), std::string::npos) << error;
}

TEST(ProgramText, EmptyTextIsTheEmptyProgram) {
  Program p;
  std::string error;
  ASSERT_TRUE(decode("", p, error));
  EXPECT_TRUE(p.steps.empty());
}

// A step of zero choices is a step: one such step must not encode as the empty text, which is the
// empty program (found by fuzzing encode/decode).
TEST(ProgramText, AStepOfZeroChoicesStaysAStep) {
  for (const Program& p : {Program{{{0, 0, 0}}, {}}, Program{{{0}, {0}}, {}}, Program{{{5}, {0, 0}, {7}}, {}}}) {
    const std::string text = encode(p);
    EXPECT_FALSE(text.empty());
    Program back;
    std::string error;
    ASSERT_TRUE(decode(text, back, error)) << error;
    EXPECT_EQ(back.steps.size(), p.steps.size()) << text;
  }
}

TEST(ChoiceSource, ReadsZeroPastTheEnd) {
  const std::vector<std::uint32_t> c = {7, 9};
  ChoiceSource s(c);
  EXPECT_EQ(s.below(5), 2u);
  EXPECT_EQ(s.below(5), 4u);
  EXPECT_EQ(s.below(5), 0u);
}

// A program with its rounds (Program::plan) keeps them through the text form, 64-bit seeds and all;
// a plan that does not match the steps is refused.
TEST(ProgramText, ARoundPlanRoundTrips) {
  SplitMix src(5);
  Program p = random_program(src, 6);
  p.plan = {PlannedRound{1, 0, ~std::uint64_t{0}, 0}, PlannedRound{3, 0b110, 0x0123456789abcdefULL, 42}, PlannedRound{2, 0b10, 7, ~std::uint64_t{0} - 1}};
  const std::string text = encode(p);
  EXPECT_EQ(text.front(), 'R');
  Program back;
  std::string error;
  ASSERT_TRUE(decode(text, back, error)) << error;
  EXPECT_EQ(back.plan, p.plan);
  EXPECT_EQ(back.steps.size(), p.steps.size());
  for (const std::string bad : {"R1.0.0.0", "R1.0.0|5", "R0.0.0.0|5", "R2.0.0.0|5", "R1.0.0.0|5/6", "R1.0.zzzzzzzzzzzzzz.0|5", "R1.0.0.0|5.X"}) {
    Program q;
    EXPECT_FALSE(decode(bad, q, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  EXPECT_TRUE(decode("r1.0", back, error)) << "a plain program may start with the digit r: " << error;
  EXPECT_TRUE(back.plan.empty());
}
