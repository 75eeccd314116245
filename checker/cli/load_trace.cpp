#include "load_trace.hpp"

#include <cstdio>

#include "checker/strategy.hpp"
#include "impl/faults.hpp"

namespace lockstep::cli {

std::optional<checker::Trace> load_trace(const std::string& path) {
  try {
    checker::ReadOptions options;
    options.known_faults.emplace();
    for (const impl::FaultInfo& f : impl::all_faults()) options.known_faults->emplace_back(f.name);
    options.check_strategy = [](std::string_view name) {
      std::string error;
      return checker::parse_strategy(name, &error) ? std::string() : "a scheduling strategy (" + error + ")";
    };
    return checker::read_trace(path, options);
  } catch (const checker::TraceFormatError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return std::nullopt;
  }
}

}  // namespace lockstep::cli
