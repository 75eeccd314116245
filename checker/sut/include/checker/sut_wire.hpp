// The wire between lockstep and the child process that hosts a plug-in SUT (checker/sut/SUT.md):
// fixed-size records on two pipes, one request per call, one reply per finished call. Both ends are
// built from this header in one build, so the records are plain structs; a record is smaller than
// PIPE_BUF, so a write of one is atomic even when several of the child's threads reply at once.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace lockstep::checker::sut {

// Every C function a SUT may export, in one order: the bit of a capability mask, the request's call.
enum class Call : std::uint8_t {
  RumpInit, Rfork, Newlwp, Switch, Release, Curlwp,                    // required
  Getpid, Getppid, Open, Write, Fstat, Close, Dup, Getuid, Setuid,     // <rump/rump_syscalls.h>
  KthreadCreate, KthreadExit, Suspend, Resume, SuspendCheck, KprocStart, KprocShutdown,  // <sys/kthread.h>
  WaitExit, Reap, Progress, ProcPid,                            // its documented extensions
  TickNs, NameHost, State, Reset, EnvLimits,                           // <lockstep/sut.h>
  Count
};
inline constexpr std::size_t kCallCount = static_cast<std::size_t>(Call::Count);
inline constexpr std::size_t kRequiredCalls = 6;  // RumpInit .. Curlwp

inline constexpr std::array<std::string_view, kCallCount> kCallNames = {
    "rump_init", "rump_pub_lwproc_rfork", "rump_pub_lwproc_newlwp", "rump_pub_lwproc_switch",
    "rump_pub_lwproc_releaselwp", "rump_pub_lwproc_curlwp",
    "rump_sys_getpid", "rump_sys_getppid", "rump_sys_open", "rump_sys_write", "rump_sys_fstat", "rump_sys_close",
    "rump_sys_dup", "rump_sys_getuid", "rump_sys_setuid",
    "kthread_create", "kthread_exit", "kthread_suspend", "kthread_resume", "kthread_suspend_check", "kproc_start",
    "kproc_shutdown",
    "kthread_wait_exit", "kthread_reap", "lockstep_kthread_progress", "lockstep_proc_pid",
    "lockstep_sut_tick_ns", "lockstep_sut_name_host", "lockstep_sut_state",
    "lockstep_sut_reset", "lockstep_sut_env_limits"};

constexpr std::uint64_t bit(Call c) { return std::uint64_t{1} << static_cast<unsigned>(c); }

// Who runs a request in the child: host thread `index`, or the body of kthread slot `index` (a
// number lockstep gives each kthread it asks for; the body learns it from its argument).
enum class Runner : std::uint8_t { Host, Kthread };

// The most kthread slots one program may use (kproc_start's body takes no argument, so each slot
// has its own entry function in the child).
inline constexpr std::uint32_t kMaxSlots = 256;
inline constexpr std::size_t kTextMax = 160;

// A newlwp request with b > a is a scan: the host calls newlwp(pid) for pid = a..b in turn and replies
// once, with the first answer other than ESRCH and its pid (lockstep asks only pids the model has
// free, to learn a new kthread's pid from its EBUSY: sut_lockstep.cpp, learn_kthread_pid).
struct Request {
  std::uint32_t seq = 0;
  Call call = Call::RumpInit;
  Runner runner = Runner::Host;
  std::uint16_t index = 0;
  std::int64_t a = 0;        // flags, pid, fd, uid, timo, code
  std::int64_t b = 0;        // write's n, kthread_create's pages; newlwp: 0, or the last pid of a scan (below)
  std::uint64_t handle = 0;  // a struct lwp * or struct proc * the SUT handed out (or a never-issued value)
  std::uint32_t slot = 0;    // kthread_create / kproc_start: the new kthread's slot
  char text[kTextMax] = {};  // open's path, kthread_create's name, kproc_start's arg0 (NUL-terminated)
};

enum class ReplyKind : std::uint8_t {
  Hello,      // the child loaded the SUT: `ret` is the capability mask, `b` the tick length in ns (0: none)
  LoadError,  // dlopen failed or a required name is missing: `text` says which
  Returned,   // a call returned
  Forked,     // the SUT called fork(): the copy announces itself (its pid in `pid`) and stops
  Exited,     // the SUT called exit(): `ret` is the status (0: untrusted; else a death, as a FATAL may be)
};

// Something the host itself saw wrong while it ran a call (`text` says it).
enum class Finding : std::uint8_t {
  None,
  NewpLate,  // kthread_create / kproc_start: the new thread's first instruction read *newp unset or wrong (K1)
};

struct Reply {
  std::uint32_t seq = 0;
  ReplyKind kind = ReplyKind::Returned;
  std::int32_t pid = 0;       // getpid() of the process that wrote the reply (a fork's copy shows here)
  std::int64_t ret = 0;       // the C return value (a rump_sys_* failure is -1 with `err`)
  std::int32_t err = 0;
  std::uint64_t lwp = 0;      // curlwp's answer; after a creating call, the caller's new curlwp
  std::uint64_t proc = 0;     // kthread_create / kproc_start: *newp
  std::int64_t b = 0;         // fstat's st_size; Hello: tick ns
  std::int64_t new_pid = 0;   // after rfork / newlwp: getpid() on the caller; after a kthread create: its pid (-1 unknown);
                              // after a newlwp scan: the pid whose answer ended it (-1: every pid answered ESRCH)
  // rump_init: CLOCK_MONOTONIC (std::chrono::steady_clock) in ns just before and just after the call,
  // so the parent knows within what interval the SUT's clock started (SPEC §1) better than its own
  // round trip tells (sut_lockstep.cpp, align_clock_for_timed_wait).
  std::int64_t began_ns = 0, ended_ns = 0;
  Finding finding = Finding::None;
  char text[kTextMax] = {};
};

static_assert(sizeof(Request) <= 512 && sizeof(Reply) <= 512, "a record must be written atomically (PIPE_BUF)");

// The file descriptors the child reads requests from and writes replies to (0, 1 and 2 are the SUT's).
inline constexpr int kRequestFd = 3;
inline constexpr int kReplyFd = 4;
// A memory file the child writes lockstep_sut_state's JSON to (from offset 0; the reply's `b` is its
// length): the state can be long, and a reply must stay one atomic record.
inline constexpr int kStateFd = 5;
inline constexpr std::size_t kMaxStateBytes = 64u << 20;

}  // namespace lockstep::checker::sut
