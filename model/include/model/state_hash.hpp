// A 128-bit hash of a whole model State, for checkers that memoise on states (checker/lin's
// linearizability search keys its cache by it). Correctness: it is a deterministic function of
// every field State::operator== compares, so equal states always hash equal; two lanes computed
// with independent keys make a collision of unequal states a 2^-128 event, which is what lets a
// search keep only the hash of a state it has seen (checker/lin/LIN.md, "The cache key").
//
// Up to renaming. Processes, lwps, fd tables, open descriptions and files are named by serial ids
// in the order they were created, so two orders of the same steps (two rforks by two threads) give
// states that differ only in which id each object got. Given a key per serial id (IdKeys: e.g. the
// step that created the object), hash_state hashes the state with every id replaced by its key, and
// relabel renumbers every id in the order of the keys: states equal up to that renaming then hash
// equal and relabel to equal states. With no keys, ids are their own keys.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "model/state.hpp"

namespace lockstep::model {

struct StateHash {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  friend bool operator==(const StateHash&, const StateHash&) = default;
};

// A key per serial id, distinct within each kind; an empty span means "the id is its own key".
struct IdKeys {
  std::span<const std::uint64_t> procs, lwps, fdtables, descs, files;
};

StateHash hash_state(const State& s);
// `pid_cursor` = false leaves out State::next_pid, the reference allocator's cursor, which only a
// step without a bound pid choice reads (a checker that binds every pid never lets it matter).
StateHash hash_state(const State& s, const IdKeys& keys, bool pid_cursor = true);

// The hash is a function of the state's other fields and of the sum of its objects' hashes, so a
// search that hashes every state of a path can carry the sum along: objects_hash(after, before, ...)
// rehashes only the objects that differ between two states (objects are never deleted, so `after`
// has every object of `before`, under the same keys, and maybe more). Comparing objects is much
// cheaper than hashing them, and a step changes few.
struct ObjectsHash {
  std::uint64_t lo = 0, hi = 0;
  friend bool operator==(const ObjectsHash&, const ObjectsHash&) = default;
};
ObjectsHash objects_hash(const State& s, const IdKeys& keys);
ObjectsHash objects_hash(const State& after, const State& before, const ObjectsHash& of_before, const IdKeys& keys);
StateHash hash_state(const State& s, const ObjectsHash& objects, const IdKeys& keys, bool pid_cursor = true);

// The state with every serial id renumbered in increasing order of its key (and every reference to
// it rewritten): relabel(a, ka) == relabel(b, kb) iff a and b are equal up to the renaming, for key
// sets that are equal.
State relabel(const State& s, const IdKeys& keys);

}  // namespace lockstep::model

template <>
struct std::hash<lockstep::model::State> {
  std::size_t operator()(const lockstep::model::State& s) const noexcept { return lockstep::model::hash_state(s).lo; }
};
