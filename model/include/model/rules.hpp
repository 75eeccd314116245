// SPEC rule ids (../shared/SPEC.md). Every outcome the model produces and every
// invariant it checks names one of these, so coverage and verdicts can cite them.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace lockstep::model {

enum class Rule : std::uint8_t {
  P0, P1, P2, L3, L4, L5, P6, P7, P8,               // §3 rump lwp/process operations (P0: before rump_init)
  K1, K2, K3, K4, K5, K6, K7, K8, K9,               // §4 kernel threads
  Body, Tick,                                       // §4's kthread body (a unit of work) and §5's tick(n): not SPEC ids
  R1, R2, R3, R4, R5, R6,                           // §6 release invariants
  S1, S2, S3, S4, S5, S6,                           // §6 suspend invariants
  Count
};

inline constexpr std::size_t kRuleCount = static_cast<std::size_t>(Rule::Count);

inline constexpr std::array<std::string_view, kRuleCount> kRuleNames = {
    "P0", "P1", "P2", "L3", "L4", "L5", "P6", "P7", "P8",
    "K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9",
    "body", "tick",
    "R1", "R2", "R3", "R4", "R5", "R6",
    "S1", "S2", "S3", "S4", "S5", "S6"};

constexpr std::string_view rule_name(Rule r) { return kRuleNames[static_cast<std::size_t>(r)]; }

// The FATAL misuses of the SPEC, each with its stable id (the text after FATAL( in the SPEC).
enum class Fatal : std::uint8_t {
  None,
  P0Uninit,        // any call before rump_init()
  L3NullImplicit,  // switch(NULL) while already IMPLICIT
  L3Stale,         // switch to a released or never-issued lwp
  L3Running,       // switch to an lwp bound to a host thread
  L4Implicit,      // releaselwp without a dedicated curlwp
  K5Other,         // kthread_suspend_check on a process other than the caller's own kthread
  K6Panic,         // kproc_start whose kthread_create failed
  Count
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(Fatal::Count)> kFatalNames = {
    "", "P0-uninit", "L3-null-implicit", "L3-stale", "L3-running", "L4-implicit", "K5-other", "K6-panic"};

constexpr std::string_view fatal_name(Fatal f) { return kFatalNames[static_cast<std::size_t>(f)]; }

}  // namespace lockstep::model
