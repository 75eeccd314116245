// The reference model: a pure, deterministic state machine of SPEC §1-§5.
// `apply` takes one Op and returns its outcome plus the blocked callers it ended.
// No threads, no clocks: time moves only by op::Tick.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/footprint.hpp"
#include "model/op.hpp"
#include "model/outcome.hpp"
#include "model/state.hpp"

namespace lockstep::model {

struct Config {
  int maxproc = kDefaultMaxproc;
  // false: the instance starts before rump_init(); every op but op::Init is FATAL(P0-uninit).
  bool initialized = true;
  // SPEC P1's PID_MAX. Reading: a parameter of the instance like maxproc; conformance runs scale it
  // down so that the allocator wraps and reuses pids within short programs (same rule, smaller space).
  Pid pid_max = kPidMax;
};

// Where the SPEC lets the kernel choose (a fresh pid, P1/K1), the checker may bind
// the choice it observed; the model accepts any allowed value. Unset = the
// reference allocator's pick.
struct Choice {
  std::optional<Pid> pid;
};

class Model {
 public:
  explicit Model(Config config = {});

  const State& state() const { return state_; }
  // Moves the console lines (SPEC K7's message log) out of the state. No step reads the console, it
  // only appends to it, so a checker that runs many orders of the same steps may keep the lines
  // aside and compare them itself (checker/lin does, to copy and hash smaller states).
  std::vector<std::string> take_console() { return std::exchange(state_.console, {}); }
  // A model that continues from `s` (a state this model produced earlier: the model is a value).
  static Model from_state(State s) {
    Model m;
    m.state_ = std::move(s);
    return m;
  }
  // Continues from `s` as from_state does, into this model's storage (a checker that copies states
  // in a loop reuses their vectors and strings).
  void assign(const State& s) { state_ = s; }

  // Whether `actor` can perform a step now: a host thread that is not blocked; a
  // kthread that exists and is RUNNING; the clock and the reaper always.
  bool runnable(const Actor& actor) const;

  // Applies one op. Never throws on any op or op sequence; misuse yields an errno
  // or FATAL, an actor that cannot act yields NotRunnable with no state change.
  // An allocating op with a Choice whose pid is not allowed yields NotRunnable.
  // With `fp`, records what the step changed (footprint.hpp), for incremental invariant checks.
  StepResult apply(const Op& op, const Choice& choice = {}, Footprint* fp = nullptr);

  // P1/K1: the set of pids the kernel may hand out now (any pid in 2..PID_MAX not in
  // the table), and the reference allocator's pick (0 when the table is full).
  bool pid_allowed(Pid pid) const;
  // Why a pid that is not allowed is refused: P1 when it lies outside 2..PID_MAX, R5 when a process
  // in the table has it; with the reason in words ("pid 13 (in use)").
  std::pair<Rule, std::string> pid_refusal(Pid pid) const;
  Pid reference_pid() const;
  static Pid reference_pid_of(const State& s);

 private:
  State state_;
};

}  // namespace lockstep::model
