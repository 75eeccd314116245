// From a trace to the lanes and cells that `lockstep show` draws; the process tree comes
// from driving the model through the events (with the pids they recorded).
#include <algorithm>
#include <map>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

#include "checker/trace_show.hpp"
#include "model/model.hpp"
#include "model/op_traits.hpp"

namespace lockstep::checker {

using namespace lockstep::model;

namespace {

// One argument as a listing shows it, by its kind and the vocabulary its traits row names.
template <class V>
std::string arg_text(const ArgTraits& a, const V& v) {
  if constexpr (std::is_same_v<V, std::string>) {
    return fmt::format("\"{}\"", v);
  } else if constexpr (std::is_same_v<V, bool>) {
    return a.show == ArgShow::OpenCreate ? (v ? "O_CREAT" : "0") : (v ? "true" : "false");
  } else {
    if (a.kind == ArgKind::LwpSym) return static_cast<LwpId>(v) == kNoLwp ? std::string("NULL") : fmt::format("lwp#{}", v);
    if (a.kind == ArgKind::ProcSym) return fmt::format("proc#{}", v);
    if (a.show == ArgShow::RforkFlags) {
      if (v == kRumpRffdShare) return "RUMP_RFFD_SHARE";
      if (v == kRumpRffdg) return "RUMP_RFFDG";
      if (v == kRumpRfcfdg) return "RUMP_RFCFDG";
      return fmt::format("{:#x}", v);
    }
    if (a.show == ArgShow::KthreadFlags) {
      if (v == 0) return "0";
      if (v == kRffdg) return "RFFDG";
      if (v == kRfcfdg) return "RFCFDG";
      if (v == (kRffdg | kRfcfdg)) return "RFFDG|RFCFDG";
      return fmt::format("{:#x}", v);
    }
    return fmt::format("{}", v);
  }
}

int lane_order(const Actor& a) {
  switch (a.kind) {
    case Actor::Kind::Host: return 0;
    case Actor::Kind::Kthread: return 1;
    case Actor::Kind::Clock: return 2;
    case Actor::Kind::Reaper: return 3;
  }
  return 4;
}

}  // namespace

// "kthread_suspend(proc#2, 1)": the op's name and arguments from its traits row; the rump prefixes
// are dropped ("rump_pub_lwproc_rfork" -> "lwproc_rfork", "rump_sys_open" -> "open") to keep lanes narrow.
std::string op_text(const Op& op) {
  std::string_view name = traits(op.body).name;
  for (std::string_view prefix : {std::string_view("rump_pub_"), std::string_view("rump_sys_")})
    if (name.starts_with(prefix)) name.remove_prefix(prefix.size());
  std::string args;
  for_each_arg(op.body, [&](const ArgTraits& a, const auto& v) { args += (args.empty() ? "" : ", ") + arg_text(a, v); });
  return fmt::format("{}({})", name, args);
}

Timeline build_timeline(const Trace& t, const std::string& file, const ShowOptions& o) {
  Timeline tl;
  const std::size_t n = t.events.size();
  tl.first = n > o.max_events ? n - o.max_events : 0;

  // Lanes: every actor that acts or is woken in the window, hosts first, then kthreads by proc.
  std::vector<Actor> actors;
  auto add = [&](const Actor& a) {
    if (std::find(actors.begin(), actors.end(), a) == actors.end()) actors.push_back(a);
  };
  for (std::size_t i = tl.first; i < n; ++i) {
    add(t.events[i].op.actor);
    for (const TraceCompletion& c : t.events[i].woke) add(c.actor);
  }
  std::stable_sort(actors.begin(), actors.end(), [](const Actor& a, const Actor& b) {
    return std::pair{lane_order(a), a.index} < std::pair{lane_order(b), b.index};
  });
  std::map<std::string, std::size_t> lane_of;
  for (const Actor& a : actors) {
    lane_of[actor_name(a)] = tl.lanes.size();
    tl.lanes.push_back(actor_name(a));
  }

  // Cells. Blocked spans are tracked from the first event so a wait that began before the window shows.
  std::vector<bool> blocked(tl.lanes.size(), false);
  Model m(Config{t.header.config.maxproc, true, t.header.config.pid_max});
  for (std::size_t i = 0; i < n; ++i) {
    const TraceEvent& e = t.events[i];
    (void)model_step(m, e.op, recorded_choice(e), 0);
    if (i < tl.first) {
      if (auto it = lane_of.find(actor_name(e.op.actor)); it != lane_of.end()) blocked[it->second] = e.outcome.kind == OutcomeKind::Blocked;
      for (const TraceCompletion& c : e.woke)
        if (auto it = lane_of.find(actor_name(c.actor)); it != lane_of.end()) blocked[it->second] = false;
      continue;
    }
    std::vector<LaneCell> row(tl.lanes.size());
    for (std::size_t l = 0; l < row.size(); ++l)
      if (blocked[l]) row[l].kind = LaneCell::Kind::Blocked;
    const std::size_t al = lane_of.at(actor_name(e.op.actor));
    row[al].kind = LaneCell::Kind::Op;
    row[al].text = op_text(e.op);
    // What the impl returned where it differs from the model's outcome: the divergent step's, and a
    // diverging round's earlier calls' (the model's outcomes there are its posting order's).
    const std::optional<TraceOutcome>& impl = e.observed ? e.observed : e.observed_in_round;
    row[al].result = impl && render(*impl) != render(e.outcome) ? render(*impl) + " (model: " + render(e.outcome) + ")" : render(e.outcome);
    for (const TraceCompletion& c : e.woke) {
      const std::size_t wl = lane_of.at(actor_name(c.actor));
      row[wl].kind = LaneCell::Kind::Woken;
      row[wl].text = "returns " + render(c.outcome);
      row[wl].woken_by = tl.lanes[al];
      blocked[wl] = false;
    }
    blocked[al] = e.outcome.kind == OutcomeKind::Blocked;
    tl.rows.push_back(std::move(row));
  }
  tl.tree = observe(m.state(), t.header.config.hosts);
  tl.tree_step = n == 0 ? 0 : n - 1;

  const TraceExpect& x = t.header.expect;
  if (x.verdict == Verdict::Diverge && x.step >= tl.first && x.step < n) {
    tl.divergence_step = x.step;
    tl.divergence = x.observed.empty() ? fmt::format("DIVERGE at step {} [{}]: {}: {}", x.step, rule_name(x.rule), x.what, x.expected)
                                       : fmt::format("DIVERGE at step {} [{}]: {}: expected {}, observed {}", x.step,
                                                     rule_name(x.rule), x.what, x.expected, x.observed);
    // A wrong wake-up belongs to the woken lane ("wake-up of H0 ..."); anything else to the acting one.
    std::size_t lane = lane_of.at(actor_name(t.events[x.step].op.actor));
    if (x.what.rfind("wake-up of ", 0) == 0) {
      const std::string who = x.what.substr(11, x.what.find(' ', 11) - 11);
      if (auto it = lane_of.find(who); it != lane_of.end()) lane = it->second;
    }
    tl.rows[x.step - tl.first][lane].diverged = true;
  } else if (x.verdict == Verdict::Deadlock) {
    tl.divergence = fmt::format("DEADLOCK at step {}", x.step);
    tl.divergence_step = x.step;
  }
  tl.title = fmt::format("{}: {} events{}{}", file, n, t.header.faults.empty() ? ", correct impl" : ", fault " + t.header.faults.front(),
                         tl.first > 0 ? fmt::format(" (steps 0..{} not shown)", tl.first - 1) : "");
  tl.interleaving = build_interleaving(t);
  return tl;
}

}  // namespace lockstep::checker
