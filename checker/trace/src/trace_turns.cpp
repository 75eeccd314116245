// The scheduling decisions a trace records (format 1.4), in their one-line text form.
#include <algorithm>
#include <array>

#include "checker/trace.hpp"

namespace lockstep::checker {

namespace {
constexpr std::string_view kRunSep = " > ";
constexpr std::string_view kWakePrefix = "~ ";
// The stops at a scheduling point inside an operation (ControlledBackend::Point), where the thread
// could have run on: leaving it there for another thread is a preemption.
constexpr std::array<std::string_view, 5> kPointStops = {"lock", "unlock", "notify", "spawn", "yield"};

bool plain_name(std::string_view n) { return !n.empty() && n.find_first_of(" \t\n>~") == std::string_view::npos; }
}  // namespace

std::string to_string(const TraceTurn& t) {
  if (t.wake) return std::string(kWakePrefix) + t.thread;
  return t.thread + std::string(kRunSep) + t.stop;
}

std::optional<TraceTurn> parse_turn(std::string_view text) {
  TraceTurn t;
  if (text.starts_with(kWakePrefix)) {
    t.wake = true;
    t.thread = std::string(text.substr(kWakePrefix.size()));
    if (!plain_name(t.thread)) return std::nullopt;
    return t;
  }
  const std::size_t sep = text.find(kRunSep);
  if (sep == std::string_view::npos) return std::nullopt;
  t.thread = std::string(text.substr(0, sep));
  t.stop = std::string(text.substr(sep + kRunSep.size()));
  if (!plain_name(t.thread) || t.stop.empty()) return std::nullopt;
  return t;
}

bool preempted_at(const TraceTurn& t) {
  if (t.wake) return false;
  const std::string_view kind = std::string_view(t.stop).substr(0, t.stop.find(' '));
  for (std::string_view p : kPointStops)
    if (kind == p) return true;
  return false;
}

std::size_t count_preemptions(const std::vector<TraceTurn>& turns) {
  std::size_t n = 0;
  const TraceTurn* last = nullptr;
  for (const TraceTurn& t : turns) {
    if (t.wake) continue;
    if (last && preempted_at(*last) && last->thread != t.thread) ++n;
    last = &t;
  }
  return n;
}

std::size_t count_switches(const std::vector<TraceTurn>& turns) {
  std::size_t n = 0;
  const TraceTurn* last = nullptr;
  for (const TraceTurn& t : turns) {
    if (t.wake) continue;
    if (last && last->thread != t.thread) ++n;
    last = &t;
  }
  return n;
}

std::vector<std::vector<TraceTurn>> turns_by_round(const std::vector<TraceEvent>& events) {
  std::vector<std::vector<TraceTurn>> out;
  for (std::size_t i = 0; i < events.size(); i += std::max<std::size_t>(events[i].round, 1)) out.push_back(events[i].turns);
  return out;
}

}  // namespace lockstep::checker
