#include "checker/sut_state.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checker/trace_io.hpp"

namespace lockstep::checker::sut {

bool has_introspection(std::uint64_t mask) { return ((mask & bit(Call::NameHost)) != 0) && ((mask & bit(Call::State)) != 0); }

std::optional<Observation> read_state(const SutProcess& p, const Reply& r, int hosts, std::string& error,
                                      std::map<int, std::int64_t>* armed) {
  if (r.text[0] != '\0') {
    error = fmt::format("lockstep_sut_state: {}", r.text);
    return std::nullopt;
  }
  const std::optional<std::string> text = p.state_text(static_cast<std::size_t>(std::max<std::int64_t>(0, r.b)));
  if (!text) {
    error = fmt::format("lockstep_sut_state: its {} bytes could not be read (at most {})", r.b, kMaxStateBytes);
    return std::nullopt;
  }
  Observation o;
  try {
    o = parse_observation_json(*text, "lockstep_sut_state");
  } catch (const TraceFormatError& e) {
    error = fmt::format("the SUT's state is not lockstep_sut_state's JSON (lockstep/sut.h): {}", e.what());
    return std::nullopt;
  }
  if (armed != nullptr) {
    // Not part of the §7 observation (deadlines are not compared there): read beside it.
    armed->clear();
    const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
    if (const auto b = j.is_object() ? j.find("blocked") : j.end(); j.is_object() && b != j.end() && b->is_array())
      for (const nlohmann::json& w : *b)
        if (w.is_object() && w.contains("host") && w["host"].is_number_integer() && w.contains("timo") && w["timo"].is_number_integer())
          (*armed)[w["host"].get<int>()] = w["timo"].get<std::int64_t>();
  }
  // The SUT's keys for fd tables and descriptions are its own: renamed by first appearance.
  std::vector<std::uint64_t> tables;
  std::vector<std::vector<std::pair<int, std::uint64_t>>> fds;
  for (const ObsProc& proc : o.procs) {
    tables.push_back(static_cast<std::uint64_t>(proc.fdtable));
    std::vector<std::pair<int, std::uint64_t>> f;
    for (const auto& [fd, d] : proc.fds) f.emplace_back(fd, static_cast<std::uint64_t>(d));
    fds.push_back(std::move(f));
  }
  canonicalize_fds(o.procs, tables, fds);
  // Waits by host, as the observation lists them (a SUT may list them in the order they began).
  std::stable_sort(o.blocked.begin(), o.blocked.end(), [](const ObsWait& a, const ObsWait& b) { return a.host < b.host; });
  // The reaper (and any thread the SUT names beyond the hosts) is not a host of the observation.
  if (o.hosts.size() > static_cast<std::size_t>(hosts)) o.hosts.resize(static_cast<std::size_t>(hosts));
  while (o.hosts.size() < static_cast<std::size_t>(hosts)) o.hosts.push_back(ObsHost{});
  return o;
}

}  // namespace lockstep::checker::sut
