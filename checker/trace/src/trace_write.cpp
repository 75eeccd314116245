// The trace writer: one JSON object per line, keys in a fixed order so that a trace reads
// top-down (step, actor, op, args, outcome, ...), and an atomic file write.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checker/atomic_file.hpp"
#include "checker/trace_io.hpp"
#include "model/op_traits.hpp"
#include "symbol_space.hpp"

namespace lockstep::checker {

using namespace lockstep::model;
using ojson = nlohmann::ordered_json;

namespace {

ojson outcome_json(const TraceOutcome& o, bool is_curlwp) {
  ojson j;
  j["kind"] = kind_name(o.kind);
  if (o.rule) j["rule"] = rule_name(*o.rule);
  if (o.label) j["label"] = *o.label;
  if (o.kind == OutcomeKind::Returned) j["ret"] = o.ret;
  if (o.err != 0) j["err"] = o.err;
  if (o.lwp != kNoLwp) j["lwp"] = symbol(Binding::Kind::Lwp, o.lwp);
  else if (is_curlwp && o.kind == OutcomeKind::Returned) j["lwp"] = nullptr;
  if (o.lwp_unnamed) j["lwp_unnamed"] = true;  // format 1.3
  if (o.proc != kNoProc) j["proc"] = symbol(Binding::Kind::Proc, o.proc);
  if (o.st_size != 0) j["st_size"] = o.st_size;
  if (o.wait_target != kNoProc) {
    j["wait"] = wait_name(o.wait);
    j["target"] = symbol(Binding::Kind::Proc, o.wait_target);
  }
  if (o.fatal != Fatal::None) j["fatal"] = fatal_name(o.fatal);
  return j;
}

// The §7 observation in canonical names (format 1.1, `observed_state`): processes by pid, lwps as
// [lid, bound, released] with bound = host index, -1 unbound, -2 the kthread's own thread.
ojson observation_json(const Observation& o) {
  ojson procs = ojson::array();
  for (const ObsProc& p : o.procs) {
    ojson lwps = ojson::array(), fds = ojson::array();
    for (const ObsLwp& l : p.lwps) lwps.push_back(ojson::array({l.lid, l.bound, l.released}));
    for (const auto& [fd, d] : p.fds) fds.push_back(ojson::array({fd, d}));
    ojson j{{"pid", p.pid}, {"ppid", p.ppid}, {"comm", p.comm}, {"kind", to_string(p.kind)}, {"uid", p.uid},
            {"lwps", std::move(lwps)}, {"fdtable", p.fdtable}, {"fds", std::move(fds)}};
    if (p.kind == ProcKind::Kthread) {
      j["kstate"] = to_string(p.kstate);
      j["suspend_requested"] = p.suspend_requested;
      j["progress"] = p.progress;
      j["exit_code"] = p.exit_code;
    }
    procs.push_back(std::move(j));
  }
  ojson hosts = ojson::array();
  for (const ObsHost& h : o.hosts)
    hosts.push_back(ojson{{"curlwp", h.curlwp ? ojson::array({h.curlwp->first, h.curlwp->second}) : ojson(nullptr)}, {"pid", h.pid}});
  ojson blocked = ojson::array();
  for (const ObsWait& w : o.blocked) {
    ojson b{{"host", w.host}, {"what", w.what}, {"target", w.target}};
    if (w.deadline_said) b["deadline"] = w.deadline ? ojson(*w.deadline) : ojson(nullptr);  // format 1.7
    blocked.push_back(std::move(b));
  }
  ojson files = ojson::object();
  for (const auto& [path, size] : o.files) files[path] = size;
  return ojson{{"nprocs", o.nprocs}, {"procs", std::move(procs)}, {"hosts", std::move(hosts)},
               {"blocked", std::move(blocked)}, {"files", std::move(files)}, {"console", o.console}};
}

ojson bindings_json(const std::vector<Binding>& bs) {
  ojson b = ojson::array();
  for (const Binding& x : bs) b.push_back(ojson{{"sym", symbol(x.kind, x.id)}, {"pid", x.pid}});
  return b;
}

// The op's arguments, by its row of the op-traits table. A symbol the events so far have not bound
// is marked `never_issued` right after it (a handle beyond every issued one); switch(NULL) is null.
ojson args_json(const OpBody& body, const SymbolSpace& cur) {
  ojson a = ojson::object();
  for_each_arg(body, [&](const ArgTraits& arg, const auto& value) {
    const std::string key(arg.name);
    if (arg.kind == ArgKind::LwpSym || arg.kind == ArgKind::ProcSym) {
      if constexpr (std::is_integral_v<std::decay_t<decltype(value)>>) {
        const auto id = static_cast<std::uint32_t>(value);
        const bool lwp = arg.kind == ArgKind::LwpSym;
        if (lwp && id == kNoLwp) {
          a[key] = nullptr;
          return;
        }
        a[key] = symbol(lwp ? Binding::Kind::Lwp : Binding::Kind::Proc, id);
        if (!cur.issued(lwp ? Binding::Kind::Lwp : Binding::Kind::Proc, id)) a["never_issued"] = true;
      }
      return;
    }
    a[key] = value;
  });
  return a;
}

std::string event_line_with(const TraceEvent& e, SymbolSpace& cur) {
  ojson j;
  j["step"] = e.step;
  j["actor"] = actor_name(e.op.actor);
  j["op"] = op_name(e.op.body);
  j["args"] = args_json(e.op.body, cur);
  const bool is_curlwp = std::holds_alternative<op::Curlwp>(e.op.body);
  j["outcome"] = outcome_json(e.outcome, is_curlwp);
  if (!e.woke.empty()) {
    ojson w = ojson::array();
    for (const TraceCompletion& c : e.woke) w.push_back(ojson{{"actor", actor_name(c.actor)}, {"outcome", outcome_json(c.outcome, false)}});
    j["woke"] = std::move(w);
  }
  if (!e.bound.empty()) {
    j["bind"] = bindings_json(e.bound);
    for (const Binding& x : e.bound) cur.note(x);
  }
  if (e.digest) j["digest"] = fmt::format("{:016x}", *e.digest);
  if (e.observed) j["observed"] = outcome_json(*e.observed, is_curlwp);
  if (e.observed_woke) {
    ojson w = ojson::array();
    for (const TraceCompletion& c : *e.observed_woke) w.push_back(ojson{{"actor", actor_name(c.actor)}, {"outcome", outcome_json(c.outcome, false)}});
    j["observed_woke"] = std::move(w);
  }
  if (e.observed_state) j["observed_state"] = observation_json(*e.observed_state);
  if (e.observed_bind) j["observed_bind"] = bindings_json(*e.observed_bind);  // format 1.3
  if (e.observed_in_round) j["observed_in_round"] = outcome_json(*e.observed_in_round, is_curlwp);  // format 1.6
  if (!e.after.empty()) j["after"] = e.after;  // format 1.2
  if (e.round >= 2) j["round"] = e.round;        // format 1.4
  if (!e.turns.empty()) {
    ojson t = ojson::array();
    for (const TraceTurn& x : e.turns) t.push_back(to_string(x));
    j["turns"] = std::move(t);
  }
  return j.dump();
}

}  // namespace

std::string header_line(const TraceHeader& h, std::size_t events) {
  ojson j;
  // The version of the format this writer writes (a trace read from an older or newer minor is
  // re-written in this one: its unknown keys were not kept, its known ones are written as now).
  j["lockstep_trace"] = fmt::format("{}.{}", kTraceMajor, kTraceMinor);
  j["tool"] = h.tool;
  j["seed"] = h.seed;
  j["config"] = ojson{{"hosts", h.config.hosts}, {"kthreads", h.config.kthreads}, {"maxproc", h.config.maxproc}, {"pid_max", h.config.pid_max}};
  j["faults"] = h.faults;
  j["rules"] = h.rules;
  ojson x;
  x["verdict"] = to_string(h.expect.verdict);
  if (h.expect.verdict != Verdict::Agree) x["step"] = h.expect.step;
  if (h.expect.verdict == Verdict::Diverge) {
    x["rule"] = rule_name(h.expect.rule);
    x["what"] = h.expect.what;
    x["expected"] = h.expect.expected;
    x["observed"] = h.expect.observed;
  }
  j["expect"] = std::move(x);
  j["events"] = events;
  if (!h.program.empty()) j["program"] = h.program;
  if (h.partial_order) j["order"] = "partial";  // format 1.2; "total" is the default
  if (h.schedule) j["schedule"] = nlohmann::json{{"strategy", h.schedule->strategy}, {"seed", h.schedule->seed}};  // format 1.3
  return j.dump();
}

std::string event_line(const TraceEvent& e) {
  // Standalone: the never_issued marks need the bindings of earlier events, so a lone event
  // marks only handles beyond the initial objects.
  SymbolSpace cur;
  return event_line_with(e, cur);
}

std::string trace_text(const TraceHeader& h, const std::vector<TraceEvent>& events) {
  std::string text = header_line(h, events.size()) + '\n';
  SymbolSpace cur;
  for (const TraceEvent& e : events) text += event_line_with(e, cur) + '\n';
  return text;
}

std::string write_trace(const std::string& path, const TraceHeader& h, const std::vector<TraceEvent>& events) {
  return write_file_atomically(path, [&](std::FILE* f) {
    auto put = [&](const std::string& line) { return std::fwrite(line.data(), 1, line.size(), f) == line.size() && std::fputc('\n', f) != EOF; };
    bool ok = put(header_line(h, events.size()));
    SymbolSpace cur;
    for (std::size_t i = 0; ok && i < events.size(); ++i) ok = put(event_line_with(events[i], cur));
    return ok;
  });
}

}  // namespace lockstep::checker
