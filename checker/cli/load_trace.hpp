// How a command reads a trace file: on bad input it prints the reader's one line,
// `FILE:LINE: what was expected`, and gives nothing back (the command then exits 2).
#pragma once
#include <optional>
#include <string>

#include "checker/trace_io.hpp"

namespace lockstep::cli {

std::optional<checker::Trace> load_trace(const std::string& path);

}  // namespace lockstep::cli
