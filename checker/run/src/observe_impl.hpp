// The observation adapter: the impl's state, read through Kernel::snapshot(), in the terms of SPEC
// §7 that the model's state is observed in (hosts by index, fds canonicalised, waits by host), so
// the two compare field by field.
#pragma once
#include "checker/observation.hpp"
#include "instance.hpp"

namespace lockstep::checker {

// Call only when no registered thread of the instance is running.
Observation observe_impl(const Instance& inst, int hosts);

}  // namespace lockstep::checker
