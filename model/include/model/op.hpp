// Operations as data: the closed alphabet of everything an actor can do to a
// kernel instance (SPEC §3-§5). An Op is a value; `Model::apply` interprets it.
#pragma once
#include <cstdint>
#include <string>
#include <variant>

#include "model/ids.hpp"

namespace lockstep::model {

// Who performs a step. Host threads are driven by the checker; a kthread actor is
// the kernel-owned host thread running that kthread's body; the clock advances
// time; the reaper is what init does for dead children (K9).
struct Actor {
  enum class Kind : std::uint8_t { Host, Kthread, Clock, Reaper };
  Kind kind = Kind::Host;
  std::uint32_t index = 0;  // HostId for Host, ProcId for Kthread, 0 otherwise

  static Actor host(HostId h) { return {Kind::Host, h}; }
  static Actor kthread(ProcId p) { return {Kind::Kthread, p}; }
  static Actor clock() { return {Kind::Clock, 0}; }
  static Actor reaper() { return {Kind::Reaper, 0}; }
  friend bool operator==(const Actor&, const Actor&) = default;
};

namespace op {
// rump_init(): idempotent (§1).
struct Init { friend bool operator==(const Init&, const Init&) = default; };
// P1
struct Rfork { int flags = 0; friend bool operator==(const Rfork&, const Rfork&) = default; };
// P2
struct Newlwp { Pid pid = 0; friend bool operator==(const Newlwp&, const Newlwp&) = default; };
// L3; lwp == kNoLwp is switch(NULL)
struct Switch { LwpId lwp = kNoLwp; friend bool operator==(const Switch&, const Switch&) = default; };
// L4
struct Release { friend bool operator==(const Release&, const Release&) = default; };
// L5
struct Curlwp { friend bool operator==(const Curlwp&, const Curlwp&) = default; };
// P6
struct Getpid { friend bool operator==(const Getpid&, const Getpid&) = default; };
struct Getppid { friend bool operator==(const Getppid&, const Getppid&) = default; };
// P7; only O_CREAT among open(2)'s flags has an effect in the SPEC.
struct Open { std::string path; bool create = false; friend bool operator==(const Open&, const Open&) = default; };
struct Write { int fd = 0; std::int64_t n = 0; friend bool operator==(const Write&, const Write&) = default; };
struct Fstat { int fd = 0; friend bool operator==(const Fstat&, const Fstat&) = default; };
struct Close { int fd = 0; friend bool operator==(const Close&, const Close&) = default; };
struct Dup { int fd = 0; friend bool operator==(const Dup&, const Dup&) = default; };
// P8
struct Getuid { friend bool operator==(const Getuid&, const Getuid&) = default; };
struct Setuid { Uid uid = 0; friend bool operator==(const Setuid&, const Setuid&) = default; };
// K1; `name` is the already formatted fmt string.
struct KthreadCreate { int flags = 0; std::string name; friend bool operator==(const KthreadCreate&, const KthreadCreate&) = default; };
// K2, performed by a kthread actor on itself.
struct KthreadExit { int code = 0; friend bool operator==(const KthreadExit&, const KthreadExit&) = default; };
// K3
struct Suspend { ProcId proc = 0; int timo = 0; friend bool operator==(const Suspend&, const Suspend&) = default; };
// K4
struct Resume { ProcId proc = 0; friend bool operator==(const Resume&, const Resume&) = default; };
// K5; a kthread actor names itself, any other caller is K5-other.
struct SuspendCheck { ProcId proc = 0; friend bool operator==(const SuspendCheck&, const SuspendCheck&) = default; };
// One unit of a kthread body's work: its progress counter + 1 (SPEC §4, last paragraph).
struct Work { friend bool operator==(const Work&, const Work&) = default; };
// K6
struct KprocStart { std::string name; friend bool operator==(const KprocStart&, const KprocStart&) = default; };
// K7
struct KprocShutdown { ProcId proc = 0; friend bool operator==(const KprocShutdown&, const KprocShutdown&) = default; };
// K8
struct WaitExit { ProcId proc = 0; int timo = 0; friend bool operator==(const WaitExit&, const WaitExit&) = default; };
// K9, performed by the reaper.
struct Reap { ProcId proc = 0; friend bool operator==(const Reap&, const Reap&) = default; };
// §5, performed by the clock.
struct Tick { std::int64_t n = 1; friend bool operator==(const Tick&, const Tick&) = default; };
}  // namespace op

using OpBody = std::variant<op::Init, op::Rfork, op::Newlwp, op::Switch, op::Release, op::Curlwp, op::Getpid,
                            op::Getppid, op::Open, op::Write, op::Fstat, op::Close, op::Dup, op::Getuid, op::Setuid,
                            op::KthreadCreate, op::KthreadExit, op::Suspend, op::Resume, op::SuspendCheck, op::Work,
                            op::KprocStart, op::KprocShutdown, op::WaitExit, op::Reap, op::Tick>;

inline constexpr std::size_t kOpKindCount = std::variant_size_v<OpBody>;

struct Op {
  Actor actor;
  OpBody body;
  friend bool operator==(const Op&, const Op&) = default;
};

// The C name of an op kind ("rump_pub_lwproc_rfork", "kthread_suspend", ...), by variant index.
std::string_view op_name(std::size_t kind_index);
inline std::string_view op_name(const OpBody& b) { return op_name(b.index()); }
// A one-line rendering, e.g. "H1 rump_pub_lwproc_rfork(RUMP_RFFDG)".
std::string to_string(const Op& op);
std::string to_string(const Actor& a);

}  // namespace lockstep::model
