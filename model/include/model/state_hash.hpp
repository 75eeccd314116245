// A 128-bit hash of a whole model State, for checkers that memoise on states (checker/lin's
// linearizability search keys its cache by it). Correctness: it is a deterministic function of
// every field State::operator== compares, so equal states always hash equal; two lanes computed
// with independent keys make a collision of unequal states a 2^-128 event, which is what lets a
// search keep only the hash of a state it has seen (checker/lin/LIN.md, "The cache key").
#pragma once
#include <cstddef>
#include <cstdint>

#include "model/state.hpp"

namespace lockstep::model {

struct StateHash {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  friend bool operator==(const StateHash&, const StateHash&) = default;
};

StateHash hash_state(const State& s);

}  // namespace lockstep::model

template <>
struct std::hash<lockstep::model::State> {
  std::size_t operator()(const lockstep::model::State& s) const noexcept { return lockstep::model::hash_state(s).lo; }
};
