// What SPEC §7 compares after each step, in a canonical form that does not depend
// on either side's internal ids: processes by pid, lwps by lid, hosts by index,
// fd tables and open descriptions renamed by first appearance (scanning processes
// in pid order, fds ascending). Model and impl are each converted to this, then
// compared field by field.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/ids.hpp"
#include "model/state.hpp"

namespace lockstep::checker {

struct ObsLwp {
  int lid = 0;
  std::int32_t bound = model::kUnbound;  // host index, kUnbound, kKernelThread
  bool released = false;
  friend bool operator==(const ObsLwp&, const ObsLwp&) = default;
};

struct ObsProc {
  model::Pid pid = 0;
  model::Pid ppid = 0;
  std::string comm;
  model::ProcKind kind = model::ProcKind::User;
  model::Uid uid = 0;
  std::vector<ObsLwp> lwps;                 // by lid
  int fdtable = 0;                          // canonical table name: processes sharing a table share it
  std::vector<std::pair<int, int>> fds;     // (fd, canonical description name), fds ascending
  // kthreads only
  model::KState kstate = model::KState::Running;
  bool suspend_requested = false;
  std::uint64_t progress = 0;
  int exit_code = 0;
  friend bool operator==(const ObsProc&, const ObsProc&) = default;
};

struct ObsWait {
  int host = 0;
  std::string what;        // "kthread_suspend" (kproc_shutdown waits in it too) or "kthread_wait_exit"
  model::Pid target = 0;
  // What the caller waits for besides its event: the tick its wait times out at (nullopt: no
  // timeout). Said by the model and by an observer whose clock is the model's (the built-in impl
  // under the controlled scheduler); a SUT's state and a real-time run leave it unsaid, and an unsaid
  // deadline is not compared (same_wait). A round that races a tick against a call starting a timed
  // wait is judged by it: the deadline says on which side of the tick the call made its request.
  bool deadline_said = false;
  std::optional<model::Tick> deadline;
  friend bool operator==(const ObsWait&, const ObsWait&) = default;
};

// Whether the impl's `observed` wait is the model's `expected` one: the same caller, event and
// target, and the same deadline where the observer said one.
bool same_wait(const ObsWait& expected, const ObsWait& observed);

struct ObsHost {
  std::optional<std::pair<model::Pid, int>> curlwp;  // (pid, lid), nullopt = IMPLICIT
  model::Pid pid = 1;                                // its current process
  friend bool operator==(const ObsHost&, const ObsHost&) = default;
};

struct Observation {
  std::vector<ObsProc> procs;               // the process table, by pid (zombies included)
  int nprocs = 0;
  std::vector<ObsHost> hosts;               // by host index
  std::vector<ObsWait> blocked;             // by host index
  std::map<std::string, std::int64_t> files;  // path -> size
  std::vector<std::string> console;
  friend bool operator==(const Observation&, const Observation&) = default;
};

// A 64-bit digest of an observation (FNV-1a over a canonical rendering): equal observations,
// equal digests, on any machine. A wait's deadline is left out: every trace recorded before the
// deadline was observed carries digests without it, and the order of steps that fixes a deadline
// is in the trace already.
std::uint64_t digest(const Observation& o);
// The digest's step for one number: FNV-1a from state `h` over the 8 little-endian bytes of `v`.
std::uint64_t fnv1a_number(std::uint64_t h, std::int64_t v);

// The model's state as seen through §7, for hosts 0..hosts-1.
Observation observe(const model::State& s, int hosts);

// digest(observe(s, hosts)), computed from the state without building the observation: every model
// step of a run records it (a trace event's digest), and building the observation to hash it was
// about a twentieth of a step. Equal to the composition on every state (tested).
std::uint64_t state_digest(const model::State& s, int hosts);

// observe(s, hosts) == o, decided from the state without building the observation, and stopping at
// the first difference (build the observation to say what it is). With `console` false the console
// lines are left out of the comparison (a round's judge compares them on its own).
bool observes_as(const model::State& s, int hosts, const Observation& o, bool console = true);

// Renames fd tables and descriptions by first appearance. Input: per process in pid order,
// an opaque table key and (fd, opaque description key) pairs, fds ascending.
void canonicalize_fds(std::vector<ObsProc>& procs, const std::vector<std::uint64_t>& table_keys,
                      const std::vector<std::vector<std::pair<int, std::uint64_t>>>& fd_keys);

// The first difference: which SPEC rule it breaks and "what: expected X, observed Y".
struct Difference {
  model::Rule rule;
  std::string text;
};
// `op_rule` is named for differences that belong to the op itself (a comm, a uid) rather than to
// an invariant. Empty when equal.
// Whether `lines` is an interleaving of `writers`' sequences: every line of every writer, each
// writer's lines in its own order (how overlapping calls' console lines may reach the console).
// `after[w]`, when given, lists the writers whose lines all come before writer w's first (a call
// that returned before w's call was invoked wrote its lines first: SPEC §8's real-time order).
bool interleaves(const std::vector<std::string>& lines, const std::vector<std::vector<std::string>>& writers,
                 const std::vector<std::vector<std::size_t>>& after = {});

std::optional<Difference> first_difference(const Observation& expected, const Observation& observed,
                                           model::Rule op_rule);

}  // namespace lockstep::checker
