// model::hash_state: equal states hash equal (copies, and the same state reached by two orders of
// commuting steps), a change to any one field changes the hash, and the states of a long random
// run all hash apart.
#include <gtest/gtest.h>

#include <unordered_map>

#include "checker/op_chooser.hpp"
#include "model/model.hpp"
#include "model/state_hash.hpp"

namespace lockstep::model {
namespace {

State busy_state() {
  Model m;
  m.apply(Op{Actor::host(0), op::Rfork{kRumpRffdg}});
  m.apply(Op{Actor::host(0), op::Open{"/a", true}});
  m.apply(Op{Actor::host(0), op::Write{3, 4}});
  m.apply(Op{Actor::host(1), op::KthreadCreate{0, "kt"}});
  m.apply(Op{Actor::host(1), op::Suspend{3, 5}});
  m.apply(Op{Actor::host(2), op::KprocShutdown{3}});
  return m.state();
}

TEST(StateHash, EqualStatesHashEqual) {
  const State a = busy_state();
  const State b = a;
  EXPECT_EQ(hash_state(a), hash_state(b));
  EXPECT_EQ(std::hash<State>{}(a), std::hash<State>{}(b));
  // Two orders of commuting steps reach one state.
  Model x, y;
  x.apply(Op{Actor::host(0), op::Getpid{}});
  x.apply(Op{Actor::host(1), op::Open{"/b", true}});
  y.apply(Op{Actor::host(1), op::Open{"/b", true}});
  y.apply(Op{Actor::host(0), op::Getpid{}});
  ASSERT_EQ(x.state(), y.state());
  EXPECT_EQ(hash_state(x.state()), hash_state(y.state()));
}

TEST(StateHash, EveryFieldCounts) {
  const State base = busy_state();
  const StateHash h = hash_state(base);
  std::vector<std::pair<const char*, std::function<void(State&)>>> edits = {
      {"initialized", [](State& s) { s.initialized = false; }},
      {"fatal", [](State& s) { s.fatal = Fatal::L3Stale; }},
      {"pid", [](State& s) { s.procs[2].pid = 11; }},
      {"ppid", [](State& s) { s.procs[2].ppid = 0; }},
      {"comm", [](State& s) { s.procs[2].comm += "x"; }},
      {"kind", [](State& s) { s.procs[2].kind = ProcKind::Init; }},
      {"fdtable", [](State& s) { s.procs[2].fdtable = 0; }},
      {"uid", [](State& s) { s.procs[2].uid = 7; }},
      {"proc lwps", [](State& s) { s.procs[2].lwps.push_back(0); }},
      {"next_lid", [](State& s) { ++s.procs[2].next_lid; }},
      {"freed", [](State& s) { s.procs[2].freed = true; }},
      {"kstate", [](State& s) { s.procs[3].kt.state = KState::Parked; }},
      {"suspend flag", [](State& s) { s.procs[3].kt.suspend_requested = !s.procs[3].kt.suspend_requested; }},
      {"progress", [](State& s) { ++s.procs[3].kt.progress; }},
      {"exit code", [](State& s) { s.procs[3].kt.exit_code = 3; }},
      {"lwp proc", [](State& s) { s.lwps[1].proc = 0; }},
      {"lid", [](State& s) { ++s.lwps[1].lid; }},
      {"bound", [](State& s) { s.lwps[1].bound = kUnbound; }},
      {"released", [](State& s) { s.lwps[1].released = true; }},
      {"fds", [](State& s) { s.fdtables[1].fds.push_back(0); }},
      {"refs", [](State& s) { ++s.fdtables[1].refs; }},
      {"table freed", [](State& s) { s.fdtables[1].freed = true; }},
      {"descs", [](State& s) { s.descs.push_back(0); }},
      {"file size", [](State& s) { ++s.files[0].size; }},
      {"path", [](State& s) { s.files[0].path = "/dev/null"; }},
      {"paths", [](State& s) { s.paths["/z"] = 0; }},
      {"table", [](State& s) { s.table.erase(2); }},
      {"curlwp", [](State& s) { s.hosts[0].curlwp = kNoLwp; }},
      {"wait deadline", [](State& s) { s.waits[0].deadline.reset(); }},
      {"wait seq", [](State& s) { ++s.waits[0].seq; }},
      {"console", [](State& s) { s.console[0] += "."; }},
      {"now", [](State& s) { ++s.now; }},
      {"nprocs", [](State& s) { ++s.nprocs; }},
      {"maxproc", [](State& s) { ++s.maxproc; }},
      {"pid_max", [](State& s) { ++s.pid_max; }},
      {"next_pid", [](State& s) { ++s.next_pid; }},
      {"next_wait_seq", [](State& s) { ++s.next_wait_seq; }},
  };
  for (auto& [name, edit] : edits) {
    State s = base;
    edit(s);
    ASSERT_FALSE(s == base) << name;
    EXPECT_NE(hash_state(s), h) << name;
  }
}

// Two threads' rforks in either order: the states differ in which serial ids the new process, lwp
// and fd table got, and are equal once each object is named by the step that created it.
TEST(StateHash, EqualUpToRenamingWithKeys) {
  auto run = [](bool h0_first) {
    Model m;
    m.apply(Op{Actor::host(0), op::Open{"/a", true}});
    const Op a{Actor::host(0), op::Rfork{kRumpRffdg}}, b{Actor::host(1), op::Rfork{kRumpRffdg}};
    m.apply(h0_first ? a : b, Choice{h0_first ? 5 : 6});
    m.apply(h0_first ? b : a, Choice{h0_first ? 6 : 5});
    return m.state();
  };
  const State x = run(true), y = run(false);
  ASSERT_FALSE(x == y);
  EXPECT_NE(hash_state(x), hash_state(y));
  // Keys: objects of the first state by id; the new ones by the creating host (1000 + host).
  auto keys_for = [](const State& s, bool h0_first, std::vector<std::uint64_t>& procs, std::vector<std::uint64_t>& lwps,
                     std::vector<std::uint64_t>& tables) {
    for (std::uint64_t i = 0; i < s.procs.size(); ++i) procs.push_back(i < 2 ? i : 1000 + ((i == 2) == h0_first ? 0 : 1));
    for (std::uint64_t i = 0; i < s.lwps.size(); ++i) lwps.push_back(i < 1 ? i : 1000 + ((i == 1) == h0_first ? 0 : 1));
    for (std::uint64_t i = 0; i < s.fdtables.size(); ++i) tables.push_back(i < 2 ? i : 1000 + ((i == 2) == h0_first ? 0 : 1));
  };
  std::vector<std::uint64_t> px, lx, tx, py, ly, ty;
  keys_for(x, true, px, lx, tx);
  keys_for(y, false, py, ly, ty);
  const IdKeys kx{px, lx, tx, {}, {}}, ky{py, ly, ty, {}, {}};
  // The reference allocator's cursor follows the last pid taken, so it differs too unless left out.
  EXPECT_NE(hash_state(x, kx), hash_state(y, ky));
  EXPECT_EQ(hash_state(x, kx, false), hash_state(y, ky, false));
  State rx = relabel(x, kx), ry = relabel(y, ky);
  rx.next_pid = ry.next_pid = 0;
  EXPECT_EQ(rx, ry);
  // Relabelling with the ids' own keys changes nothing.
  EXPECT_EQ(relabel(x, IdKeys{}), x);
  // Different content under the same keys still hashes apart.
  State z = y;
  z.procs[3].uid = 9;
  EXPECT_NE(hash_state(x, kx, false), hash_state(z, ky, false));
}

// Carrying the objects' part along a run, rehashing only what changed, gives the hash from scratch.
TEST(StateHash, IncrementalObjectsHashMatchesFromScratch) {
  Model m;
  checker::ChooserConfig cc;
  cc.hosts = 5;
  checker::SplitMix src(11);
  ObjectsHash carried = objects_hash(m.state(), IdKeys{});
  for (int i = 0; i < 2000; ++i) {
    const State before = m.state();
    m.apply(checker::choose_op(m.state(), cc, src));
    carried = objects_hash(m.state(), before, carried, IdKeys{});
    ASSERT_EQ(carried, objects_hash(m.state(), IdKeys{})) << "step " << i;
    ASSERT_EQ(hash_state(m.state(), carried, IdKeys{}), hash_state(m.state())) << "step " << i;
  }
}

TEST(StateHash, ARunsDistinctStatesHashApart) {
  Model m;
  checker::ChooserConfig cc;
  cc.hosts = 4;
  cc.misuse_percent = 0;
  checker::SplitMix src(3);
  std::unordered_map<std::uint64_t, State> seen;
  for (int i = 0; i < 3000; ++i) {
    m.apply(checker::choose_op(m.state(), cc, src));
    const StateHash h = hash_state(m.state());
    auto [it, fresh] = seen.emplace(h.lo, m.state());
    if (!fresh) {
      EXPECT_EQ(it->second, m.state()) << "step " << i;
    }
  }
}

}  // namespace
}  // namespace lockstep::model
