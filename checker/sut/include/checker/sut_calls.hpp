// Which C function of the plug-in interface carries each op kind (sut_wire.hpp's Call), for the
// lockstep path (sut_lockstep) and the free-running one (`lockstep stress --sut`).
#pragma once
#include <optional>
#include <string>

#include "checker/sut_wire.hpp"
#include "model/op.hpp"

namespace lockstep::checker::sut {

// Call::Count for the clock's tick (the runner's own) and for nothing else.
Call call_of(const model::OpBody& b);

// The SPEC rule a SUT's panic names on stderr ("panic: L3-stale: ..."), if it printed one.
std::optional<std::string> panic_rule(const std::string& stderr_text);

}  // namespace lockstep::checker::sut
