// Which C function of the plug-in interface carries each op kind (sut_wire.hpp's Call), for the
// lockstep path (sut_lockstep) and the free-running one (`lockstep stress --sut`).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checker/sut_wire.hpp"
#include "model/op.hpp"

namespace lockstep::checker::sut {

// Call::Count for the clock's tick (the runner's own) and for nothing else.
Call call_of(const model::OpBody& b);

// Fills a request's call and arguments for `b` (not its seq, runner or slot); handle arguments through
// the resolvers (a model or history lwp / process id to the value the SUT handed out).
void fill_arguments(Request& q, const model::OpBody& b, const std::function<std::uint64_t(model::LwpId)>& lwp,
                    const std::function<std::uint64_t(model::ProcId)>& proc);

// A kthread body's slot in the child: one that no body uses any more (a failed create's, an exited
// kthread's, whose thread has ended), else the next; kMaxSlots when all are taken.
std::uint32_t take_slot(std::uint32_t& next, std::vector<std::uint32_t>& free);

// The SPEC rule a SUT's panic names on stderr ("panic: L3-stale: ..."), if it printed one.
std::optional<std::string> panic_rule(const std::string& stderr_text);

}  // namespace lockstep::checker::sut
