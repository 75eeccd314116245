// The op-traits table (model/op_traits.hpp) has a row for every op kind, and each row agrees with
// the op it describes: its arguments are the op's members in order, and its return shape and the
// actors it names are what the model does with the op.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "helpers.hpp"
#include "model/model.hpp"
#include "model/op_traits.hpp"

using namespace lockstep::model;

namespace {

// One op of each kind, with arguments that differ from their defaults, by variant index. (A switch:
// GCC 12 needs gigabytes to optimise one initializer list of all 26 alternatives.)
OpBody sample(std::size_t kind) {
  switch (kind) {
    case 0: return op::Init{};
    case 1: return op::Rfork{1};
    case 2: return op::Newlwp{7};
    case 3: return op::Switch{3};
    case 4: return op::Release{};
    case 5: return op::Curlwp{};
    case 6: return op::Getpid{};
    case 7: return op::Getppid{};
    case 8: return op::Open{"/f", true};
    case 9: return op::Write{4, 9};
    case 10: return op::Fstat{4};
    case 11: return op::Close{5};
    case 12: return op::Dup{6};
    case 13: return op::Getuid{};
    case 14: return op::Setuid{1000};
    case 15: return op::KthreadCreate{4, "kt"};
    case 16: return op::KthreadExit{3};
    case 17: return op::Suspend{2, 10};
    case 18: return op::Resume{2};
    case 19: return op::SuspendCheck{2};
    case 20: return op::Work{};
    case 21: return op::KprocStart{"kp"};
    case 22: return op::KprocShutdown{2};
    case 23: return op::WaitExit{2, 5};
    case 24: return op::Reap{2};
    default: return op::Tick{3};
  }
}

}  // namespace

TEST(OpTraits, EveryOpKindHasARowWithAUniqueName) {
  ASSERT_EQ(kOpTraits.size(), kOpKindCount);
  std::set<std::string_view> names;
  for (std::size_t k = 0; k < kOpKindCount; ++k) {
    const OpBody b = sample(k);
    ASSERT_EQ(b.index(), k) << "sample() is out of variant order at " << k;
    EXPECT_FALSE(traits(b).name.empty()) << "op kind " << k << " has no traits row";
    EXPECT_NE(traits(b).actors, 0) << traits(b).name;
    EXPECT_TRUE(names.insert(traits(b).name).second) << traits(b).name;
    EXPECT_EQ(op_name(b), traits(b).name);
  }
}

TEST(OpTraits, ArgumentsAreTheMembersInOrder) {
  for (std::size_t k = 0; k < kOpKindCount; ++k) {
    const OpBody b = sample(k);
    std::vector<std::string> seen;
    for_each_arg(b, [&](const ArgTraits& a, const auto& value) {
      seen.emplace_back(a.name);
      using V = std::decay_t<decltype(value)>;
      if constexpr (std::is_same_v<V, std::string>) EXPECT_EQ(a.kind, ArgKind::String) << a.name;
      else if constexpr (std::is_same_v<V, bool>) EXPECT_EQ(a.kind, ArgKind::Bool) << a.name;
    });
    ASSERT_EQ(seen.size(), traits(b).nargs) << traits(b).name;
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], traits(b).args[i].name);
    // The rendering names each argument's value (so no member is missing from the row).
    EXPECT_NE(to_string(Op{Actor::host(0), b}).find(traits(b).name), std::string::npos);
  }
}

// What the model does agrees with each row: a void op returns 0, a blocking op is one the model can
// block in, and only the actors a row names can perform its op.
TEST(OpTraits, RowsAgreeWithTheModel) {
  for (std::size_t k = 0; k < kOpKindCount; ++k) {
    const OpTraits& t = kOpTraits[k];
    for (Actor::Kind who : {Actor::Kind::Host, Actor::Kind::Kthread, Actor::Kind::Clock, Actor::Kind::Reaper}) {
      const bool allowed = (t.actors & actor_bit(who)) != 0;
      if (who == Actor::Kind::Host) EXPECT_EQ(allowed, t.name != "kthread_exit" && t.name != "work" && t.name != "reap" && t.name != "tick") << t.name;
    }
  }
  EXPECT_TRUE(traits_of<op::Suspend>().can_block);
  EXPECT_TRUE(traits_of<op::WaitExit>().can_block);
  EXPECT_TRUE(traits_of<op::KprocShutdown>().can_block);
  EXPECT_TRUE(traits_of<op::SuspendCheck>().can_block);
  EXPECT_FALSE(traits_of<op::Resume>().can_block);
  EXPECT_EQ(traits_of<op::Rfork>().creates, Creates::ProcessAndLwp);
  EXPECT_EQ(traits_of<op::KprocStart>().creates, Creates::Kthread);

  // A kthread blocks only in the ops its row says can block; a void op returns 0.
  Model m;
  m.apply(Op{Actor::host(0), op::KthreadCreate{0, "kt"}});
  const ProcId kt = static_cast<ProcId>(m.state().procs.size() - 1);
  const StepResult r = m.apply(Op{Actor::host(1), op::Suspend{kt, 0}});
  EXPECT_EQ(r.outcome.kind, OutcomeKind::Blocked);
  const StepResult w = m.apply(Op{Actor::kthread(kt), op::Work{}});
  EXPECT_TRUE(w.outcome.returned());
  EXPECT_EQ(w.outcome.ret, 0);
}

// A new op without a row: appending op::Foo to OpBody grows kOpKindCount, and kOpTraits' initializer
// then leaves the last row value-initialised (empty name, no actors), so op_traits.hpp's
// static_assert "an op kind has no row in kOpTraits" stops the build; without an OpMembers<op::Foo>
// the row check (all_rows_fit) does not compile either, and a row in the wrong place fails
// "does not match its struct's members" or the name check below. This test is the run-time twin
// (for a build that skips the static_asserts): every variant index has a row of its own and a
// default op of that kind, and the row's arguments are exactly the struct's members.
TEST(OpTraits, EveryVariantAlternativeHasItsRow) {
  std::set<std::string_view> names;
  for (std::size_t k = 0; k < kOpKindCount; ++k) {
    const OpBody b = default_op(k);
    ASSERT_EQ(b.index(), k);
    EXPECT_FALSE(traits(b).name.empty()) << "op kind " << k << " has no row in kOpTraits";
    EXPECT_NE(traits(b).actors, 0) << "op kind " << k << " has no row in kOpTraits";
    EXPECT_TRUE(names.insert(traits(b).name).second) << traits(b).name << " is the name of two rows";
    std::size_t n = 0;
    for_each_arg(b, [&](const ArgTraits&, const auto&) { ++n; });
    EXPECT_EQ(n, traits(b).nargs) << traits(b).name;
  }
}

// The `show` column: the arguments whose values have C names, and model::to_string shows those names.
TEST(OpTraits, ShowColumnNamesTheFlagVocabularies) {
  std::vector<std::string> shown;
  for (const OpTraits& t : kOpTraits)
    for (std::size_t i = 0; i < t.nargs; ++i)
      if (t.args[i].show != ArgShow::Plain) shown.push_back(std::string(t.name) + "." + std::string(t.args[i].name));
  EXPECT_EQ(shown, (std::vector<std::string>{"rump_pub_lwproc_rfork.flags", "rump_sys_open.create", "kthread_create.flags"}));
  EXPECT_EQ(traits_of<op::Rfork>().args[0].show, ArgShow::RforkFlags);
  EXPECT_EQ(traits_of<op::KthreadCreate>().args[0].show, ArgShow::KthreadFlags);
  EXPECT_EQ(traits_of<op::Open>().args[1].show, ArgShow::OpenCreate);
  EXPECT_NE(to_string(Op{Actor::host(0), op::Rfork{kRumpRffdg}}).find("RUMP_RFFDG"), std::string::npos);
  EXPECT_NE(to_string(Op{Actor::host(0), op::KthreadCreate{kRffdg, "k"}}).find("RFFDG"), std::string::npos);
  EXPECT_NE(to_string(Op{Actor::host(0), op::Open{"/a", true}}).find("O_CREAT"), std::string::npos);
}

// for_each_arg_mut fills an op in by its row, in member order.
TEST(OpTraits, ForEachArgMutWritesTheMembers) {
  OpBody b = default_op(op_index<op::Suspend>());
  for_each_arg_mut(b, [](const ArgTraits& a, auto& v) {
    if constexpr (std::is_integral_v<std::decay_t<decltype(v)>>) v = a.name == "proc" ? 5 : 7;
  });
  EXPECT_EQ(std::get<op::Suspend>(b), (op::Suspend{5, 7}));
}
