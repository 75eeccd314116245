// Injected faults (mutants): realistic bugs, each off by default, selectable at run time by name
// (KernelConfig::faults, Kernel::set_faults, or LOCKSTEP_FAULT=name[,name] for the C API's default
// kernel). Each fault's site in src/ carries a comment naming the SPEC rule it breaks.
#pragma once

#include <bitset>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lockstep::impl {

enum class Fault : unsigned {
  release_keeps_proc,         // L4/R1
  switch_ignores_running,     // L3-running/R4
  freed_lwp_reachable,        // L3-stale/R2
  rfcfdg_shares,              // P1/P7
  rffdg_shares,               // P1/P7
  orphans_keep_ppid,          // L4/R6
  nprocs_not_decremented,     // R6
  pid_reuse_zombie,           // P1/R5
  resume_no_wakeup,           // K4/S3
  suspend_timeout_clears,     // K3
  exit_no_wakeup,             // K2/S5
  shared_wakeup_channel,      // K4/S2
  suspend_check_lost_wakeup,  // K5/S3, a race fault too (FaultInfo::race): the flag read outside the lock
  setuid_no_check,            // P8
  park_spins,                 // K5, §5 (a livelock: the checker's DEADLOCK verdict)
  comm_cut_late,              // K1: the name cut only past MAXCOMLEN + 1 bytes
  kthread_flags_loose,        // K1: RFPROC and RFMEM accepted
  setuid_minus_one_unchanged, // P8: setuid((uid_t)-1) returns 0 and changes nothing
  fd_array_fixed,             // P7: no fd past NetBSD's NDFILE (20): EMFILE
  // Race faults (FaultInfo::race): silent under one-operation-at-a-time execution; each shows only
  // when a thread is preempted inside an operation (ControlledBackend::Preempt::every_sync_point) or
  // woken spuriously (ControlledBackend::wake_spuriously). suspend_check_lost_wakeup, above, is one
  // as well (it predates the list).
  switch_check_gap,           // L3-running/R4: check, drop the locks, bind
  fork_pid_gap,               // P1/R5: pid looked up and inserted in two critical sections
  exit_wakes_early,           // K2/K8/S5: exit waiters woken before ZOMBIE is set
  resume_split,               // K4/S2: request cleared and thread unparked in two critical sections
  reparent_late,              // L4/R6: children reparented after the table lock was dropped
  kthread_handle_late,        // K1: *newp stored after the new thread may already run
  park_no_loop,               // K5/S1: the park sleeps once (a spurious wakeup lets it run PARKED)
  wait_exit_no_loop,          // K8: the exit wait sleeps once (a spurious wakeup returns 0)
  dup_split,                  // P7: dup's lookup and its new fd in two critical sections
  open_create_split,          // P7: open's lookup and O_CREAT's insert in two critical sections
  suspend_stale_clock,        // K3/S2: kthread_suspend reads the clock before it takes its locks
  // Test-only faults: not realistic bugs but the ways an implementation can do more than, or other
  // than, the model, so that tests can prove the checker ends every such run with a verdict. They
  // are selectable by name like the others, but `lockstep mutants` and `lockstep faults` list only
  // the project's faults unless asked for them (FaultInfo::test_only).
  test_extra_kthread,         // K1: kthread_create ignores maxproc
  test_extra_process,         // P1, R1: rfork also creates a second, hidden process
  test_extra_wakeup,          // K8: a resume wakes exit waiters, which take it for the exit
  test_missing_wakeup,        // K5, S2: an acknowledgement does not wake the suspenders
  test_body_stuck,            // a kthread's work unit sleeps for ever on a condition nobody signals
  test_host_op_hangs,         // getppid blocks its OS thread for ever, holding the process table lock
  test_kthread_panics,        // a kthread's work unit panics
  test_thread_exits_early,    // a kthread's OS thread ends inside a work unit, its state left RUNNING
  test_late_deadline,         // K8: the exit wait's deadline is one tick late (timo + 1)
  test_lock_order,            // getppid takes its process's lock, then the table lock: AB-BA with rfork
  count_
};

struct FaultInfo {
  Fault fault;
  std::string_view name;
  std::string_view description;  // one line
  std::string_view rule;         // SPEC rule(s) it breaks
  bool test_only = false;        // a checker-robustness probe, not one of the project's mutants
  // Manifests only when a thread is preempted inside an operation (or woken spuriously): a checker
  // that runs one operation at a time to its end cannot expose it.
  bool race = false;
  // Gives every call made one at a time the same answers as the correct implementation, on real
  // threads: only a checker that controls the scheduling (or reads §7's progress counters) sees it.
  // Through the C API of a plug-in SUT (checker/sut), race faults are silent too.
  bool api_silent = false;
};

// Every fault, in enum order, test-only ones included.
std::span<const FaultInfo> all_faults();
// The project's faults: every fault that models a realistic bug (not test_only), in enum order. The race
// faults (FaultInfo::race) are among them: only a checker that preempts threads inside operations (or
// wakes them spuriously) can kill those.
std::vector<FaultInfo> project_faults();
std::optional<Fault> fault_by_name(std::string_view name);
const FaultInfo& fault_info(Fault f);

class FaultSet {
 public:
  FaultSet() = default;
  FaultSet(std::initializer_list<Fault> fs) {
    for (Fault f : fs) set(f);
  }
  void set(Fault f, bool on = true) { bits_.set(static_cast<unsigned>(f), on); }
  bool has(Fault f) const { return bits_.test(static_cast<unsigned>(f)); }
  bool empty() const { return bits_.none(); }
  unsigned long to_ulong() const { return bits_.to_ulong(); }
  static FaultSet from_ulong(unsigned long v) {
    FaultSet s;
    s.bits_ = std::bitset<static_cast<unsigned>(Fault::count_)>(v);
    return s;
  }
  std::vector<std::string_view> names() const;
  // "a,b,c" (spaces allowed, empty string = none). Unknown name -> nullopt and *error says which.
  static std::optional<FaultSet> parse(std::string_view csv, std::string* error = nullptr);
  friend bool operator==(const FaultSet&, const FaultSet&) = default;

 private:
  std::bitset<static_cast<unsigned>(Fault::count_)> bits_;
};

}  // namespace lockstep::impl
