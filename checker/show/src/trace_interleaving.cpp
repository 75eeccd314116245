// The per-thread interleaving table of a trace's last round (Lincheck's counterexample layout):
// which thread ran, where it stopped, and where control switched, from the recorded turns.
#include <algorithm>
#include <deque>
#include <map>

#include <fmt/format.h>

#include "checker/trace_show.hpp"

namespace lockstep::checker {

namespace {
constexpr std::size_t kMaxCell = 44;
std::string clip(std::string s) { return s.size() > kMaxCell ? s.substr(0, kMaxCell - 3) + "..." : s; }
}  // namespace

std::optional<Interleaving> build_interleaving(const Trace& t) {
  // The last event that carries turns starts the last round (or is the last single step).
  std::optional<std::size_t> start;
  for (std::size_t i = t.events.size(); i-- > 0;)
    if (!t.events[i].turns.empty()) {
      start = i;
      break;
    }
  if (!start) return std::nullopt;
  const TraceEvent& head = t.events[*start];
  Interleaving il;
  il.first_step = head.step;
  il.steps = std::min(std::max<std::size_t>(head.round, 1), t.events.size() - *start);

  // Each actor's ops in the round, in trace order (one actor's ops keep their program order).
  std::map<std::string, std::deque<const TraceEvent*>> ops;
  for (std::size_t i = *start; i < *start + il.steps; ++i) ops[actor_name(t.events[i].op.actor)].push_back(&t.events[i]);

  std::map<std::string, std::size_t> lane_of;
  std::map<std::string, bool> in_op;
  auto lane = [&](const std::string& name) {
    auto [it, fresh] = lane_of.try_emplace(name, il.lanes.size());
    if (fresh) il.lanes.push_back(name);
    return it->second;
  };
  const std::vector<TraceTurn>& turns = head.turns;
  il.preemptions = count_preemptions(turns);
  il.switches = count_switches(turns);
  for (std::size_t i = 0; i < turns.size(); ++i) {
    const TraceTurn& tu = turns[i];
    const std::size_t l = lane(tu.thread);
    if (tu.wake) {
      il.rows.push_back(InterleavingRow{l, "(woken spuriously)", InterleavingRow::Switch::None});
      continue;
    }
    auto& queue = ops[tu.thread];
    if (il.rows.empty() || std::none_of(il.rows.begin(), il.rows.end(), [&](const InterleavingRow& r) { return r.lane == l; }))
      if (queue.empty()) il.rows.push_back(InterleavingRow{l, "(continues)", InterleavingRow::Switch::None});
    if (!in_op[tu.thread] && !queue.empty() && tu.stop != "return") {
      il.rows.push_back(InterleavingRow{l, clip("> " + op_text(queue.front()->op)), InterleavingRow::Switch::None});
      in_op[tu.thread] = true;
    }
    std::string text = tu.stop;
    if (tu.stop == "return" && in_op[tu.thread] && !queue.empty()) {
      // What the impl returned: where it differs from the model's outcome, the event carries it.
      const auto& e = *queue.front();
      const std::optional<TraceOutcome>& impl = e.observed ? e.observed : e.observed_in_round;
      text = e.observed || (impl && render(*impl) != render(e.outcome)) ? "return -> " + render(*impl) + " (model: " + render(e.outcome) + ")"
                                                                        : "return -> " + render(e.outcome);
      queue.pop_front();
      in_op[tu.thread] = false;
    }
    InterleavingRow row{l, clip(text), InterleavingRow::Switch::None};
    // The next thread to run, past any spurious wakes.
    std::size_t j = i + 1;
    while (j < turns.size() && turns[j].wake) ++j;
    if (j < turns.size() && turns[j].thread != tu.thread)
      row.after = preempted_at(tu) ? InterleavingRow::Switch::Preempted : InterleavingRow::Switch::Blocked;
    il.rows.push_back(std::move(row));
  }
  return il;
}

std::string show_interleaving_text(const Interleaving& il) {
  std::string out = fmt::format("interleaving of step{} {}{} as scheduled ({} preemptions, {} context switches; "
                                "a row is where the thread stopped: before a lock, after an unlock, in a wait; '<< switch' marks a preemption, "
                                "'-- switch' a thread that could not go on):\n\n",
                                il.steps > 1 ? "s" : "", il.first_step, il.steps > 1 ? fmt::format("..{}", il.first_step + il.steps - 1) : "",
                                il.preemptions, il.switches);
  std::vector<std::size_t> width(il.lanes.size());
  auto cell = [](const InterleavingRow& r) {
    return r.text + (r.after == InterleavingRow::Switch::Preempted ? "  << switch" : r.after == InterleavingRow::Switch::Blocked ? "  -- switch" : "");
  };
  for (std::size_t l = 0; l < il.lanes.size(); ++l) width[l] = il.lanes[l].size();
  for (const InterleavingRow& r : il.rows) width[r.lane] = std::max(width[r.lane], cell(r).size());
  for (std::size_t l = 0; l < il.lanes.size(); ++l) out += fmt::format("| {:<{}} ", il.lanes[l], width[l]);
  out += "|\n";
  for (std::size_t w : width) out += "|" + std::string(w + 2, '-');
  out += "|\n";
  for (const InterleavingRow& r : il.rows) {
    for (std::size_t l = 0; l < il.lanes.size(); ++l) out += fmt::format("| {:<{}} ", l == r.lane ? cell(r) : std::string(), width[l]);
    out += "|\n";
  }
  return out;
}

}  // namespace lockstep::checker
