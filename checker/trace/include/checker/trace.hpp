// A trace: the durable record of one lockstep run (traces/FORMAT.md). A header (format
// version, tool, seed, configuration, fault, the SPEC rules it is about, the verdict it
// was recorded with) and one event per executed step: actor, op with arguments, the
// outcome, the blocked callers it woke, the symbols it bound, and the digest of the
// SPEC §7 observation after it. Symbols are the model's serial ids (`lwp#3`, `proc#2`).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checker/observation.hpp"
#include "model/model.hpp"
#include "model/op.hpp"
#include "model/outcome.hpp"
#include "model/rules.hpp"

namespace lockstep::checker {

// Major: a reader refuses any other major. Minor: additions a reader of the same major may ignore.
inline constexpr int kTraceMajor = 1;
// 1.1: observed, observed_woke, observed_state. 1.2: header `order`, event `after` (partial-order histories).
// 1.3: event `observed_bind` (the impl's bindings where they differ), outcome `lwp_unnamed`; header
//      `schedule` (how the recording run interleaved threads).
// 1.6: event `observed_in_round` (what the impl returned for a diverging round's earlier calls).
// 1.7: `deadline` of a blocked caller in `observed_state` (the tick its timed wait ends at).
inline constexpr int kTraceMinor = 7;

// The verdict of a lockstep run, as a trace records it.
enum class Verdict : std::uint8_t { Agree, Diverge, Deadlock };
std::string_view to_string(Verdict v);

// A symbol a step bound: model id `id` of `kind` names the object the step created.
struct Binding {
  enum class Kind : std::uint8_t { Lwp, Proc } kind = Kind::Lwp;
  std::uint32_t id = 0;   // model LwpId / ProcId: the symbol
  model::Pid pid = 0;     // the pid the kernel chose (Proc), or the lwp's process (Lwp); kPidUnsaid: not known
  friend bool operator==(const Binding&, const Binding&) = default;
};
// The pid of a process the kernel made without saying which pid it took (a plug-in SUT's kthread when
// the SUT does not export lockstep_proc_pid): any pid SPEC K1 allows, left to the judge.
inline constexpr model::Pid kPidUnsaid = -1;

struct TraceConfig {
  int hosts = 3;
  int kthreads = 2;     // the chooser's bound on live kthreads (informative for a replay of ops)
  int maxproc = 12;
  model::Pid pid_max = 12;
  friend bool operator==(const TraceConfig&, const TraceConfig&) = default;
};

// The verdict a trace was recorded with. For a divergence: where, under which rule, and how.
struct TraceExpect {
  Verdict verdict = Verdict::Agree;
  std::size_t step = 0;
  model::Rule rule = model::Rule::P0;
  std::string what, expected, observed;
  friend bool operator==(const TraceExpect&, const TraceExpect&) = default;
};

// How the recording run interleaved its threads, when it did (format 1.3): the strategy it really
// ran (a portfolio's pick) and its seed. With the choice program, this replays the run exactly.
struct TraceSchedule {
  std::string strategy;  // "random", "pct:3", "pos" (checker/run's parse_strategy names them)
  std::uint64_t seed = 0;
  friend bool operator==(const TraceSchedule&, const TraceSchedule&) = default;
};

struct TraceHeader {
  int major = kTraceMajor;
  int minor = kTraceMinor;
  std::string tool;                  // "lockstep 0.1.0"
  std::uint64_t seed = 0;
  TraceConfig config;
  std::vector<std::string> faults;   // injected faults of the recording run (empty: the correct impl)
  std::vector<std::string> rules;    // SPEC rule ids the trace is about
  TraceExpect expect;
  std::string program;               // the choice program (`lockstep run --replay` text), may be empty
  // Format 1.2 `"order": "partial"`: the file's event order is only one linearization the recorder
  // knows to be consistent; the real order is the partial order of per-actor program order, the
  // causal links a judge derives, and the events' `after` edges. False (`"total"`, the default):
  // the events happened in file order.
  bool partial_order = false;
  std::optional<TraceSchedule> schedule;  // absent: operations ran one at a time (strategy op)
  friend bool operator==(const TraceHeader&, const TraceHeader&) = default;
};

// model::Outcome with an owned label (model::Outcome's label views the model's static strings).
struct TraceOutcome {
  model::OutcomeKind kind = model::OutcomeKind::Returned;
  std::optional<model::Rule> rule;    // optional in foreign traces; checked when present
  std::optional<std::string> label;   // likewise
  std::int64_t ret = 0;
  int err = 0;
  model::LwpId lwp = model::kNoLwp;
  // Format 1.3, only in what the impl did (`observed`): curlwp returned an lwp handle that no symbol
  // names (`lwp` is then kNoLwp, and means nothing).
  bool lwp_unnamed = false;
  model::ProcId proc = model::kNoProc;
  std::int64_t st_size = 0;
  model::WaitKind wait = model::WaitKind::Suspend;
  model::ProcId wait_target = model::kNoProc;
  model::Fatal fatal = model::Fatal::None;
  friend bool operator==(const TraceOutcome&, const TraceOutcome&) = default;
};

struct TraceCompletion {
  model::Actor actor;
  TraceOutcome outcome;
  friend bool operator==(const TraceCompletion&, const TraceCompletion&) = default;
};

// Format 1.4: one scheduling decision of the controlled scheduler. A thread ran until it stopped
// (`stop`: "lock proctable", "wait kt.ack", "return", "exit", ...), or, with `wake`, a thread
// waiting on a condition was woken spuriously. Threads are named as the run names them: "H0",
// "reaper", "K2" (a kthread the model knows), "kthread#1" (one it does not know yet).
struct TraceTurn {
  bool wake = false;
  std::string thread;
  std::string stop;  // empty for a wake
  friend bool operator==(const TraceTurn&, const TraceTurn&) = default;
};
std::string to_string(const TraceTurn& t);               // "H0 > lock proctable", "~ K2"
std::optional<TraceTurn> parse_turn(std::string_view text);  // to_string's form; nullopt if malformed
// A preemption: a thread stopped at a scheduling point inside an operation (it could have run on)
// and another thread ran next.
bool preempted_at(const TraceTurn& t);
std::size_t count_preemptions(const std::vector<TraceTurn>& turns);
std::size_t count_switches(const std::vector<TraceTurn>& turns);
// The decisions of a run's events, round by round: a round's turns are on its first event, whose
// `round` says how many events it spans (a single step is a round of one).
std::vector<std::vector<TraceTurn>> turns_by_round(const std::vector<struct TraceEvent>& events);

struct TraceEvent {
  std::size_t step = 0;
  model::Op op;
  TraceOutcome outcome;
  std::vector<TraceCompletion> woke;
  std::vector<Binding> bound;
  std::optional<std::uint64_t> digest;  // absent on a step that ended the run (FATAL, divergence)
  // What the implementation did where it differed from the model (a divergent step): its outcome,
  // the blocked calls it returned from, and its §7 observation. Absent where it agreed.
  std::optional<TraceOutcome> observed;
  std::optional<std::vector<TraceCompletion>> observed_woke;
  std::optional<Observation> observed_state;
  // Format 1.3: the symbols the impl's call created, with the pids the impl chose, where they differ
  // from `bound` (the model's): a pid the SPEC refuses (R5). Not bindings for later events.
  std::optional<std::vector<Binding>> observed_bind;
  // Format 1.6: on the events of a diverging round before its divergent one, what the impl returned
  // for that call. No order of the round explains the impl, so these events hold the model's outcomes
  // in posting order, which for a call of the round need not be what the impl answered. Only shown, never
  // judged: the divergent event says what failed.
  std::optional<TraceOutcome> observed_in_round;
  // Format 1.2: extra happens-before edges, e.g. real time order from a stress run. This event began
  // after each of these events (by step) ended; each is less than `step`, none twice.
  std::vector<std::size_t> after;
  // Format 1.4: the scheduling decisions taken while this event's step ran, in order. A round of
  // overlapping operations keeps all of its decisions on its first event (in file order), whose
  // `round` says how many events the round has (>= 2); 0 on every other event.
  std::vector<TraceTurn> turns;
  std::size_t round = 0;
  friend bool operator==(const TraceEvent&, const TraceEvent&) = default;
};

TraceOutcome to_trace(const model::Outcome& o);
// Field-by-field agreement of a recorded outcome with one the model (or a replay) produced;
// rule and label are compared only when the trace has them. Empty when equal, else what differs.
std::string outcome_difference(const TraceOutcome& recorded, const model::Outcome& actual);
std::string outcome_difference(const TraceOutcome& recorded, const TraceOutcome& actual);
std::string render(const TraceOutcome& o);
// An errno value as listings show it: "EINVAL", "EAGAIN/EWOULDBLOCK", "errno 42"; 0 is "0".
std::string errno_name(int e);
// "lwp#3", or "NULL" for kNoLwp.
std::string lwp_name(model::LwpId l);
// A returned value of an op of kind `b` as the C API shows it ("0", "-1 EBADF", "0 st_size=4", the
// lwp as `lwp` says): every side's rendering of a call goes through it, so that they read alike.
std::string render_returned(const model::OpBody& b, std::int64_t ret, int err, std::int64_t st_size, const std::string& lwp);
// The model's outcome of an op of kind `b` rendered the same way ("BLOCKED", "FATAL(L3-stale)", ...).
std::string render_model(const model::Outcome& o, const model::OpBody& b);
// The rule a wake-up of a call blocked in an op of kind `b` is about (S2 for a suspend, S5 for a wait, ...).
model::Rule wake_rule(const model::OpBody& b);

// One step of the model alone as an event: outcome, wake-ups, the symbols it created (with their
// pids) and, when digest_hosts > 0, the digest of the §7 observation of hosts 0..digest_hosts-1.
// `raw`, when given, receives the model's own outcome (e.g. why a step was not runnable).
TraceEvent model_step(model::Model& m, const model::Op& op, const model::Choice& choice, int digest_hosts,
                      model::Outcome* raw = nullptr);
// The pid choice an event records (the pid bound to the process it created), for model_step.
model::Choice recorded_choice(const TraceEvent& e);

std::string symbol(Binding::Kind k, std::uint32_t id);  // "lwp#3", "proc#2"
std::string actor_name(const model::Actor& a);          // "H0", "K2", "clock", "reaper"
std::string_view wait_name(model::WaitKind w);
std::string_view kind_name(model::OutcomeKind k);

}  // namespace lockstep::checker
