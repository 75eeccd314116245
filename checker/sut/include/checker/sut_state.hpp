// Introspection of a plug-in SUT (lockstep/sut.h: lockstep_sut_name_host, lockstep_sut_state): its
// SPEC §7 state read as an Observation, for `run --sut` (after every step) and `stress --sut` (at
// barriers).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "checker/observation.hpp"
#include "checker/sut_process.hpp"

namespace lockstep::checker::sut {

// Whether a SUT with these names can be introspected (both names exported).
bool has_introspection(std::uint64_t mask);

// The state a State request's reply announced (the JSON the child left in its state file), with fd
// tables and descriptions renamed canonically and `hosts` hosts; nullopt with `error` (one paragraph
// naming what was wrong) when there is no state or it is not lockstep_sut_state's JSON.
// `armed`, when given, gets the timeouts the state's blocked callers armed ("timo": ticks from a timed
// wait's start to its deadline), by host index; a SUT that does not report them leaves it empty.
std::optional<Observation> read_state(const SutProcess& p, const Reply& r, int hosts, std::string& error,
                                      std::map<int, std::int64_t>* armed = nullptr);

}  // namespace lockstep::checker::sut
