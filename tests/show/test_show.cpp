// The renderers take an op's name and arguments from the op-traits table (model/op_traits.hpp), not
// from a per-op switch of their own: a lane's text is the model's own rendering (model::to_string)
// without the actor and the rump prefixes, for every op the generator makes, every op kind included.
#include <gtest/gtest.h>

#include <set>

#include "checker/program.hpp"
#include "checker/trace_show.hpp"
#include "model/op_traits.hpp"

using namespace lockstep;
using namespace lockstep::checker;
using namespace lockstep::model;

namespace {

std::string expected_text(const Op& op) {
  std::string s = to_string(op);
  s = s.substr(s.find(' ') + 1);
  for (std::string_view prefix : {std::string_view("rump_pub_"), std::string_view("rump_sys_")})
    if (s.rfind(prefix, 0) == 0) s = s.substr(prefix.size());
  return s;
}

}  // namespace

TEST(Show, OpTextIsTheModelsRenderingFromTheTraitsTable) {
  std::set<std::size_t> kinds;
  ProgramConfig pc;
  pc.chooser.extreme_percent = 20;  // odd flags, NULL and never-issued handles, empty names
  pc.chooser.arbitrary_percent = 10;
  SplitMix src(11);
  for (int i = 0; i < 300; ++i) {
    const Program p = random_program(src, 60, choices_per_step(pc.chooser), 0xffffffffu);
    Model m;
    for (const auto& step : p.steps) {
      const ChosenStep st = resolve_step(m.state(), pc, step);
      EXPECT_EQ(op_text(st.op), expected_text(st.op));
      kinds.insert(st.op.body.index());
      if (m.apply(st.op, st.choice).outcome.is_fatal()) break;
    }
  }
  EXPECT_EQ(kinds.size(), kOpKindCount) << "some op kind was never rendered";
}
