// Weighted, state-aware choice of the next op. The weights favour the situations
// the SPEC's rules are about: lwps handed between host threads, processes with
// several lwps, last-lwp releases, shared/copied/fresh fd tables that then change,
// suspends racing the thread's check, timeouts, resumes while a suspender waits,
// exits with waiters, and maxproc. Misuse (FATAL) is rare because it ends a program.
#include "checker/op_chooser.hpp"

#include <algorithm>
#include <vector>

namespace lockstep::checker {

using namespace lockstep::model;

namespace {

template <class T>
const T& pick(const std::vector<T>& v, Source& src) {
  return v[src.below(static_cast<std::uint32_t>(v.size()))];
}

class Chooser {
 public:
  Chooser(const State& s, const ChooserConfig& c, Source& src) : s_(s), c_(c), src_(src) {
    for (HostId h = 0; h < c.hosts; ++h)
      if (s.wait_of(h) == nullptr) free_hosts_.push_back(h);
    for (ProcId p = 0; p < s.procs.size(); ++p) {
      const Process& proc = s.procs[p];
      if (proc.kind != ProcKind::Kthread) continue;
      kthreads_.push_back(p);
      if (proc.kt.state == KState::Running) running_kthreads_.push_back(p);
      if (proc.kt.state == KState::Zombie) zombies_.push_back(p);
      if (proc.kt.state != KState::Reaped) ++alive_kthreads_;
    }
  }

  Op choose() {
    if (!s_.initialized) return Op{Actor::host(0), op::Init{}};
    const std::uint32_t r = src_.below(100);
    if (r < 8 || free_hosts_.empty()) return Op{Actor::clock(), op::Tick{tick_length()}};
    if (r < 11 && !kthreads_.empty()) return Op{Actor::reaper(), op::Reap{zombies_.empty() || src_.percent(20) ? pick(kthreads_, src_) : pick(zombies_, src_)}};
    if (r < 33 && !running_kthreads_.empty()) return kthread_op(pick(running_kthreads_, src_));
    const HostId h = pick(free_hosts_, src_);
    if (src_.percent(c_.misuse_percent)) return Op{Actor::host(h), misuse(h)};
    return Op{Actor::host(h), host_op(h)};
  }

 private:
  std::int64_t tick_length() {
    const std::uint32_t r = src_.below(10);
    return r < 4 ? 1 : r < 7 ? 5 : r < 9 ? 20 : 60 * kHz;
  }

  // A kthread someone waits to see exit exits far more often: "exit with waiters" is a
  // situation of its own (K2, K8, S5), rare if exits stay as rare as they must otherwise be.
  Op kthread_op(ProcId self) {
    const bool awaited = std::any_of(s_.waits.begin(), s_.waits.end(),
                                     [&](const Wait& w) { return w.kind == WaitKind::Exit && w.target == self; });
    const std::uint32_t exit_percent = awaited ? 30 : 6;
    const std::uint32_t r = src_.below(100);
    if (r < exit_percent) return Op{Actor::kthread(self), op::KthreadExit{static_cast<int>(src_.below(4))}};
    if (r < exit_percent + (100 - exit_percent) / 2) return Op{Actor::kthread(self), op::SuspendCheck{self}};
    return Op{Actor::kthread(self), op::Work{}};
  }

  // An op that the SPEC answers with FATAL, chosen so that each FATAL id is reached.
  OpBody misuse(HostId h) {
    const LwpId cur = s_.curlwp(h);
    switch (src_.below(6)) {
      case 0: if (cur == kNoLwp) return op::Switch{kNoLwp}; break;    // L3-null-implicit
      case 1: if (cur == kNoLwp) return op::Release{}; break;         // L4-implicit
      case 2: if (auto l = lwp_where([](const Lwp& x) { return x.released; })) return op::Switch{*l}; break;  // L3-stale
      case 3: if (auto l = lwp_where([](const Lwp& x) { return x.bound >= 0; })) return op::Switch{*l}; break;  // L3-running
      case 4: if (!kthreads_.empty()) return op::SuspendCheck{pick(kthreads_, src_)}; break;  // K5-other
      case 5: if (s_.nprocs >= s_.maxproc) return op::KprocStart{"kproc"}; break;  // K6-panic
    }
    return op::Switch{static_cast<LwpId>(s_.lwps.size() + src_.below(3))};  // never issued: L3-stale
  }

  template <class Pred>
  std::optional<LwpId> lwp_where(Pred p) {
    std::vector<LwpId> found;
    for (LwpId l = 1; l < s_.lwps.size(); ++l)  // lwp0 is never handed to a host
      if (p(s_.lwps[l]) && s_.lwps[l].bound != kKernelThread) found.push_back(l);
    if (found.empty()) return std::nullopt;
    return pick(found, src_);
  }

  OpBody host_op(HostId h) {
    const LwpId cur = s_.curlwp(h);
    const std::uint32_t r = src_.below(100);
    if (r < 10) return op::Rfork{rfork_flags()};
    if (r < 18) return op::Newlwp{some_pid()};
    if (r < 30) {
      // Hand-off: switch to an lwp nobody runs (released by no one, bound to no one), or to NULL.
      if (auto l = lwp_where([](const Lwp& x) { return !x.released && x.bound == kUnbound; }); l && src_.percent(75))
        return op::Switch{*l};
      if (cur != kNoLwp) return op::Switch{kNoLwp};
      return op::Rfork{rfork_flags()};
    }
    if (r < 38) return cur != kNoLwp ? OpBody{op::Release{}} : OpBody{op::Rfork{rfork_flags()}};
    if (r < 41) return op::Curlwp{};
    if (r < 44) return op::Getpid{};
    if (r < 46) return op::Getppid{};
    if (r < 52) return op::Open{pick(kPaths, src_), src_.percent(70)};
    if (r < 57) return op::Write{some_fd(h), static_cast<std::int64_t>(src_.below(5)) * 10};
    if (r < 61) return op::Fstat{some_fd(h)};
    if (r < 65) return op::Close{some_fd(h)};
    if (r < 68) return op::Dup{some_fd(h)};
    if (r < 70) return op::Getuid{};
    if (r < 73) return op::Setuid{pick(kUids, src_)};
    if (r < 77 && alive_kthreads_ < c_.max_kthreads) return op::KthreadCreate{kthread_flags(), kthread_name()};
    if (r < 78 && alive_kthreads_ < c_.max_kthreads && s_.nprocs < s_.maxproc) return op::KprocStart{kthread_name()};
    if (r < 85) return op::Suspend{some_proc(), suspend_timo()};
    if (r < 91) return op::Resume{some_proc()};
    if (r < 95) return op::WaitExit{some_proc(), suspend_timo()};
    if (r < 96) return op::KprocShutdown{some_proc()};
    if (r < 97) return op::Init{};
    return op::Rfork{rfork_flags()};
  }

  int rfork_flags() {
    const std::uint32_t r = src_.below(100);
    if (r >= 96) return pick(std::vector<int>{3, 4, -1, 0x10}, src_);  // EINVAL
    return static_cast<int>(r % 3);
  }
  int kthread_flags() {
    const std::uint32_t r = src_.below(100);
    if (r >= 95) return kRfcfdg;
    if (r >= 92) return 1;  // a bit other than RFFDG
    return r < 46 ? 0 : kRffdg;
  }
  std::string kthread_name() {
    static const std::vector<std::string> names = {"kt", "pagedaemon", "a_name_longer_than_maxcomlen"};
    return pick(names, src_);
  }
  // Choice 0 (what shrinking moves toward) is the plain case everywhere; misuse comes last.
  int suspend_timo() {
    const std::uint32_t r = src_.below(100);
    if (r < 50) return static_cast<int>(1 + src_.below(10));
    if (r < 73) return 0;
    return r < 98 ? 100 : -1;
  }

  // A pid in the table most of the time, otherwise one that is not.
  Pid some_pid() {
    if (src_.percent(85)) {
      auto it = s_.table.begin();
      std::advance(it, src_.below(static_cast<std::uint32_t>(s_.table.size())));
      return it->first;
    }
    return static_cast<Pid>(2 + src_.below(40));
  }

  // A process handle: a kthread mostly, sometimes any other process that ever existed.
  ProcId some_proc() {
    if (!kthreads_.empty() && src_.percent(85)) return pick(kthreads_, src_);
    return src_.below(static_cast<std::uint32_t>(s_.procs.size()));
  }

  int some_fd(HostId h) {
    const FdTable& t = s_.fdtables[s_.procs[s_.current_proc(h)].fdtable];
    std::vector<int> open;
    for (std::size_t fd = 0; fd < t.fds.size(); ++fd)
      if (t.fds[fd] != kNoDesc) open.push_back(static_cast<int>(fd));
    if (!open.empty() && src_.percent(85)) return pick(open, src_);
    return static_cast<int>(src_.below(static_cast<std::uint32_t>(t.fds.size() + 2))) - 1;
  }

  inline static const std::vector<std::string> kPaths = {"/a", "/b", "/tmp/c", "/dev/console"};
  inline static const std::vector<Uid> kUids = {0, 1000, 1001};

  const State& s_;
  const ChooserConfig& c_;
  Source& src_;
  std::vector<HostId> free_hosts_;
  std::vector<ProcId> kthreads_, running_kthreads_, zombies_;
  int alive_kthreads_ = 0;
};

}  // namespace

Op choose_op(const State& s, const ChooserConfig& c, Source& src) { return Chooser(s, c, src).choose(); }

}  // namespace lockstep::checker
