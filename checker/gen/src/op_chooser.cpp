// Weighted, state-aware choice of the next op. The weights favour the situations
// the SPEC's rules are about: lwps handed between host threads, processes with
// several lwps, last-lwp releases, shared/copied/fresh fd tables that then change,
// suspends racing the thread's check, timeouts, resumes while a suspender waits,
// exits with waiters, releases that orphan a process another host runs in, lwps put in processes
// related to another host's, and maxproc. Misuse (FATAL) is rare because it ends a program.
//
// What an op is -- who performs it, its arguments and their kinds, what it creates -- comes from
// the op-traits table (model/op_traits.hpp): an op is built as default_op(kind) and its arguments
// are filled in by kind (arg_value), so the chooser names an op only where its choice is about that
// op's meaning (the weights, the hand-off, the FATAL each misuse aims at).
#include "checker/op_chooser.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "checker/conflict.hpp"
#include "model/op_traits.hpp"

namespace lockstep::checker {

using namespace lockstep::model;

namespace {

template <class T>
constexpr std::size_t kind_of = op_index<T>();

// The one row an actor kind other than a host performs (the clock ticks, the reaper reaps).
constexpr std::size_t only_row_of(std::uint8_t actor) {
  std::size_t found = kOpKindCount;
  for (std::size_t k = 0; k < kOpKindCount; ++k)
    if (kOpTraits[k].actors == actor) found = found == kOpKindCount ? k : kOpKindCount + 1;
  return found;
}
constexpr std::size_t kClockOp = only_row_of(kByClock);
constexpr std::size_t kReaperOp = only_row_of(kByReaper);
static_assert(kClockOp < kOpKindCount && kReaperOp < kOpKindCount, "the chooser expects one clock op and one reaper op");

// A host's op kinds with their weights (percent), in the order the draw walks them: a kind whose
// precondition fails (see host_allowed) passes the draw on to the next one. Rfork appears twice
// (the remainder). A host-performable op without an entry fails to compile below; weight 0 marks
// an op that a host performs only as misuse.
struct Weight {
  std::size_t kind;
  std::uint32_t percent;
};
constexpr std::array kHostWeights = {
    Weight{kind_of<op::Rfork>, 10},        Weight{kind_of<op::Newlwp>, 8},   Weight{kind_of<op::Switch>, 12},
    Weight{kind_of<op::Release>, 8},       Weight{kind_of<op::Curlwp>, 3},   Weight{kind_of<op::Getpid>, 3},
    Weight{kind_of<op::Getppid>, 2},       Weight{kind_of<op::Open>, 6},     Weight{kind_of<op::Write>, 5},
    Weight{kind_of<op::Fstat>, 4},         Weight{kind_of<op::Close>, 4},    Weight{kind_of<op::Dup>, 3},
    Weight{kind_of<op::Getuid>, 2},        Weight{kind_of<op::Setuid>, 3},   Weight{kind_of<op::KthreadCreate>, 4},
    Weight{kind_of<op::KprocStart>, 1},    Weight{kind_of<op::Suspend>, 7},  Weight{kind_of<op::Resume>, 6},
    Weight{kind_of<op::WaitExit>, 4},      Weight{kind_of<op::KprocShutdown>, 1}, Weight{kind_of<op::Init>, 1},
    Weight{kind_of<op::Rfork>, 3},
    Weight{kind_of<op::SuspendCheck>, 0},  // by a host it is K5-other: misuse() only
};
static_assert([] {
  std::uint32_t sum = 0;
  for (const Weight& w : kHostWeights) sum += w.percent;
  return sum == 100;
}(), "the host weights are percentages");
static_assert([] {
  for (std::size_t k = 0; k < kOpKindCount; ++k) {
    if ((kOpTraits[k].actors & kByHost) == 0) continue;
    bool listed = false;
    for (const Weight& w : kHostWeights) listed = listed || w.kind == k;
    if (!listed) return false;
  }
  return true;
}(), "an op a host can perform has no weight in kHostWeights");

// Whether an op allocates a pid, i.e. whether a model::Choice can bind it (P1, K1).
bool allocates_pid(const OpBody& b) {
  const Creates c = traits(b).creates;
  return c == Creates::ProcessAndLwp || c == Creates::Kthread;
}

template <class T>
const T& pick(const std::vector<T>& v, Source& src) {
  return v[src.below(static_cast<std::uint32_t>(v.size()))];
}

// The chooser's working lists, kept from call to call on each thread: a round's look-ahead resolves
// a dozen candidate steps per slot, and each call would otherwise allocate them afresh. A Chooser
// lives for one choose_step() call and never calls another, so one set per thread is enough.
struct ChooserLists {
  std::vector<HostId> free_hosts;
  std::vector<ProcId> kthreads, running_kthreads, zombies;
  std::vector<LwpId> found;  // lwp_where's matches
  std::vector<std::uint32_t> near_ids;  // focused_pick's, for processes and lwps (both 32-bit ids)
  std::vector<HostId> near_hosts;
};

class Chooser {
 public:
  Chooser(const State& s, const ChooserConfig& c, Source& src, ChooserLists& lists)
      : s_(s), c_(c), src_(src), l_(lists), free_hosts_(lists.free_hosts), kthreads_(lists.kthreads),
        running_kthreads_(lists.running_kthreads), zombies_(lists.zombies) {
    free_hosts_.clear(), kthreads_.clear(), running_kthreads_.clear(), zombies_.clear();
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
    process_focus_ = std::any_of(c.focus.begin(), c.focus.end(), [](ProcId p) { return is_process_object(p); });
  }

  // Whether a process is one the round touched (always false for an unfocused step).
  bool in_focus(ProcId p) const { return std::binary_search(c_.focus.begin(), c_.focus.end(), p); }

  // A focused step picks among the items in focus half of the time (when there are any); an
  // unfocused one draws nothing extra, so a program means the same ops without a round around it.
  template <class T, class InFocus>
  T focused_pick(const std::vector<T>& all, InFocus in) {
    if (process_focus_ && src_.percent(50)) {
      std::vector<T>& near = near_buffer<T>();
      near.clear();
      for (const T& x : all)
        if (in(x)) near.push_back(x);
      if (!near.empty()) return pick(near, src_);
    }
    return pick(all, src_);
  }

  ChosenStep choose() {
    if (option(c_.arbitrary_percent)) return bind(arbitrary(), true);
    if (!s_.initialized) {
      if (option(c_.uninit_misuse_percent)) return bind(arbitrary(), true);
      return {Op{Actor::host(0), op::Init{}}, {}};
    }
    ChosenStep st{state_aware(), {}};
    if (option(c_.extreme_percent)) extreme_arg(st.op.body);
    if (option(c_.wrong_actor_percent)) st.op.actor = wrong_actor();
    return bind(std::move(st), false);
  }

 private:
  // An option that is off draws nothing, so programs keep their meaning when options are added.
  bool option(std::uint32_t percent) { return percent != 0 && src_.percent(percent); }

  Op state_aware() {
    const std::uint32_t r = src_.below(100);
    if (r < 8 || free_hosts_.empty()) return filled(Actor::clock(), kClockOp);
    // A full table (exactly maxproc) with a zombie in it is where a reap frees the last slot, which a
    // kthread creation racing the reap may or may not see: the reaper draws four times as often there.
    const std::uint32_t reaper_upto = s_.nprocs == s_.maxproc && !zombies_.empty() ? 20 : 11;
    if (r < reaper_upto && !kthreads_.empty() && c_.supports(kReaperOp)) return filled(Actor::reaper(), kReaperOp);
    if (r < 33 && !running_kthreads_.empty() && any_kthread_op()) return kthread_op(focused_pick(running_kthreads_, [&](ProcId p) { return in_focus(p); }));
    const HostId h = focused_pick(free_hosts_, [&](HostId x) { return in_focus(s_.current_proc(x)); });
    if (src_.percent(c_.misuse_percent)) return Op{Actor::host(h), misuse(h)};
    if (process_focus_) {
      if (in_focus(s_.current_proc(h)) && src_.percent(40)) return Op{Actor::host(h), observer()};
      // A process the round has freed: does it still exist for everyone?
      if (const std::optional<Pid> gone = freed_focus_pid(); src_.percent(20) && gone) return Op{Actor::host(h), op::Newlwp{*gone}};
      // A kthread the round has reaped: does its handle still name it for everyone? (K4 answers
      // ESRCH once it is reaped; kthread_resume never blocks, so the same host may call again.)
      if (const std::optional<ProcId> reaped = reaped_focus_kthread(); reaped && c_.supports(kind_of<op::Resume>) && src_.percent(20))
        return Op{Actor::host(h), op::Resume{*reaped}};
      // A freed process in focus, with the table one short of full: is the freed slot free for
      // everyone? At maxproc a kthread creation answers EAGAIN until the count is given back (K1);
      // with every pid taken a fork answers EAGAIN until the pid is (P1). Either may be given back
      // later than the table entry, in a critical section of its own.
      if (freed_in_focus()) {
        if (s_.nprocs + 1 == s_.maxproc && host_allowed(kind_of<op::KthreadCreate>) && src_.percent(30))
          return Op{Actor::host(h), host_body(h, kind_of<op::KthreadCreate>)};
        if (free_pids() == 1 && c_.supports(kind_of<op::Rfork>) && src_.percent(30)) return Op{Actor::host(h), host_body(h, kind_of<op::Rfork>)};
      }
    }
    // A release that orphans a process another host runs in is a situation of its own (L4, R6: its
    // children are reparented while someone may be asking who their parent is), rare if a host in a
    // last lwp releases no more often than any other.
    if (orphans_a_running_child(h) && src_.percent(25)) return Op{Actor::host(h), op::Release{}};
    // With every pid taken, a release that frees its process frees the one pid a fork racing it may
    // or may not get (P1's EAGAIN): as rare as any release otherwise.
    if (frees_its_process(h) && free_pids() == 0 && src_.percent(25)) return Op{Actor::host(h), op::Release{}};
    return Op{Actor::host(h), host_op(h)};
  }

  // Whether h's release would free its process: its curlwp is the last lwp of a user process.
  bool frees_its_process(HostId h) const {
    if (s_.curlwp(h) == kNoLwp) return false;
    const Process& p = s_.procs[s_.current_proc(h)];
    return p.kind == ProcKind::User && s_.live_lwps(p) == 1;
  }

  // Whether h's curlwp is the last lwp of a user process in whose child another host runs.
  bool orphans_a_running_child(HostId h) const {
    if (s_.curlwp(h) == kNoLwp) return false;
    const ProcId p = s_.current_proc(h);
    if (s_.procs[p].kind != ProcKind::User || s_.live_lwps(s_.procs[p]) != 1) return false;
    for (HostId o = 0; o < s_.hosts.size(); ++o)
      if (o != h && s_.curlwp(o) != kNoLwp && s_.procs[s_.current_proc(o)].ppid == s_.procs[p].pid) return true;
    return false;
  }

  // The user processes that are a child or the parent of another host's current process: an lwp in
  // one puts two host threads in related processes, where one's release or fork changes what the
  // other sees (its parent, a shared fd table).
  std::vector<Pid> kin_of_other_hosts(HostId h) const {
    std::vector<Pid> kin;
    for (HostId o = 0; o < s_.hosts.size(); ++o) {
      if (o == h || s_.curlwp(o) == kNoLwp) continue;
      const Process& theirs = s_.procs[s_.current_proc(o)];
      if (theirs.kind != ProcKind::User) continue;
      for (const auto& [pid, q] : s_.table)
        if (s_.procs[q].kind == ProcKind::User && (s_.procs[q].ppid == theirs.pid || pid == theirs.ppid)) kin.push_back(pid);
    }
    std::sort(kin.begin(), kin.end());
    kin.erase(std::unique(kin.begin(), kin.end()), kin.end());
    return kin;
  }

  // An op of `kind` by `a`, its arguments drawn in the row's order.
  Op filled(const Actor& a, std::size_t kind) {
    Op op{a, default_op(kind)};
    const OpTraits& t = kOpTraits[kind];
    for_each_arg_mut(op.body, [&](const ArgTraits& arg, auto& value) { value = arg_value(a, t, arg, value); });
    return op;
  }

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
    // Exit, check, work; a kind a SUT does not export takes no share (any_kthread_op(): one is left).
    const std::array<Weight, 3> mix = {Weight{kind_of<op::KthreadExit>, exit_percent},
                                       Weight{kind_of<op::SuspendCheck>, (100 - exit_percent) / 2},
                                       Weight{kind_of<op::Work>, 100 - exit_percent - (100 - exit_percent) / 2}};
    std::uint32_t total = 0;
    for (const Weight& w : mix) total += c_.supports(w.kind) ? w.percent : 0;
    const std::uint32_t r = src_.below(total);
    const Actor a = Actor::kthread(self);
    std::uint32_t upto = 0;
    for (const Weight& w : mix) {
      if (!c_.supports(w.kind)) continue;
      upto += w.percent;
      if (r < upto) return filled(a, w.kind);
    }
    return filled(a, kind_of<op::SuspendCheck>);
  }
  bool any_kthread_op() const {
    return c_.supports(kind_of<op::KthreadExit>) || c_.supports(kind_of<op::SuspendCheck>) || c_.supports(kind_of<op::Work>);
  }

  // The pid of a user process in focus that has been freed (and not reused), if there is one.
  std::optional<Pid> freed_focus_pid() {
    for (ProcId p : c_.focus)
      if (p < s_.procs.size() && s_.procs[p].kind == ProcKind::User && s_.procs[p].freed && !s_.by_pid(s_.procs[p].pid))
        return s_.procs[p].pid;
    return std::nullopt;
  }

  // A kthread in focus that has been reaped, if there is one.
  std::optional<ProcId> reaped_focus_kthread() const {
    for (ProcId p : c_.focus)
      if (p < s_.procs.size() && s_.procs[p].kind == ProcKind::Kthread && s_.procs[p].freed) return p;
    return std::nullopt;
  }

  // How many pids a fork could take now (2..pid_max, not in the table).
  std::size_t free_pids() const {
    std::size_t taken = 0;
    for (const auto& entry : s_.table) taken += entry.first >= 2 && entry.first <= s_.pid_max;
    const std::size_t space = s_.pid_max >= 2 ? static_cast<std::size_t>(s_.pid_max) - 1 : 0;
    return space > taken ? space - taken : 0;
  }

  // Whether a process in focus (a user process or a kthread) has left the table.
  bool freed_in_focus() const {
    return std::any_of(c_.focus.begin(), c_.focus.end(), [&](ProcId p) { return p < s_.procs.size() && s_.procs[p].freed; });
  }

  // What a host in a process that a round's operation is changing asks about it.
  // The parent link first: exits and releases change it for processes other than their own, and
  // once the round has freed a process it is the one answer that may still name it.
  OpBody observer() {
    if (!c_.supports(kind_of<op::Getppid>) || !c_.supports(kind_of<op::Getpid>)) return op::Curlwp{};
    if (freed_focus_pid() && src_.percent(70)) return op::Getppid{};
    switch (src_.below(4)) {
      case 0:
      case 1: return op::Getppid{};
      case 2: return op::Getpid{};
      default: return op::Curlwp{};
    }
  }

  // An op that the SPEC answers with FATAL, chosen so that each FATAL id is reached.
  OpBody misuse(HostId h) {
    const LwpId cur = s_.curlwp(h);
    switch (src_.below(6)) {
      case 0: if (cur == kNoLwp) return op::Switch{kNoLwp}; break;    // L3-null-implicit
      case 1: if (cur == kNoLwp) return op::Release{}; break;         // L4-implicit
      case 2: if (auto l = lwp_where([](const Lwp& x) { return x.released; })) return op::Switch{*l}; break;  // L3-stale
      case 3: if (auto l = lwp_where([](const Lwp& x) { return x.bound >= 0; })) return op::Switch{*l}; break;  // L3-running
      case 4: if (!kthreads_.empty() && c_.supports(kind_of<op::SuspendCheck>)) return op::SuspendCheck{pick(kthreads_, src_)}; break;  // K5-other
      case 5: if (s_.nprocs >= s_.maxproc && c_.supports(kind_of<op::KprocStart>)) return op::KprocStart{"kproc"}; break;  // K6-panic
    }
    return op::Switch{static_cast<LwpId>(s_.lwps.size() + src_.below(3))};  // never issued: L3-stale
  }

  // focused_pick's list of the items in focus (never one of the lists it picks from).
  template <class T>
  std::vector<T>& near_buffer() {
    if constexpr (std::is_same_v<T, HostId>) return l_.near_hosts;
    else return l_.near_ids;
  }

  template <class Pred>
  std::optional<LwpId> lwp_where(Pred p) {
    std::vector<LwpId>& found = l_.found;
    found.clear();
    for (LwpId l = 1; l < s_.lwps.size(); ++l)  // lwp0 is never handed to a host
      if (p(s_.lwps[l]) && s_.lwps[l].bound != kKernelThread) found.push_back(l);
    if (found.empty()) return std::nullopt;
    return focused_pick(found, [&](LwpId l) { return in_focus(s_.lwps[l].proc); });
  }

  // A host op kind may be drawn now: one that creates a kthread only while fewer than max_kthreads
  // are alive, and one that cannot report failure (void, so K6 panics) only below maxproc.
  bool host_allowed(std::size_t kind) const {
    const OpTraits& t = kOpTraits[kind];
    if (!c_.supports(kind)) return false;
    if (!c_.user_proc_handles && t.nargs > 0 && t.args[0].kind == ArgKind::ProcSym && kthreads_.empty()) return false;
    if (t.creates != Creates::Kthread) return true;
    if (alive_kthreads_ >= c_.max_kthreads) return false;
    return t.returns != Returns::Nothing || s_.nprocs < s_.maxproc;
  }

  OpBody host_op(HostId h) {
    // A table that has grown keeps growing now and then, so fds past 20 (NetBSD's NDFILE, where a
    // table outgrows its first array) are reached within a program. Below the threshold nothing is
    // drawn here.
    if (open_fds(h) >= kGrowingTable && c_.supports(kind_of<op::Open>) && c_.supports(kind_of<op::Dup>) && src_.percent(50))
      return filled(Actor::host(h), src_.percent(70) ? kind_of<op::Open> : kind_of<op::Dup>).body;
    // Kinds a SUT does not export take no share of the draw (with all of them it is below(100)).
    std::uint32_t total = 0;
    for (const Weight& w : kHostWeights)
      if (c_.supports(w.kind)) total += w.percent;
    const std::uint32_t r = src_.below(total);
    std::uint32_t upto = 0;
    for (const Weight& w : kHostWeights) {
      if (!c_.supports(w.kind)) continue;
      upto += w.percent;
      if (r < upto && host_allowed(w.kind)) return host_body(h, w.kind);
    }
    return host_body(h, kind_of<op::Rfork>);
  }

  // The two host ops whose plain use depends on the host's current lwp: a release (and switch(NULL))
  // from IMPLICIT is FATAL, so the chooser forks instead; a switch is mostly a hand-off.
  OpBody host_body(HostId h, std::size_t kind) {
    const LwpId cur = s_.curlwp(h);
    if (kind == kind_of<op::Switch>) {
      // Hand-off: switch to an lwp nobody runs (released by no one, bound to no one), or to NULL;
      // often one in a process related to another host's (see kin_of_other_hosts).
      const auto unbound = [](const Lwp& x) { return !x.released && x.bound == kUnbound; };
      if (const std::vector<Pid> kin = kin_of_other_hosts(h); !kin.empty() && src_.percent(40)) {
        const auto in_kin = [&](const Lwp& x) { return unbound(x) && std::binary_search(kin.begin(), kin.end(), s_.procs[x.proc].pid); };
        if (auto l = lwp_where(in_kin)) return op::Switch{*l};
      }
      if (auto l = lwp_where(unbound); l && src_.percent(75)) return op::Switch{*l};
      if (cur != kNoLwp) return op::Switch{kNoLwp};
      kind = kind_of<op::Rfork>;
    }
    if (kind == kind_of<op::Release>) {
      if (cur != kNoLwp) return op::Release{};
      kind = kind_of<op::Rfork>;
    }
    if (kind == kind_of<op::Newlwp>) {
      if (const std::vector<Pid> kin = kin_of_other_hosts(h); !kin.empty() && src_.percent(40)) return op::Newlwp{pick(kin, src_)};
    }
    return filled(Actor::host(h), kind).body;
  }

  // A plausible value for one argument of an op by `a`: by its kind, and for a plain number by
  // what it is (its name, or the flag vocabulary the row shows it in).
  template <class V>
  V arg_value(const Actor& a, const OpTraits& row, const ArgTraits& arg, const V&) {
    if constexpr (std::is_same_v<V, std::string>) {
      return arg.name == "path" ? some_path() : kthread_name();
    } else if constexpr (std::is_same_v<V, bool>) {
      return src_.percent(70);
    } else {
      switch (arg.kind) {
        case ArgKind::Pid: return static_cast<V>(some_pid());
        case ArgKind::Uid: return static_cast<V>(pick(kUids, src_));
        case ArgKind::LwpSym: return static_cast<V>(lwp_where([](const Lwp& x) { return !x.released && x.bound == kUnbound; }).value_or(kNoLwp));
        case ArgKind::ProcSym:
          if (a.kind == Actor::Kind::Kthread) return static_cast<V>(a.index);  // a kthread names itself
          if (a.kind == Actor::Kind::Reaper)
            return static_cast<V>(zombies_.empty() || src_.percent(20) ? pick(kthreads_, src_) : pick(zombies_, src_));
          return static_cast<V>(some_proc());
        default: break;
      }
      if (arg.show == ArgShow::RforkFlags) return static_cast<V>(rfork_flags());
      if (arg.show == ArgShow::KthreadFlags) return static_cast<V>(kthread_flags());
      if (arg.name == "fd") return static_cast<V>(some_fd(static_cast<HostId>(a.index)));
      if (arg.name == "timo") return static_cast<V>(suspend_timo());
      if (arg.name == "code") return static_cast<V>(exit_code());
      if (arg.name == "n") return static_cast<V>(a.kind == Actor::Kind::Clock ? tick_length() : static_cast<std::int64_t>(src_.below(5)) * 10);
      (void)row;
      return static_cast<V>(src_.below(4));  // any other small number
    }
  }

  // An exit code: mostly small, sometimes one that does not fit a byte or is negative (K2 keeps the
  // int whole: an implementation that stores it as a wait status would cut it to 8 bits).
  int exit_code() {
    if (src_.percent(85)) return static_cast<int>(src_.below(4));
    return pick(std::vector<int>{255, 256, -1, std::numeric_limits<int>::max(), std::numeric_limits<int>::min()}, src_);
  }

  int rfork_flags() {
    const std::uint32_t r = src_.below(100);
    if (r >= 96) return pick(std::vector<int>{3, 4, -1, 0x10}, src_);  // EINVAL
    return static_cast<int>(r % 3);
  }
  int kthread_flags() {
    const std::uint32_t r = src_.below(100);
    if (r >= 95) return kRfcfdg;
    // A bit other than RFFDG: among them FreeBSD's RFPROC (1<<4), RFMEM (1<<5) and RFSTOPPED (1<<17),
    // flags a kthread_create caller might pass and an implementation might wrongly accept.
    if (r >= 92) return pick(std::vector<int>{1, 1 << 4, 1 << 5, 1 << 17}, src_);
    return r < 46 ? 0 : kRffdg;
  }
  // Names on both sides of MAXCOMLEN (19 bytes kept whole, 20 cut by one) as well as plainly short and
  // long ones: a truncation off by one shows only at the boundary.
  std::string kthread_name() {
    static const std::vector<std::string> names = {"kt", "pagedaemon", "a_name_longer_than_maxcomlen", "nineteen_bytes_name",
                                                   "twenty_bytes_name_xx"};
    return pick(names, src_);
  }
  // Choice 0 (what shrinking moves toward) is the plain case everywhere; misuse comes last.
  // A timeout of K3 or K8: mostly a few ticks, often none (0) or one second (hz), sometimes past a
  // second, up to INT_MAX (an implementation that caps or converts its sleep shows there, at the
  // deadline its wait arms), and rarely a negative one (EINVAL).
  int suspend_timo() {
    const std::uint32_t r = src_.below(100);
    if (r < 50) return static_cast<int>(1 + src_.below(10));
    if (r < 73) return 0;
    if (r < 90) return kHz;
    if (r < 98) return pick(std::vector<int>{kHz + 1, 2 * kHz + 50, kShutdownTicks, std::numeric_limits<int>::max()}, src_);
    return -1;
  }

  // A pid in the table most of the time, otherwise one that is not: often the pid of a process
  // that was freed (a stale pid, what a caller racing that process's exit still holds), else any.
  Pid some_pid() {
    if (process_focus_ && src_.percent(50)) {
      std::vector<Pid> near;  // live or freed: a stale pid races the release that freed it
      for (ProcId p : c_.focus)
        if (p < s_.procs.size()) near.push_back(s_.procs[p].pid);
      if (!near.empty()) return pick(near, src_);
    }
    if (src_.percent(85)) {
      auto it = s_.table.begin();
      std::advance(it, src_.below(static_cast<std::uint32_t>(s_.table.size())));
      return it->first;
    }
    if (src_.percent(60)) {
      std::vector<Pid> freed;
      for (const Process& p : s_.procs)
        if (p.freed && !s_.by_pid(p.pid)) freed.push_back(p.pid);
      if (!freed.empty()) return pick(freed, src_);
    }
    return static_cast<Pid>(2 + src_.below(40));
  }

  // A process handle: a kthread mostly, sometimes any other process that ever existed.
  ProcId some_proc() {
    if (!c_.user_proc_handles) return focused_pick(kthreads_, [&](ProcId p) { return in_focus(p); });  // host_allowed: not empty
    if (!kthreads_.empty() && src_.percent(85)) return focused_pick(kthreads_, [&](ProcId p) { return in_focus(p); });
    return src_.below(static_cast<std::uint32_t>(s_.procs.size()));
  }

  // A path: half of the time one the round touched, when it touched one (an open racing another
  // open or an fd op on that file); otherwise any.
  std::string some_path() {
    std::vector<std::string> near;
    for (const std::string& p : kPaths)
      if (std::binary_search(c_.focus.begin(), c_.focus.end(), path_object(p))) near.push_back(p);
    if (!near.empty() && src_.percent(50)) return pick(near, src_);
    return pick(kPaths, src_);
  }

  static constexpr std::size_t kGrowingTable = 7;
  std::size_t open_fds(HostId h) const {
    const FdTable& t = s_.fdtables[s_.procs[s_.current_proc(h)].fdtable];
    return static_cast<std::size_t>(std::count_if(t.fds.begin(), t.fds.end(), [](DescId d) { return d != kNoDesc; }));
  }

  int some_fd(HostId h) {
    const FdTable& t = s_.fdtables[s_.procs[s_.current_proc(h)].fdtable];
    std::vector<int> open;
    for (std::size_t fd = 0; fd < t.fds.size(); ++fd)
      if (t.fds[fd] != kNoDesc) open.push_back(static_cast<int>(fd));
    if (!open.empty() && src_.percent(85)) return pick(open, src_);
    return static_cast<int>(src_.below(static_cast<std::uint32_t>(t.fds.size() + 2))) - 1;
  }

  // --- the options (ChooserConfig's misuse beyond the SPEC's FATALs) ---

  ChosenStep bind(ChosenStep st, bool any_op) {
    if ((any_op || allocates_pid(st.op.body)) && option(c_.bind_pid_percent))
      st.choice.pid = src_.percent(80) ? static_cast<Pid>(2 + src_.below(40)) : pick(kRefusedPids, src_);
    return st;
  }

  Actor wrong_actor() {
    switch (src_.below(5)) {
      case 0: return Actor::host(src_.below(static_cast<std::uint32_t>(c_.hosts)));  // perhaps blocked
      case 1: return Actor::kthread(src_.below(static_cast<std::uint32_t>(s_.procs.size()) + 2));
      case 2: return Actor::clock();
      case 3: return Actor::reaper();
      default: return Actor::host(pick(std::vector<HostId>{static_cast<HostId>(c_.hosts), static_cast<HostId>(c_.hosts + 1), 200}, src_));
    }
  }

  // Every argument kind's extreme values: what no plausible program passes.
  template <class V>
  V extreme_value(const ArgTraits& arg, const V& now) {
    if constexpr (std::is_same_v<V, std::string>) {
      return pick(std::vector<std::string>{"", "/missing", std::string(40, 'x')}, src_);
    } else if constexpr (std::is_same_v<V, bool>) {
      return !now;
    } else {
      switch (arg.kind) {
        case ArgKind::Int64:
          return static_cast<V>(pick(std::vector<std::int64_t>{-1, -5, 6000, std::numeric_limits<std::int64_t>::max() / 4,
                                                               std::numeric_limits<std::int64_t>::max() / 2}, src_));
        case ArgKind::Pid: return static_cast<V>(pick(std::vector<Pid>{-1, 0, 1, 2, 12345, 99999, kPidMax, kPidMax + 1}, src_));
        case ArgKind::Uid: return static_cast<V>(src_.percent(50) ? std::numeric_limits<std::uint32_t>::max() : src_.below(std::numeric_limits<std::uint32_t>::max()));
        case ArgKind::LwpSym: {
          const std::uint32_t r = src_.below(3);
          return static_cast<V>(r == 0 ? kNoLwp : r == 1 ? 0 : s_.lwps.size() + src_.below(5));  // NULL, lwp0, never issued
        }
        case ArgKind::ProcSym:
          // never issued, or any process (before rump_init there is none)
          return static_cast<V>(src_.percent(50) || s_.procs.empty() ? s_.procs.size() + src_.below(3)
                                                                     : src_.below(static_cast<std::uint32_t>(s_.procs.size())));
        default:
          return static_cast<V>(pick(std::vector<int>{-1, -7, 3, 4, 0x10, 1 << 20, std::numeric_limits<int>::max(),
                                                      std::numeric_limits<int>::min()}, src_));
      }
    }
  }

  void extreme_arg(OpBody& body) {
    const std::size_t n = traits(body).nargs;
    if (n == 0) return;
    const std::size_t which = src_.below(static_cast<std::uint32_t>(n));
    std::size_t i = 0;
    for_each_arg_mut(body, [&](const ArgTraits& arg, auto& value) {
      if (i++ == which) value = extreme_value(arg, value);
    });
  }

  // Any op kind, by an actor its row allows (mostly) or any actor, with arguments that ignore the
  // state: small numbers, extremes, handles that may or may not exist.
  ChosenStep arbitrary() {
    const std::size_t kind = src_.below(kOpKindCount);
    const OpTraits& t = kOpTraits[kind];
    Actor::Kind who = static_cast<Actor::Kind>(src_.below(4));
    if (src_.percent(70)) {
      std::vector<Actor::Kind> allowed;
      for (Actor::Kind k : {Actor::Kind::Host, Actor::Kind::Kthread, Actor::Kind::Clock, Actor::Kind::Reaper})
        if (t.actors & actor_bit(k)) allowed.push_back(k);
      who = pick(allowed, src_);
    }
    Actor a{who, 0};
    if (who == Actor::Kind::Host)
      a.index = src_.percent(95) ? src_.below(static_cast<std::uint32_t>(c_.hosts) + 1) : src_.below(std::numeric_limits<std::uint32_t>::max());
    if (who == Actor::Kind::Kthread) a.index = src_.below(static_cast<std::uint32_t>(s_.procs.size()) + 2);
    Op op{a, default_op(kind)};
    for_each_arg_mut(op.body, [&](const ArgTraits& arg, auto& value) {
      using V = std::decay_t<decltype(value)>;
      if (src_.percent(50)) {
        value = extreme_value(arg, value);
      } else if constexpr (std::is_same_v<V, std::string>) {
        value = std::string(src_.below(30), 'n');
      } else if constexpr (std::is_same_v<V, bool>) {
        value = src_.percent(50);
      } else {
        value = static_cast<V>(src_.below(8));
      }
    });
    return {std::move(op), {}};
  }

  inline static const std::vector<std::string> kPaths = {"/a", "/b", "/tmp/c", "/dev/console"};
  // (uid_t)-1 too: an ordinary uid under SPEC P8 (model/SEMANTICS.md, Reading 15), where an
  // implementation built on setresuid-style code would read "unchanged".
  inline static const std::vector<Uid> kUids = {0, 1000, 1001, std::numeric_limits<Uid>::max()};
  inline static const std::vector<Pid> kRefusedPids = {1, 0, -1, kPidMax + 1};

  const State& s_;
  const ChooserConfig& c_;
  Source& src_;
  ChooserLists& l_;
  std::vector<HostId>& free_hosts_;
  std::vector<ProcId>& kthreads_;
  std::vector<ProcId>& running_kthreads_;
  std::vector<ProcId>& zombies_;
  int alive_kthreads_ = 0;
  bool process_focus_ = false;  // the focus holds a process (not only paths)
};

}  // namespace

ChosenStep choose_step(const State& s, const ChooserConfig& c, Source& src) {
  thread_local ChooserLists lists;
  return Chooser(s, c, src, lists).choose();
}

}  // namespace lockstep::checker
