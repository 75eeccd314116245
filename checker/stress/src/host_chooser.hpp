// The op mix of a stress host thread. In lockstep the op chooser reads the model's state; a free
// running thread has no such state, only what its own calls told it: which lwps it created (and
// still owns), which one is its curlwp, which processes it forked, and the kthreads everyone
// created (the registry). Ops are drawn from that view so that no call is a FATAL misuse on
// purpose (a FATAL ends the instance, and so the run): a host switches only to its own unbound lwps
// and releases only its own curlwp, and no other host ever knows them. Everything else may fail
// with an errno (a dead pid, a reaped kthread, a bad fd, a non-kthread to suspend): those are
// outcomes the model checks like any other.
//
// The focus. Left to their own views, hosts rarely act on one object at one time: each works in
// the processes it forked, on the descriptors it was given, and a race inside an operation needs a
// second call on the same object inside its window (a close of the fd a dup is copying, a second
// O_CREAT of the path being created, a getppid in a child while its parent's last lwp is released).
// So, as the built-in runs' rounds seek conflicting operations (checker/conflict.hpp), the hosts
// share a focus (Registry::focus): a recently forked process, moved every kFocusCalls draws. Half of
// a host's draws lean on it:
//   - a host in it, or in a child of it, first opens the stretch's own new path with O_CREAT (so the
//     hosts there create one file at once), then draws what meets the others there: dups and closes
//     of the low descriptors every lwp of the table shares, writes and fstats, more opens, getppid,
//     rfork, release, setuid (and, a third of the time when there are kthreads, the ordinary mix,
//     so that the kthread calls keep their share);
//   - a host that forked it, when it holds an lwp in the focus's parent, goes back there and
//     releases it: the parent's end (its children reparented) while the others ask their ppid;
//   - any other host moves in (half the time it first releases its curlwp, so that the processes it
//     leaves end while their children live on), by a switch to an lwp it owns there, else a newlwp.
// The stretch also has a kthread: the same running one for every host, which that share of the
// suspends, resumes, shutdowns and waits aim at; an untimed wait_exit on it asks it to exit
// (KthreadEntry::exit_asked), so that its exit meets a waiter that nothing but the exit wakes.
#pragma once
#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "checker/impl_commands.hpp"
#include "checker/impl_result.hpp"
#include "checker/random_source.hpp"
#include "model/op.hpp"
#include "registry.hpp"

namespace lockstep::checker::stress {

struct OwnedLwp {
  std::uint32_t sym = 0;
  ::lwp* handle = nullptr;
  model::Pid pid = 0;
  model::Pid parent = 0;  // rfork's: the pid of the process it was forked from (0: not known)
};
struct KnownProc {
  std::uint32_t sym = 0;
  ::proc* handle = nullptr;
};

struct HostLimits {
  std::size_t max_lwps = 6;  // rfork / newlwp are drawn only while the host owns fewer lwps
  int max_kthreads = 6;      // kthread_create / kproc_start only while fewer are alive
  // A plug-in SUT (checker/sut) exports part of the C API: only the op kinds whose bit (the OpBody
  // index, as ChooserConfig::supported) is set are drawn; and its C API hands out process handles
  // only for kthreads, so without `user_proc_handles` no call names process 0, 1 or a forked one.
  std::uint32_t supported = ~0u;
  bool user_proc_handles = true;
  // The longest timeout a timed suspend / wait_exit is given, in ticks (drawn from 1..max_timo).
  // Most such waits end by their timeout (a kthread rarely exits), and a host in one makes no other
  // call: with long ticks (a plug-in SUT's 20 ms) ten of them kept the hosts idle most of a run.
  int max_timo = 10;
  std::uint32_t focus_percent = 50;  // the share of draws that lean on the focus (StressConfig::focus_percent)
  // A plug-in SUT that does not say its kthreads' pids (no lockstep_proc_pid): newlwp names only pids
  // that cannot be a kthread's (1, and processes where this host holds an lwp). A freed process's pid
  // that the SUT gave a kthread at once answers EBUSY, and the judge, which places such a kthread at a
  // pid no call names, must then guess at its creation which kthread took it: a 4·10^3-call history
  // took 10^6 backtracks and more (lin/LIN.md, "Unsaid pids").
  bool kthread_pids_unsaid = false;
};

// The max_timo that keeps a timed wait within about 40 ms of real time at ticks of `tick_ns`
// (1 to 10 ticks: 10 at the in-process stress's 1 ms, 2 at a plug-in SUT's 20 ms).
int max_timo_for_tick(std::int64_t tick_ns);

class HostView {
 public:
  HostView(::proc* proc0, ::proc* proc1) : procs_{{0, proc0}, {1, proc1}} {}
  // The op to make next, with its handle arguments resolved.
  struct Choice {
    model::Op op;
    OpHandles args;
    KthreadEntry* held = nullptr;  // a kthread held for the call (KthreadEntry::hold); release after it
    bool focused = false;          // drawn leaning on the focus (StressStats::focused)
    bool probe = false;            // the follow-up of a wake-up (HostView::probe_)
  };
  Choice choose(model::Actor self, Registry& reg, const HostLimits& lim, Source& rng) const;
  // Learns what the call `c` chose did, when it returned normally. `lwp_sym` / `proc_sym` are the
  // symbols the creating call's new objects got.
  void learn(const Choice& c, const ImplResult& r, std::uint32_t lwp_sym, std::uint32_t proc_sym);
  // curlwp's answer as a history symbol: -1 NULL, -2 a handle this host never owned.
  std::int64_t name(::lwp* l) const;
  // For a recorder that cannot tell which lid a newlwp made (a plug-in SUT: lockstep_sut_state may
  // not be read while calls run): the host keeps such an lwp as its curlwp (no switch, newlwp or
  // rfork away from it; a release is fine) until the next §7 observation, where its lid is then
  // shown as this host's curlwp. Two lwps made at once in one process that no observation told
  // apart would otherwise leave the judge no commit point (lin/LIN.md, "Hints and commits").
  void keep_new_lwps_until_observed() { keep_new_lwps_ = true; }
  // A §7 observation was taken with this host between calls.
  void observed() { keeping_ = false; }

 private:
  // HostLimits::kthread_pids_unsaid: `pid` may be a kthread's (no lwp of this host keeps it a user process).
  bool may_be_a_kthread(model::Pid pid, const HostLimits& lim) const {
    return lim.kthread_pids_unsaid && pid > 1 && std::none_of(lwps_.begin(), lwps_.end(), [&](const OwnedLwp& o) { return o.pid == pid; });
  }
  std::vector<OwnedLwp> lwps_;
  std::optional<std::size_t> cur_;   // index into lwps_
  std::vector<KnownProc> procs_;     // processes 0 and 1, then the ones this host forked
  std::vector<model::Pid> pids_;     // pids this host has seen (forked, or of its lwps)
  std::vector<int> fds_;             // descriptors open and dup returned to this host, most recent last
  std::uint32_t opened_stretch_ = ~0u;  // the last focus stretch whose path this host opened
  // The last pid a newlwp of this host's was refused in (ESRCH: the process ended; EBUSY: a
  // kthread): a focus there is not leaned on (a run once spent four fifths of its calls on
  // newlwps into a focus that had ended).
  model::Pid refused_pid_ = 0;
  // The follow-up of a wait that just returned 0, drawn as the next call (after a suspend, half the
  // time): what the wake-up promised is asked at once, before anything else can change it. After a
  // wait_exit, a wait_exit with a one-tick timeout (the kthread is a zombie, or reaped: 0 or ESRCH
  // at once); after a suspend, the same suspend again (it is parked: 0 at once). An implementation
  // that wakes the waiter before the state it promises (wakes, unlocks, then changes it) is caught
  // in that gap by the very caller it woke, where another host would need luck to land in it.
  std::optional<Choice> probe_;
  bool keep_new_lwps_ = false;  // keep_new_lwps_until_observed()
  bool keeping_ = false;        // the curlwp is such an lwp, not yet observed
  // Whether a call of kind k would leave the curlwp while it must be kept.
  bool moves_kept_curlwp(int kind) const;

  // A draw that leans on the focus; nullopt when nothing fits, or a kthread call's turn (the ordinary
  // mix is drawn instead). `kthreads`: how many the registry has published.
  std::optional<Choice> lean_on(Registry::Focus f, std::size_t kthreads, model::Actor self, const HostLimits& lim, Source& rng) const;
};

}  // namespace lockstep::checker::stress
