#include "load_trace.hpp"

#include <cstdio>

namespace lockstep::cli {

std::optional<checker::Trace> load_trace(const std::string& path) {
  try {
    return checker::read_trace(path);
  } catch (const checker::TraceFormatError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return std::nullopt;
  }
}

}  // namespace lockstep::cli
