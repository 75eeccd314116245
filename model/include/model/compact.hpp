// Dropping the tombstones nothing can reach any more. A State keeps every object it ever made
// (state.hpp), so that a stale handle stays recognisable; a checker that follows one instance
// through a long history (checker/lin's search over a stress history) copies states at every step,
// and the copies grow with every process that ever lived. Once the checker knows which objects its
// remaining operations can still name (its pins), everything else that is dead can go.
//
// What stays: processes 0 and 1, every process in the table, every pinned process or lwp, every
// host's curlwp, every wait's target, and everything those reach: a process's lwps (released ones
// included, since §7 observations show them) and its fd table, an lwp's process, a table's open
// descriptions. Files all stay (the namespace names them). A kept fd table that is freed (the table
// of a pinned stale process) is emptied: only a live process's table is ever read again. Kept
// objects keep their order and are renumbered densely; every reference is rewritten.
//
// Why it is invisible. No step reads an object except through an id it is given (an op's handle or
// actor, which the pins cover) or one it finds from a root above (the table, a host, a wait, a kept
// object's references), and no step reads how many objects of a kind exist except to tell a handle
// that was never issued (an id past the end), which stays past the end. So every later step of a
// compacted state gives the outcome it gives on the original, with ids renamed by the renaming.
// What changes is only what no step reads: the tombstones, and the ids new objects get.
#pragma once
#include <cstdint>
#include <vector>

#include "model/state.hpp"

namespace lockstep::model {

inline constexpr std::uint32_t kDropped = 0xffffffffu;

// Per kind, old id -> new id (kDropped for an object that is gone).
struct Renaming {
  std::vector<std::uint32_t> procs, lwps, fdtables, descs, files;
  std::size_t emptied = 0;  // kept freed fd tables whose fds were cleared
  std::size_t dropped() const;
  bool changed() const { return emptied > 0 || dropped() > 0; }
};

struct Pins {
  std::vector<ProcId> procs;
  std::vector<LwpId> lwps;
};

// Compacts `s` in place; pins out of range are ignored.
Renaming compact(State& s, const Pins& pins);

}  // namespace lockstep::model
