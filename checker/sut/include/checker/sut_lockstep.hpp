// One program in lockstep on a plug-in SUT (checker/sut/SUT.md): each step is resolved against the
// model, sent to the child process that hosts the SUT, and what the SUT's call did — returned (with
// what), blocked, woke a blocked call, died — is compared with the model's step. Time is the SUT's
// real clock: the model's clock follows it (ticks that have certainly passed, and timeouts the SUT
// shows), and a tick step lets real time pass until the waits it ends have ended in the SUT.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checker/coverage.hpp"
#include "checker/program.hpp"
#include "checker/sut_process.hpp"
#include "checker/trace.hpp"

namespace lockstep::checker::sut {

struct SutRunConfig {
  SpawnOptions spawn;            // host, library, env (threads is set from program.chooser.hosts)
  ProgramConfig program;         // chooser.supported / user_proc_handles come from the SUT's names
  std::int64_t tick_ns = 10'000'000;                 // when the SUT does not export lockstep_sut_tick_ns
  std::chrono::milliseconds block_window{5};         // a call the model says blocks must not return within this
  std::chrono::milliseconds watchdog{2000};          // a call the model says returns must return within this
  std::chrono::milliseconds max_tick_wait{2000};     // the most real time one tick step waits for
  bool probe = true;             // after each step, ask every free host its curlwp, pid, ppid and uid
  bool introspect = true;        // with lockstep_sut_state: compare the whole §7 state after each step
  bool reuse = true;             // with lockstep_sut_reset: run the next program in the same child after a reset
};

// What a SUT exports, learnt from one child (SutProcess::start).
struct SutNames {
  std::uint64_t mask = 0;
  std::int64_t tick_ns = 0;
  std::vector<std::string> present;           // C names, in sut_wire.hpp's order
  std::vector<std::string> missing_required;
  double spawn_seconds = 0;
};
std::optional<SutNames> probe_names(const SpawnOptions& o, std::string& error);
// The chooser's restriction for those names: the op kinds whose calls the SUT exports.
void restrict_to(ProgramConfig& p, const SutNames& n);
// The op kinds a run generates for those names, by C name (the summary prints them).
std::vector<std::string> generated_ops(const SutNames& n);

// Error: the run could not be made (the SUT's process could not be started), which says nothing of
// the SUT's behaviour; a campaign stops with it as an error, not as a failure to shrink.
enum class SutVerdict { Agree, Divergence, Deadlock, Untrusted, Error };
std::string_view to_string(SutVerdict v);

struct SutStepRecord {
  std::string op;        // "H1 rump_pub_lwproc_rfork(RUMP_RFFDG)"
  std::string model;     // the model's outcome (and wake-ups)
  std::string sut;       // what the SUT did, where it differs
  bool probe = false;    // an observation the runner added, not a step of the program
};

struct SutRunResult {
  SutVerdict verdict = SutVerdict::Agree;
  std::string failure;                  // the first difference, one paragraph
  model::Rule rule = model::Rule::P0;   // the SPEC rule it breaks
  std::vector<SutStepRecord> listing;   // every call, probes included, up to the failure
  std::vector<TraceEvent> events;       // the same as trace events (the model's order)
  std::size_t program_steps = 0;        // program steps run
  std::uint64_t calls = 0;              // requests sent to the SUT
  double spawn_seconds = 0;             // start of the child to its Hello
  double seconds = 0;
  double block_window_seconds = 0;      // of which: watching calls that block not return (the block window)
  double tick_wait_seconds = 0;         // and letting real time pass for the timeouts tick steps end
  std::string output;                   // what the SUT wrote to stdout / stderr
  std::string fatal_how;                // a FATAL the model expected: how the SUT died ("panic: L3-stale (killed by ...)")
  Coverage coverage;                    // the model's outcomes of every call, probes included
  std::uint64_t states_compared = 0;    // §7 states read with lockstep_sut_state and compared
  std::uint64_t states_skipped = 0;     // steps after which a timed wait was pending (no comparison)
  std::uint64_t armed_compared = 0;     // ... of which the armed timeouts were compared (SUT.md)
  std::uint64_t kthread_pids_asked = 0; // kthreads whose pid the SUT did not say (no lockstep_proc_pid), learnt by newlwp
  std::uint64_t pid_probes = 0;         // ... the newlwp requests that took (scans of free pids; SUT.md, "pids")
  bool reused_process = false;          // ran in a child reset after an earlier program (lockstep_sut_reset)
  bool agreed() const { return verdict == SutVerdict::Agree; }
};

// A child kept between programs (a SUT with lockstep_sut_reset): the process, and the kthread slots
// its earlier programs' bodies still hold (their threads idle in the child for good).
struct SutChild {
  std::unique_ptr<SutProcess> process;
  std::uint32_t next_slot = 0;
  std::vector<std::uint32_t> free_slots;
  std::uint64_t programs = 0;  // programs run after a reset
};

// Runs one program. With `child`, its process is used when there is one (and reset after the program
// when the program ended quiescent and the SUT exports lockstep_sut_reset, else killed); without, a
// fresh child runs it and is killed.
SutRunResult run_sut_program(const Program& p, const SutRunConfig& c, SutChild* child = nullptr);

}  // namespace lockstep::checker::sut
