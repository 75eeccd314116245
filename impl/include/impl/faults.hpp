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
  suspend_check_lost_wakeup,  // K5/S3
  setuid_no_check,            // P8
  park_spins,                 // K5, §5 (a livelock: the checker's DEADLOCK verdict)
  count_
};

struct FaultInfo {
  Fault fault;
  std::string_view name;
  std::string_view description;  // one line
  std::string_view rule;         // SPEC rule(s) it breaks
};

// Every fault, in enum order.
std::span<const FaultInfo> all_faults();
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
