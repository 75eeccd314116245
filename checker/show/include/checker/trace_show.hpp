// Pictures of a trace (`lockstep show`): a timeline with one lane per host thread and
// kthread (ops, blocked spans, wake-ups, the divergence marked) and the process tree
// after the last shown step (processes, their lwps, fd tables and who shares them).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "checker/observation.hpp"
#include "checker/trace_io.hpp"

namespace lockstep::checker {

struct ShowOptions {
  std::size_t max_events = 200;  // the window shown ends at the last event (where a divergence is)
};

// What happens in one lane at one step.
struct LaneCell {
  enum class Kind : std::uint8_t { Idle, Op, Blocked, Woken } kind = Kind::Idle;
  std::string text;       // "kthread_suspend(proc#2, 1)" for Op, "returns 0" for Woken
  std::string result;     // the op's outcome, rendered ("0", "BLOCKED", "FATAL(L3-stale)")
  std::string woken_by;   // Woken: the lane whose op woke it
  bool diverged = false;  // the divergence the trace records is at this cell
};

// The interleaving of the trace's last round (or step) as its recorded scheduling decisions show it
// (format 1.4 turns), for a per-thread table in the style of Lincheck: one column per thread, one
// row per turn, each operation's start and return, and the switch points marked.
struct InterleavingRow {
  std::size_t lane = 0;
  std::string text;        // "> kthread_resume(proc#2)" (the op starts), "lock proc2.lock", "return -> 0"
  enum class Switch : std::uint8_t { None, Preempted, Blocked } after = Switch::None;  // another thread runs next
};
struct Interleaving {
  std::size_t first_step = 0, steps = 0;   // the events of the round: first_step .. first_step + steps - 1
  std::vector<std::string> lanes;          // threads in order of first appearance
  std::vector<InterleavingRow> rows;
  std::size_t preemptions = 0, switches = 0;
};
// The last round's interleaving; nullopt when the trace records no scheduling decisions (before 1.4).
std::optional<Interleaving> build_interleaving(const Trace& t);
std::string show_interleaving_text(const Interleaving& il);

struct Timeline {
  std::vector<std::string> lanes;          // "H0", "H1", "K2", "clock", "reaper" in that order
  std::size_t first = 0;                   // the first step shown
  std::vector<std::vector<LaneCell>> rows; // rows[step - first][lane]
  std::optional<std::string> divergence;   // "DIVERGE at step 2 [S2]: ..."
  std::size_t divergence_step = 0;
  std::string title;
  Observation tree;                        // the §7 observation after the last step shown
  std::size_t tree_step = 0;
  std::optional<Interleaving> interleaving;  // of the last round, when the trace has its decisions
};

// A lane's text for an op, from its traits row: "kthread_suspend(proc#2, 1)", "lwproc_rfork(RUMP_RFFDG)".
std::string op_text(const model::Op& op);

Timeline build_timeline(const Trace& t, const std::string& file, const ShowOptions& o);
std::string show_text(const Timeline& tl);
std::string show_dot(const Timeline& tl);

}  // namespace lockstep::checker
