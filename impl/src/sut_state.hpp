// The SPEC §7 state of a kernel as the plug-in interface's JSON (lockstep/sut.h,
// lockstep_sut_state): what `lockstep run --sut` and `stress --sut` compare when the built-in
// implementation is the SUT.
#pragma once
#include <map>
#include <string>

#include "impl/snapshot.hpp"

namespace lockstep::impl {

// Hosts are named by `host_index` (an OS thread's index, lockstep_sut_name_host); fd tables and
// descriptions by first appearance.
std::string sut_state_json(const Snapshot& snap, const std::map<HostId, int>& host_index);

}  // namespace lockstep::impl
