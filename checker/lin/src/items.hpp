// What the search works on, prepared once from a History: one item per operation and per
// observation, with its symbols interned and its events on the list.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "checker/lin_history.hpp"
#include "events.hpp"
#include "symbols.hpp"

namespace lockstep::checker::lin::detail {

inline constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

struct Item {
  bool observation = false;
  // An observation at a point where only untimed waits are in flight (Prepared::commit_points): the
  // search may commit to the order that explains it (Options::commit_at_quiescent_observations).
  bool commit_point = false;
  std::size_t index = 0;                   // into History::ops or History::observations
  std::uint32_t call_ev = kNone, ret_ev = kNone;
  std::uint64_t call_pos = 0, ret_pos = kNever;  // kNever: no response (in flight at the end)
  // Which the search tries first among the candidates: a guess at the instant the call took effect.
  // A call that may block is guessed at its invocation (its request most likely took effect on
  // entry; its response waited for the follow-up, and where the request goes decides what the
  // follow-up can be, e.g. a deadline); any other call at a point of its interval, the middle on the
  // first attempt and another point on each restart (Search::try_key). A call still in flight at the
  // end goes last.
  bool may_block = false;
  std::optional<std::uint64_t> hint_pos;   // Operation::hint, when inside the interval
  bool responded = false, blocked_at_end = false, carried = false;
  std::optional<bool> blocked;             // Operation::blocked
  std::vector<std::int32_t> arg_syms;      // per argument: its symbol's index, -1 for a plain value or NULL
  std::int32_t actor_sym = -1;             // a kthread actor's process symbol
  std::int32_t result_lwp_sym = -1;        // curlwp's answer, when an lwp
  std::vector<std::int32_t> created_procs, created_lwps;
  std::vector<model::Pid> created_proc_pids, created_lwp_pids;
  std::vector<int> created_lwp_lids;       // Operation::created_lids (empty: not recorded)
  bool pid_open = false;                   // creates a process whose pid the history does not bind
  bool kthread_pid_open = false;           // ... and that process is a kthread (Prepared::kthread_pids)
};

struct Prepared {
  explicit Prepared(const History& h);
  std::vector<Item> items;                 // History::ops in order, then the observations by position
  Symbols symbols;
  EventList events;
  // Every pid the history shows, sorted: what tells pids apart. Empty when no item is pid_open (then
  // nothing reads it).
  std::vector<model::Pid> named_pids;
  // The pids that can tell where a kthread whose pid is unsaid lives, sorted: those a newlwp answered
  // EBUSY for, and those of an observation. Elsewhere a kthread's pid shows only by colliding with a
  // pid the history gives a user process, which a pid the history never names avoids; so these and
  // one unnamed pid are its only different outcomes (Search::expand). Trying every named pid instead
  // made a plug-in SUT's 4·10^3-call histories take 10^6 backtracks.
  std::vector<model::Pid> kthread_pids;
  std::vector<std::uint32_t> observation_items;  // the observations' items, in order
  std::vector<bool> console_grows;         // per observation: the previous one's console is a prefix of its
};

}  // namespace lockstep::checker::lin::detail
