#include "impl/faults.hpp"

#include <array>

namespace lockstep::impl {
namespace {

constexpr std::array<FaultInfo, static_cast<unsigned>(Fault::count_)> kFaults{{
    {Fault::release_keeps_proc, "release_keeps_proc",
     "releasing the last lwp of a process does not free the process", "L4, R1"},
    {Fault::switch_ignores_running, "switch_ignores_running",
     "lwproc_switch does not check that the target lwp is already running on a host thread",
     "L3-running, R4"},
    {Fault::freed_lwp_reachable, "freed_lwp_reachable",
     "a released lwp stays in the lwp lookup table, so switching to its stale handle succeeds",
     "L3-stale, R2"},
    {Fault::rfcfdg_shares, "rfcfdg_shares", "rfork(RUMP_RFCFDG) shares the parent's fd table instead of a fresh one",
     "P1, P7"},
    {Fault::rffdg_shares, "rffdg_shares", "rfork(RUMP_RFFDG) shares the parent's fd table instead of copying it",
     "P1, P7"},
    {Fault::orphans_keep_ppid, "orphans_keep_ppid",
     "freeing a process does not reparent its children to process 1", "L4, R6"},
    {Fault::nprocs_not_decremented, "nprocs_not_decremented",
     "freeing (or reaping) a process does not decrement nprocs", "R6, K9"},
    {Fault::pid_reuse_zombie, "pid_reuse_zombie",
     "a kthread's pid is returned to the allocator at kthread_exit instead of at reap, so it is "
     "reused while the zombie is still in the table",
     "R5, P1"},
    {Fault::resume_no_wakeup, "resume_no_wakeup",
     "kthread_resume clears the request but does not wake the parked thread", "K4, S3"},
    {Fault::suspend_timeout_clears, "suspend_timeout_clears",
     "a kthread_suspend that times out clears suspend_requested", "K3"},
    {Fault::exit_no_wakeup, "exit_no_wakeup", "kthread_exit does not wake threads waiting for the exit",
     "K2, K8, S5"},
    {Fault::shared_wakeup_channel, "shared_wakeup_channel",
     "FreeBSD 5's shared sleep channel: a resume also wakes a pending suspender, which returns 0 "
     "without any acknowledgement",
     "K3, K4, S2"},
    {Fault::suspend_check_lost_wakeup, "suspend_check_lost_wakeup",
     "kthread_suspend_check tests the flag outside the lock before sleeping, so a resume in between "
     "is lost and the thread parks with no request pending",
     "K5, S3", false, true},
    {Fault::setuid_no_check, "setuid_no_check", "setuid does not check the caller's uid (no EPERM)", "P8"},
    {Fault::park_spins, "park_spins",
     "kthread_suspend_check busy-waits for the resume (drop the lock, retake it, test again) instead "
     "of sleeping: a livelock that never blocks",
     "K5, §5", false, false, true},
    {Fault::comm_cut_late, "comm_cut_late",
     "kthread_create cuts the name only when it is longer than sizeof(p_comm) = MAXCOMLEN + 1, so a name "
     "of MAXCOMLEN + 1 bytes is kept whole",
     "K1"},
    {Fault::kthread_flags_loose, "kthread_flags_loose",
     "kthread_create accepts RFPROC and RFMEM besides RFFDG (flags a fork path takes) instead of EINVAL", "K1"},
    {Fault::setuid_minus_one_unchanged, "setuid_minus_one_unchanged",
     "setuid((uid_t)-1) returns 0 and changes nothing (do_setresuid's 'unchanged' showing through)", "P8"},
    {Fault::fd_array_fixed, "fd_array_fixed",
     "the fd array is never grown past NetBSD's NDFILE (20): an open or dup that needs fd 20 or more fails "
     "with EMFILE",
     "P7"},
    {Fault::switch_check_gap, "switch_check_gap",
     "lwproc_switch checks that the target lwp is not running, drops its locks, and binds it in a second "
     "critical section: two hosts switching to one lwp can both pass the check",
     "L3-running, R4", false, true},
    {Fault::fork_pid_gap, "fork_pid_gap",
     "rfork looks the pid up in one critical section and inserts the process (moving the allocator's "
     "cursor) in another: two concurrent forks get the same pid",
     "P1, R5", false, true},
    {Fault::exit_wakes_early, "exit_wakes_early",
     "kthread_exit wakes the exit waiters in a critical section of its own before it sets ZOMBIE: a "
     "waiter that re-checks in between sleeps on and misses the exit",
     "K2, K8, S5", false, true},
    {Fault::resume_split, "resume_split",
     "kthread_resume clears suspend_requested in one critical section and unparks the thread in "
     "another: a suspend in between sees PARKED and returns 0 without an acknowledgement",
     "K4, S2", false, true},
    {Fault::reparent_late, "reparent_late",
     "freeing a process reparents its children only after the process table lock was dropped: in "
     "between they point at a pid that is not in the table",
     "L4, R6", false, true},
    {Fault::kthread_handle_late, "kthread_handle_late",
     "kthread_create stores *newp after it started the new thread, which may already run and read it "
     "unset",
     "K1", false, true},
    {Fault::park_no_loop, "park_no_loop",
     "kthread_suspend_check sleeps once instead of looping on PARKED: after a spurious wakeup the "
     "thread does work while still PARKED",
     "K5, S1", false, true},
    {Fault::wait_exit_no_loop, "wait_exit_no_loop",
     "the K8 exit wait sleeps once instead of looping on the state: a spurious wakeup returns 0 while "
     "the thread still runs",
     "K8", false, true},
    {Fault::dup_split, "dup_split",
     "dup looks the descriptor up in one critical section and takes the new fd in another: a close of "
     "the descriptor in between is not seen, and the closed description is installed again",
     "P7", false, true},
    {Fault::open_create_split, "open_create_split",
     "open looks the path up in one critical section and inserts the file O_CREAT made in another: two "
     "creators of one new path make two files",
     "P7", false, true},
    {Fault::suspend_stale_clock, "suspend_stale_clock",
     "kthread_suspend reads the clock before it looks the target up and locks it: a tick in between makes the "
     "deadline count from before the request, and the wait times out early",
     "K3, S2", false, true},
    {Fault::test_extra_kthread, "test_extra_kthread", "test only: kthread_create ignores maxproc, so it creates kthreads the model refuses",
     "K1", true},
    {Fault::test_extra_process, "test_extra_process", "test only: rfork also puts a second, hidden process in the table", "P1, R1",
     true},
    {Fault::test_extra_wakeup, "test_extra_wakeup",
     "test only: kthread_resume wakes the thread's exit waiters, which take any wake-up for the exit", "K8, S5", true},
    {Fault::test_missing_wakeup, "test_missing_wakeup", "test only: an acknowledgement does not wake the waiting suspenders",
     "K5, S2", true},
    {Fault::test_body_stuck, "test_body_stuck",
     "test only: a kthread's work unit sleeps for ever on a condition nobody signals (it never returns to its body)", "K5",
     true},
    {Fault::test_host_op_hangs, "test_host_op_hangs",
     "test only: getppid blocks its OS thread for ever outside the sync layer, holding the process table lock", "P6",
     true},
    {Fault::test_kthread_panics, "test_kthread_panics", "test only: a kthread's work unit panics", "K5", true},
    {Fault::test_thread_exits_early, "test_thread_exits_early",
     "test only: a kthread's OS thread ends inside a work unit, its state left RUNNING", "K2", true},
    {Fault::test_late_deadline, "test_late_deadline",
     "test only: the K8 exit wait arms its deadline one tick late (timo + 1)", "K8", true},
    {Fault::test_lock_order, "test_lock_order",
     "test only: getppid takes its process's lock before the table lock, the other order from rfork's (an AB-BA deadlock)",
     "P6", true},
}};

}  // namespace

std::span<const FaultInfo> all_faults() { return kFaults; }

std::vector<FaultInfo> project_faults() {
  std::vector<FaultInfo> out;
  for (const auto& f : kFaults)
    if (!f.test_only) out.push_back(f);  // race faults included: a checker needs in-op interleavings for them
  return out;
}

const FaultInfo& fault_info(Fault f) { return kFaults[static_cast<unsigned>(f)]; }

std::optional<Fault> fault_by_name(std::string_view name) {
  for (const auto& f : kFaults)
    if (f.name == name) return f.fault;
  return std::nullopt;
}

std::vector<std::string_view> FaultSet::names() const {
  std::vector<std::string_view> out;
  for (const auto& f : kFaults)
    if (has(f.fault)) out.push_back(f.name);
  return out;
}

std::optional<FaultSet> FaultSet::parse(std::string_view csv, std::string* error) {
  FaultSet s;
  while (!csv.empty()) {
    const auto comma = csv.find(',');
    std::string_view item = csv.substr(0, comma);
    csv = comma == std::string_view::npos ? std::string_view{} : csv.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    const auto f = fault_by_name(item);
    if (!f) {
      if (error) *error = "unknown fault '" + std::string(item) + "'";
      return std::nullopt;
    }
    s.set(*f);
  }
  return s;
}

}  // namespace lockstep::impl
