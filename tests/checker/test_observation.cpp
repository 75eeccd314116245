// The §7 observation: canonical names do not depend on either side's ids, and the
// first difference names the SPEC rule it breaks.
#include <cstdint>

#include <gtest/gtest.h>

#include "checker/observation.hpp"
#include "model/model.hpp"

using namespace lockstep::checker;
using namespace lockstep::model;

TEST(Observation, SharedTablesGetOneNameWhateverTheKeys) {
  std::vector<ObsProc> a(3), b(3);
  canonicalize_fds(a, {10, 10, 20}, {{{0, 5}}, {{0, 5}}, {{0, 5}, {1, 6}}});
  canonicalize_fds(b, {77, 77, 3}, {{{0, 900}}, {{0, 900}}, {{0, 900}, {1, 1}}});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a[0].fdtable, a[1].fdtable);
  EXPECT_NE(a[0].fdtable, a[2].fdtable);
}

TEST(Observation, DifferencesNameTheirRule) {
  Model m;
  m.apply(Op{Actor::host(0), op::Rfork{kRumpRffdShare}});
  const Observation e = observe(m.state(), 2);
  Observation g = e;
  g.nprocs += 1;
  auto d = first_difference(e, g, Rule::P1);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, Rule::R6);
  EXPECT_NE(d->text.find("nprocs: expected 3, observed 4"), std::string::npos) << d->text;

  g = e;
  g.procs.back().lwps[0].bound = 1;  // bound to another host
  d = first_difference(e, g, Rule::P1);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, Rule::R4);

  g = e;
  g.procs.back().fdtable = 99;  // not shared with its parent any more
  d = first_difference(e, g, Rule::P1);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, Rule::P7);

  EXPECT_FALSE(first_difference(e, e, Rule::P1));
}

// Overlapping kproc_shutdown calls write their lines themselves: the console may show them in any
// interleaving that keeps each caller's own lines in order, and only then.
TEST(Observation, ConsoleLinesInterleaveOnlyKeepingEachWritersOrder) {
  const std::string banner = "Waiting (max 60 seconds) for system process `kt' to stop...";
  const std::vector<std::vector<std::string>> writers{{banner, "stopped"}, {"timed out"}};
  EXPECT_TRUE(interleaves({banner, "stopped", "timed out"}, writers));
  EXPECT_TRUE(interleaves({banner, "timed out", "stopped"}, writers));
  EXPECT_TRUE(interleaves({"timed out", banner, "stopped"}, writers));
  EXPECT_FALSE(interleaves({"stopped", banner, "timed out"}, writers)) << "a caller's result before its banner";
  EXPECT_FALSE(interleaves({banner, "stopped"}, writers)) << "a line missing";
  EXPECT_FALSE(interleaves({banner, "stopped", "timed out", "stopped"}, writers)) << "a line too many";
  EXPECT_FALSE(interleaves({banner, "stopped", "stopped"}, writers)) << "a line changed";
  EXPECT_TRUE(interleaves({}, {}));
}

// A writer that must wait for another (its call began after the other's returned) writes nothing
// before all of the other's lines; identical lines of two writers are told apart by what follows.
TEST(Observation, ConsoleLinesKeepRealTimeOrderBetweenWriters) {
  const std::vector<std::vector<std::string>> writers{{"a", "stopped"}, {"b", "stopped"}};
  EXPECT_TRUE(interleaves({"b", "a", "stopped", "stopped"}, writers));
  EXPECT_FALSE(interleaves({"b", "a", "stopped", "stopped"}, writers, {{}, {0}})) << "b's call began after a's returned";
  EXPECT_TRUE(interleaves({"a", "stopped", "b", "stopped"}, writers, {{}, {0}}));
  // Greedy matching would give writer 0's "x" the first "x" and then find no "a" after it.
  EXPECT_TRUE(interleaves({"x", "a", "x", "b"}, {{"x", "b"}, {"x", "a"}}));
}


// The digest's value is part of the trace format: its short cut for a number's high zero bytes must
// give FNV-1a byte by byte exactly, for every kind of number (small, wide, negative, extreme).
namespace {
std::uint64_t digest_bytewise(const Observation& o) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto bytes = [&](const void* p, std::size_t n) {
    const auto* c = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ c[i]) * 0x100000001b3ULL;
  };
  auto num = [&](std::int64_t v) { bytes(&v, sizeof v); };
  auto str = [&](const std::string& s) {
    num(static_cast<std::int64_t>(s.size()));
    bytes(s.data(), s.size());
  };
  num(o.nprocs);
  for (const ObsProc& p : o.procs) {
    num(p.pid), num(p.ppid), str(p.comm), num(static_cast<int>(p.kind)), num(p.uid), num(p.fdtable);
    for (const ObsLwp& l : p.lwps) num(l.lid), num(l.bound), num(l.released);
    for (const auto& [fd, d] : p.fds) num(fd), num(d);
    num(static_cast<int>(p.kstate)), num(p.suspend_requested), num(static_cast<std::int64_t>(p.progress)), num(p.exit_code);
  }
  for (const ObsHost& x : o.hosts) num(x.curlwp ? x.curlwp->first : -1), num(x.curlwp ? x.curlwp->second : -1), num(x.pid);
  for (const ObsWait& w : o.blocked) num(w.host), str(w.what), num(w.target);
  for (const auto& [path, size] : o.files) str(path), num(size);
  for (const std::string& line : o.console) str(line);
  return h;
}
}  // namespace

TEST(Observation, DigestIsFnv1aByteByByte) {
  const std::vector<std::int64_t> values{0, 1, 255, 256, 65535, 65536, 1LL << 40, -1, -256, INT64_MIN, INT64_MAX, 0x0100000000000000LL};
  std::uint64_t seed = 42;
  auto next = [&] { return seed = seed * 6364136223846793005ULL + 1442695040888963407ULL; };
  auto pick = [&] { return values[next() % values.size()] ^ static_cast<std::int64_t>(next() % 2 ? 0 : next() >> (next() % 64)); };
  for (int round = 0; round < 200; ++round) {
    Observation o;
    o.nprocs = static_cast<int>(pick());
    for (int p = 0; p < round % 5; ++p) {
      ObsProc op;
      op.pid = static_cast<Pid>(pick());
      op.ppid = static_cast<Pid>(pick());
      op.comm = std::string(static_cast<std::size_t>(next() % 20), 'c');
      op.uid = static_cast<Uid>(pick());
      op.fdtable = static_cast<int>(pick());
      op.lwps.push_back(ObsLwp{static_cast<int>(pick()), static_cast<std::int32_t>(pick()), next() % 2 == 0});
      op.fds.emplace_back(static_cast<int>(pick()), static_cast<int>(pick()));
      op.progress = static_cast<std::uint64_t>(pick());
      op.exit_code = static_cast<int>(pick());
      o.procs.push_back(op);
    }
    o.hosts.push_back(ObsHost{std::pair{static_cast<Pid>(pick()), static_cast<int>(pick())}, static_cast<Pid>(pick())});
    o.hosts.push_back(ObsHost{std::nullopt, 1});
    o.blocked.push_back(ObsWait{static_cast<int>(pick()), "kthread_suspend", static_cast<Pid>(pick())});
    o.files["/f"] = pick();
    o.console.emplace_back("stopped");
    ASSERT_EQ(digest(o), digest_bytewise(o)) << "observation " << round;
  }
}
