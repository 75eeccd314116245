// A generator of random programs (sequences of Op) for the model's property tests.
//
// A program is drawn as a list of 64-bit step seeds plus a few program-wide knobs;
// each seed is resolved into an Op against the *current* model state while the
// program runs, so arguments mostly name things that exist now (live pids, unbound
// lwps, open fds, running kthreads, hosts that can act) and a minority are misuse
// (stale or never-issued handles, bad flags, negative fds, the wrong actor kind,
// FATAL-provoking calls). RapidCheck draws and shrinks the seeds; the reach test
// draws them from a fixed PRNG. Both share `run_program`.
#pragma once
#include <array>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "model/model.hpp"

namespace lockstep::model::testing {

struct ProgramSeed {
  int maxproc = kDefaultMaxproc;
  bool initialized = true;
  bool chaos = false;  // more misuse and extreme values (huge ticks/sizes, odd hosts)
  std::vector<std::uint64_t> steps;
};

// splitmix64: turns one step seed into as many independent words as the step needs.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : x_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (x_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint32_t below(std::uint32_t n) { return n == 0 ? 0 : static_cast<std::uint32_t>(next() % n); }
  bool percent(unsigned p) { return below(100) < p; }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[below(static_cast<std::uint32_t>(v.size()))]; }

 private:
  std::uint64_t x_;
};

// Op kinds by variant index, in the order of OpBody.
enum K : std::size_t {
  kInit, kRfork, kNewlwp, kSwitch, kRelease, kCurlwp, kGetpid, kGetppid, kOpen, kWrite, kFstat, kClose, kDup,
  kGetuid, kSetuid, kKthreadCreate, kKthreadExit, kSuspend, kResume, kSuspendCheck, kWork, kKprocStart,
  kKprocShutdown, kWaitExit, kReap, kTick
};
static_assert(kTick + 1 == kOpKindCount, "a new op kind needs a weight and a resolver here");

// Relative frequencies of the op kinds; tuned so that every rule, errno and FATAL is
// reached (test_generator_reach.cpp measures it) while most programs live long enough
// to build up processes, lwps, waits and parked threads.
inline constexpr std::array<unsigned, kOpKindCount> kWeights = {
    1, 8, 7, 8, 6, 2, 2, 1, 5, 3, 3, 3, 2, 1, 2, 5, 2, 6, 4, 8, 3, 2, 2, 4, 3, 7};

class ProgramBuilder {
 public:
  static constexpr HostId kHosts = 3;

  ProgramBuilder(const Model& m, bool chaos) : m_(m), chaos_(chaos) {}

  // The next op, resolved against the model's current state; `choice` may bind a pid.
  Op next(Rng& r, Choice& choice) {
    choice = {};
    const State& s = m_.state();
    if (!s.initialized) {  // before rump_init: mostly init, sometimes a FATAL(P0-uninit) call
      return r.percent(60) ? Op{Actor::host(0), op::Init{}} : Op{Actor::host(0), op::Getpid{}};
    }
    Op o = resolve(kind(r), r, choice);
    // A minority of steps is performed by an actor of the wrong kind.
    if (r.percent(chaos_ ? 8 : 2)) o.actor = wrong_actor(r);
    return o;
  }

 private:
  std::size_t kind(Rng& r) const {
    unsigned total = 0;
    for (unsigned w : kWeights) total += w;
    unsigned x = r.below(total);
    for (std::size_t k = 0; k < kWeights.size(); ++k) {
      if (x < kWeights[k]) return k;
      x -= kWeights[k];
    }
    return kTick;
  }

  const State& s() const { return m_.state(); }

  Actor wrong_actor(Rng& r) const {
    switch (r.below(4)) {
      case 0: return Actor::host(static_cast<HostId>(r.below(kHosts)));
      case 1: return Actor::kthread(r.below(static_cast<std::uint32_t>(s().procs.size()) + 2));
      case 2: return Actor::clock();
      default: return Actor::reaper();
    }
  }

  // A host that can act (most of the time), else any host, rarely an odd index.
  HostId host(Rng& r) const {
    if (chaos_ && r.percent(5)) return r.percent(50) ? HostId{200} : static_cast<HostId>(r.below(kHosts + 2));
    std::vector<HostId> ready;
    for (HostId h = 0; h < kHosts; ++h)
      if (m_.runnable(Actor::host(h))) ready.push_back(h);
    if (ready.empty() || r.percent(3)) return static_cast<HostId>(r.below(kHosts));
    return r.pick(ready);
  }
  Actor host_actor(Rng& r) const { return Actor::host(host(r)); }

  std::vector<ProcId> procs_where(auto pred) const {
    std::vector<ProcId> v;
    for (ProcId p = 0; p < s().procs.size(); ++p)
      if (pred(s().procs[p])) v.push_back(p);
    return v;
  }
  std::vector<ProcId> kthreads(bool running_only) const {
    return procs_where([&](const Process& p) {
      return p.kind == ProcKind::Kthread && (!running_only || p.kt.state == KState::Running);
    });
  }

  Pid pid(Rng& r) const {
    if (r.percent(12)) {
      static const std::vector<Pid> odd = {-1, 0, 1, 2, 99999, kPidMax, 12345};
      return r.pick(odd);
    }
    std::vector<Pid> live;
    for (const auto& [p, id] : s().table)
      if (p > 1 || r.percent(20)) live.push_back(p);  // mostly user processes and kthreads
    return live.empty() ? Pid{1} : r.pick(live);
  }

  // A kthread handle: mostly an existing kthread; sometimes any process (a non-kthread, a
  // freed user process) or a never-issued handle.
  ProcId kthread_handle(Rng& r) const {
    const auto ks = kthreads(false);
    const unsigned x = r.below(100);
    if (!ks.empty() && x < 80) {
      // Prefer kthreads that can still do something.
      const auto live = procs_where([](const Process& p) {
        return p.kind == ProcKind::Kthread && p.kt.state != KState::Reaped;
      });
      return (!live.empty() && r.percent(80)) ? r.pick(live) : r.pick(ks);
    }
    if (x < 96) return r.below(static_cast<std::uint32_t>(s().procs.size()));
    return static_cast<ProcId>(s().procs.size() + r.below(3));
  }

  int timo(Rng& r) const {
    const unsigned x = r.below(100);
    if (x < 30) return 0;
    if (x < 85) return 1 + static_cast<int>(r.below(8));
    if (x < 97) return 6000;
    return chaos_ ? std::numeric_limits<int>::max() : -1;
  }

  const FdTable& table_of(HostId h) const { return s().fdtables[s().procs[s().current_proc(h)].fdtable]; }

  int fd(Rng& r, HostId h) const {
    const FdTable& t = table_of(h);
    std::vector<int> open;
    for (std::size_t i = 0; i < t.fds.size(); ++i)
      if (t.fds[i] != kNoDesc) open.push_back(static_cast<int>(i));
    const unsigned x = r.below(100);
    if (!open.empty() && x < 75) return r.pick(open);
    if (x < 90) return static_cast<int>(r.below(static_cast<std::uint32_t>(t.fds.size()) + 2));
    static const std::vector<int> odd = {-1, -7, 1 << 20, std::numeric_limits<int>::max(),
                                         std::numeric_limits<int>::min()};
    return r.pick(odd);
  }

  std::string path(Rng& r) const {
    static const std::vector<std::string> paths = {"/a", "/b", "/c", "/dev/console", "/missing"};
    if (chaos_ && r.percent(5)) return std::string(r.below(40), 'x');
    return r.pick(paths);
  }

  std::string name(Rng& r) const {
    static const std::vector<std::string> names = {"k", "worker", "syncer", "abcdefghijklmnopqrstuvwxyz", ""};
    return r.pick(names);
  }

  // Sometimes the checker binds the kernel's pid choice: an allowed one, or (rarely) not.
  void maybe_bind_pid(Rng& r, Choice& c) const {
    const unsigned x = r.below(100);
    if (x < 8) c.pid = static_cast<Pid>(2 + r.below(40));  // allowed unless in the table
    else if (x < 10) c.pid = r.percent(50) ? Pid{1} : Pid{kPidMax + 1};
  }

  Op resolve(std::size_t k, Rng& r, Choice& choice) const {
    switch (k) {
      case kInit: return {host_actor(r), op::Init{}};
      case kRfork: {
        static const std::vector<int> bad = {3, 4, -1, 0x10, kRffdg};
        maybe_bind_pid(r, choice);
        return {host_actor(r), op::Rfork{r.percent(90) ? static_cast<int>(r.below(3)) : r.pick(bad)}};
      }
      case kNewlwp: return {host_actor(r), op::Newlwp{pid(r)}};
      case kSwitch: return resolve_switch(r, choice);
      case kRelease: {
        std::vector<HostId> bound;
        for (HostId h = 0; h < kHosts; ++h)
          if (s().curlwp(h) != kNoLwp && m_.runnable(Actor::host(h))) bound.push_back(h);
        // With no dedicated curlwp anywhere a release is FATAL(L4-implicit): keep that rare
        // by forking instead, so programs live long enough to get somewhere.
        if (bound.empty() && r.percent(93)) return resolve(kRfork, r, choice);
        const HostId h = (!bound.empty() && r.percent(95)) ? r.pick(bound) : host(r);
        return {Actor::host(h), op::Release{}};
      }
      case kCurlwp: return {host_actor(r), op::Curlwp{}};
      case kGetpid: return {host_actor(r), op::Getpid{}};
      case kGetppid: return {host_actor(r), op::Getppid{}};
      case kOpen: return {host_actor(r), op::Open{path(r), r.percent(60)}};
      case kWrite: {
        const HostId h = host(r);
        std::int64_t n = r.below(100);
        if (r.percent(3)) n = chaos_ ? std::numeric_limits<std::int64_t>::max() / 2 : -1;
        return {Actor::host(h), op::Write{fd(r, h), n}};
      }
      case kFstat: { const HostId h = host(r); return {Actor::host(h), op::Fstat{fd(r, h)}}; }
      case kClose: { const HostId h = host(r); return {Actor::host(h), op::Close{fd(r, h)}}; }
      case kDup: { const HostId h = host(r); return {Actor::host(h), op::Dup{fd(r, h)}}; }
      case kGetuid: return {host_actor(r), op::Getuid{}};
      case kSetuid: return {host_actor(r), op::Setuid{r.percent(chaos_ ? 50 : 95) ? r.below(4) : r.below(0xffffffffu)}};
      case kKthreadCreate: {
        static const std::vector<int> flags = {0, 0, 0, 0, kRffdg, kRffdg, kRfcfdg, kRffdg | kRfcfdg, 1, -1};
        maybe_bind_pid(r, choice);
        return {host_actor(r), op::KthreadCreate{r.pick(flags), name(r)}};
      }
      case kKprocStart:
        // At maxproc kproc_start panics (K6-panic); mostly ask kthread_create instead (EAGAIN).
        if (s().nprocs >= s().maxproc && r.percent(85)) return resolve(kKthreadCreate, r, choice);
        maybe_bind_pid(r, choice);
        return {host_actor(r), op::KprocStart{name(r)}};
      case kKthreadExit:
      case kWork: {
        const auto run = kthreads(true);
        const ProcId self = (!run.empty() && r.percent(95)) ? r.pick(run) : kthread_handle(r);
        if (k == kWork) return {Actor::kthread(self), op::Work{}};
        return {Actor::kthread(self), op::KthreadExit{static_cast<int>(r.below(5))}};
      }
      case kSuspendCheck: {
        const auto run = kthreads(true);
        const unsigned x = r.below(100);
        if (!run.empty() && x < 95) {
          const ProcId self = r.pick(run);
          // A kthread checking another one is K5-other.
          if (x >= 93) return {Actor::kthread(self), op::SuspendCheck{kthread_handle(r)}};
          return {Actor::kthread(self), op::SuspendCheck{self}};
        }
        if (x < 97 && !run.empty()) return {host_actor(r), op::SuspendCheck{r.pick(run)}};  // K5-other from a host
        const ProcId p = kthread_handle(r);
        return {Actor::kthread(p), op::SuspendCheck{p}};
      }
      case kSuspend: return {host_actor(r), op::Suspend{kthread_handle(r), timo(r)}};
      case kResume: return {host_actor(r), op::Resume{kthread_handle(r)}};
      case kKprocShutdown: return {host_actor(r), op::KprocShutdown{kthread_handle(r)}};
      case kWaitExit: return {host_actor(r), op::WaitExit{kthread_handle(r), timo(r)}};
      case kReap: return {Actor::reaper(), op::Reap{kthread_handle(r)}};
      case kTick:
      default: {
        const unsigned x = r.below(100);
        std::int64_t n = x < 60 ? 1 + r.below(5) : x < 90 ? 6 + r.below(45) : x < 98 ? 6000 : -1;
        if (chaos_ && x >= 98) n = r.percent(50) ? std::numeric_limits<std::int64_t>::max() / 4 : -5;
        return {Actor::clock(), op::Tick{n}};
      }
    }
  }

  Op resolve_switch(Rng& r, Choice& choice) const {
    const HostId h = host(r);
    const Actor a = Actor::host(h);
    const unsigned x = r.below(1000);
    const bool implicit = s().curlwp(h) == kNoLwp;
    std::vector<LwpId> free, released, bound;
    for (LwpId l = 0; l < s().lwps.size(); ++l) {
      const Lwp& w = s().lwps[l];
      (w.released ? released : w.bound == kUnbound ? free : bound).push_back(l);
    }
    const auto to_free = [&]() -> Op {
      // Nothing to switch to: switch(NULL) if that is legal, else make a process instead.
      if (free.empty()) return implicit ? resolve(kRfork, r, choice) : Op{a, op::Switch{kNoLwp}};
      return {a, op::Switch{r.pick(free)}};
    };
    if (x < 750) return to_free();
    // switch(NULL): from IMPLICIT it is FATAL(L3-null-implicit), so mostly from a bound host.
    if (x < 960) return implicit ? to_free() : Op{a, op::Switch{kNoLwp}};
    if (x < 966) return {a, op::Switch{kNoLwp}};
    if (x < 978 && !released.empty()) return {a, op::Switch{r.pick(released)}};  // L3-stale
    if (x < 990 && !bound.empty()) return {a, op::Switch{r.pick(bound)}};        // L3-running
    if (x < 996) return {a, op::Switch{static_cast<LwpId>(s().lwps.size() + r.below(5))}};  // never issued
    return to_free();
  }

  const Model& m_;
  bool chaos_;
};

// Runs a program: resolves each step against the model and hands (before, op, choice,
// result, after) to `on_step`. Returns the final model.
template <class OnStep>
Model run_program(const ProgramSeed& p, OnStep&& on_step) {
  Model m(Config{.maxproc = p.maxproc, .initialized = p.initialized});
  ProgramBuilder b(m, p.chaos);
  for (std::size_t i = 0; i < p.steps.size(); ++i) {
    Rng r(p.steps[i] ^ (0x632be59bd9b4e019ull * (i + 1)));  // the index decorrelates equal seeds
    Choice choice;
    const Op op = b.next(r, choice);
    const State before = m.state();
    const StepResult res = m.apply(op, choice);
    on_step(before, op, choice, res, m.state());
  }
  return m;
}

}  // namespace lockstep::model::testing
