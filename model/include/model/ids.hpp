// Identities in the model. Pids are the kernel's names and are reused; everything
// else is a serial number that is never reused, so a stale handle stays
// distinguishable from a live one (SPEC §3, "Handles ... are opaque").
#pragma once
#include <cstdint>
#include <limits>

namespace lockstep::model {

using Pid = std::int32_t;
using Uid = std::uint32_t;
using Tick = std::int64_t;

inline constexpr Pid kPidMax = 30000;     // SPEC P1: PID_MAX
inline constexpr std::size_t kMaxComLen = 19;  // SPEC §1: MAXCOMLEN
inline constexpr int kDefaultMaxproc = 64;
inline constexpr int kHz = 100;           // SPEC K7
inline constexpr int kShutdownTicks = 60 * kHz;  // SPEC K7: kproc_shutdown's suspend timeout

// Serial of every process ever created (0 = swapper, 1 = init). A `struct proc *`.
using ProcId = std::uint32_t;
// Serial of every lwp ever created (0 = lwp0). A `struct lwp *`.
using LwpId = std::uint32_t;
// Index of a checker-driven host thread.
using HostId = std::uint16_t;
using FdTableId = std::uint32_t;
// An open file description (what an fd names; shared by dup and copied tables).
using DescId = std::uint32_t;
using FileId = std::uint32_t;

inline constexpr LwpId kNoLwp = std::numeric_limits<LwpId>::max();    // NULL / IMPLICIT
inline constexpr ProcId kNoProc = std::numeric_limits<ProcId>::max();

// The SPEC's NetBSD flag values for rump_pub_lwproc_rfork (§3).
inline constexpr int kRumpRffdShare = 0x00;
inline constexpr int kRumpRffdg = 0x01;
inline constexpr int kRumpRfcfdg = 0x02;
// FreeBSD rfork(2) values that kthread_create takes (§4, K1).
inline constexpr int kRffdg = 1 << 2;
inline constexpr int kRfcfdg = 1 << 12;

}  // namespace lockstep::model
