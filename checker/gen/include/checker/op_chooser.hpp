// Chooses the next op of a random program from the current model state, so that
// arguments mostly name objects that exist (or existed: stale handles are part of
// the alphabet) and the interesting states of SPEC §3-§5 are reached often.
#pragma once
#include <cstdint>

#include "checker/random_source.hpp"
#include "model/op.hpp"
#include "model/state.hpp"

namespace lockstep::checker {

struct ChooserConfig {
  int hosts = 3;               // host threads H0..H{hosts-1}
  int max_kthreads = 2;        // kthread_create is tried only while fewer are alive
  std::uint32_t misuse_percent = 2;  // how often an op that is FATAL on purpose is chosen
};

// Returns an op whose actor is runnable in `s` (there always is one: the clock).
model::Op choose_op(const model::State& s, const ChooserConfig& c, Source& src);

}  // namespace lockstep::checker
