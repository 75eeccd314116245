// The verifier's driver: windows of events on one incremental solver, a query per window for
// an event where an invariant fails, and per violated invariant an unsat core that names the
// events forcing it.
#include "checker/verify.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <fmt/format.h>

#include "checker/verify_encoder.hpp"
#include "checker/verify_sequential_store.hpp"

namespace lockstep::checker {

using namespace verify_detail;
using model::Rule;

const std::vector<Rule>& verified_rules() {
  static const std::vector<Rule> r = {Rule::R1, Rule::R2, Rule::R3, Rule::R4, Rule::R5, Rule::R6,
                                      Rule::S1, Rule::S2, Rule::S3, Rule::S4, Rule::S5, Rule::S6};
  return r;
}

bool VerifyReport::all_hold() const {
  return std::all_of(verdicts.begin(), verdicts.end(), [](const InvariantVerdict& v) { return v.holds; });
}

const InvariantVerdict& VerifyReport::of(Rule r) const {
  for (const InvariantVerdict& v : verdicts)
    if (v.rule == r) return v;
  throw std::out_of_range("not a verified rule");
}

namespace {

std::size_t rule_slot(Rule r) {
  const auto& rs = verified_rules();
  return static_cast<std::size_t>(std::find(rs.begin(), rs.end(), r) - rs.begin());
}

std::string describe(const VEvent& e) {
  std::string s = fmt::format("{}", model::to_string(e.op));
  switch (e.outcome.kind) {
    case VOutcome::Kind::Returned: s += fmt::format(" -> {}", e.outcome.ret); break;
    case VOutcome::Kind::Blocked: s += " -> BLOCKED"; break;
    case VOutcome::Kind::Fatal: s += " -> FATAL"; break;
    default: break;
  }
  for (const VCompletion& c : e.woke) s += fmt::format("; woke {} -> {}", model::to_string(c.actor), c.outcome.ret);
  return s;
}

// Why rule `r` fails at event index `k`: encode events 0..k, the last `span` of them under
// tracking literals, assert the instance holds, and ask for an unsat core.
void explain(const VTrace& t, std::size_t k, InvariantVerdict& v, const VerifyOptions& o) {
  z3::context ctx;
  z3::params p(ctx);
  p.set("core.minimize", true);
  z3::solver s(ctx);
  s.set(p);
  const std::size_t from = t.events[k].step >= o.explain_span ? t.events[k].step - o.explain_span : 0;
  SequentialStore store(ctx);
  Encoder enc(s, store, t.hosts, from);
  for (std::size_t i = 0; i <= k; ++i) enc.event(t.events[i]);
  std::vector<z3::expr> bad;
  for (const Check& c : enc.checks())
    if (c.rule == v.rule && c.step == v.step) bad.push_back(c.holds);
  if (bad.empty()) return;
  // The instance holding at step k together with the events is unsatisfiable: the core is why.
  z3::expr_vector assumptions(ctx);
  for (const auto& [step, lit] : enc.tracked()) assumptions.push_back(lit);
  z3::expr_vector holds(ctx);
  for (const z3::expr& h : bad) holds.push_back(h);
  s.add(z3::mk_and(holds));
  if (s.check(assumptions) != z3::unsat) return;
  std::map<std::size_t, std::size_t> index;  // step -> event index
  for (std::size_t i = 0; i <= k; ++i) index[t.events[i].step] = i;
  for (const z3::expr& lit : s.unsat_core()) {
    const std::string name = lit.decl().name().str();
    const std::size_t step = std::stoull(name.substr(1));
    v.core.push_back(step);
    const VEvent& e = t.events[index.at(step)];
    v.core_text.push_back(name[0] == 'o' ? fmt::format("event {}: the observed state after it", step)
                                          : fmt::format("event {}: {}", step, describe(e)));
  }
  if (from > 0) v.core_text.push_back(fmt::format("(events before {} taken as given)", from));
}

}  // namespace

namespace verify_detail {
std::string with_values(const Check& c, const z3::model& m) {
  std::string s = c.what;
  if (c.values.empty()) return s;
  s += " (";
  for (std::size_t i = 0; i < c.values.size(); ++i)
  {
    const z3::expr v = m.eval(c.values[i].second, true);
    std::int64_t x = 0;
    s += fmt::format("{}{} = {}", i ? ", " : "", c.values[i].first, v.is_numeral_i64(x) ? std::to_string(x) : v.to_string());
  }
  return s + ")";
}
}  // namespace verify_detail

VerifyReport verify(const VTrace& t, const VerifyOptions& o) {
  VerifyReport rep;
  rep.events = t.events.size();
  for (Rule r : verified_rules()) rep.verdicts.emplace_back().rule = r;
  std::vector<std::size_t> first_index(rep.verdicts.size(), 0);

  // One context per thread, reused: creating a Z3 context costs more than verifying a short trace.
  // Constants are numbered from 0 in every call, so the context's symbol table does not grow.
  static thread_local z3::context ctx;
  // Z3's equation solver, then its SMT core: every constant of a window is defined by an equation
  // (SSA), so solve-eqs eliminates them and the core sees only what is left of the invariants.
  // About twice as fast as the SMT core alone (whose assert-time simplification and
  // internalisation of every definition took half the time: VERIFY.md, "Profile"). Each check is
  // of one window (push/pop), so the tactics never re-read an earlier window.
  z3::solver s = (z3::tactic(ctx, "solve-eqs") & z3::tactic(ctx, "smt")).mk_solver();
  SequentialStore store(ctx);
  Encoder enc(s, store, t.hosts, std::nullopt);
  const std::size_t window = std::max<std::size_t>(o.window, 1);
  using Clock = std::chrono::steady_clock;
  const auto since = [](Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  for (std::size_t begin = 0; begin < t.events.size() && !enc.dead(); begin += window) {
    auto t0 = Clock::now();
    s.push();
    const std::size_t end = std::min(t.events.size(), begin + window);
    for (std::size_t i = begin; i < end; ++i) enc.event(t.events[i]);
    // Every constant of a window is defined by an equation over earlier ones and the numerals the
    // last window left (SSA; an observed state's fields are numerals too), so the formula has
    // exactly one model, or none when the events contradict each other: one check decides both
    // whether an instance of the window fails (`any`, defined as the disjunction of every
    // instance's negation, true in the model; then which ones) and the state the next window
    // starts from (VERIFY.md, "Solving").
    z3::expr_vector viols(ctx);
    for (const Check& c : enc.checks()) viols.push_back(c.viol);
    const z3::expr any = ctx.bool_const(fmt::format("any{}", begin).c_str());
    s.add(any == z3::mk_or(viols));  // some instance of the window fails
    rep.profile.encode += since(t0);
    t0 = Clock::now();
    ++rep.solver_checks;
    const z3::check_result r = s.check();
    rep.profile.solve += since(t0);
    t0 = Clock::now();
    if (r != z3::sat) throw std::invalid_argument(fmt::format("events {}..{} contradict each other (solver: {})", begin, end - 1, r == z3::unsat ? "unsat" : "unknown"));
    const z3::model m = s.get_model();
    if (m.eval(any, true).is_true())
      for (const Check& c : enc.checks()) {
        if (!m.eval(c.viol, true).is_true()) continue;
        InvariantVerdict& v = rep.verdicts[rule_slot(c.rule)];
        if (!v.holds && v.step <= c.step) continue;
        v.holds = false;
        v.step = c.step;
        v.what = with_values(c, m);
        first_index[rule_slot(c.rule)] = static_cast<std::size_t>(std::find_if(t.events.begin(), t.events.end(), [&](const VEvent& e) { return e.step == c.step; }) - t.events.begin());
      }
    store.reseed(m);  // every current value becomes its numeral: the next window starts small
    enc.checks().clear();
    s.pop();
    rep.profile.model += since(t0);
  }
  const auto t0 = Clock::now();
  if (o.explain)
    for (std::size_t i = 0; i < rep.verdicts.size(); ++i)
      if (!rep.verdicts[i].holds) explain(t, first_index[i], rep.verdicts[i], o);
  rep.profile.explain = since(t0);
  return rep;
}

std::string render(const VerifyReport& r) {
  std::string out;
  for (const InvariantVerdict& v : r.verdicts) {
    if (v.holds) {
      out += fmt::format("{}: holds\n", model::rule_name(v.rule));
      continue;
    }
    out += fmt::format("{}: VIOLATED at event {}: {}\n", model::rule_name(v.rule), v.step, v.what);
    if (!v.core_text.empty()) out += "    forced by (unsat core):\n";
    for (const std::string& line : v.core_text) out += "      " + line + "\n";
  }
  out += fmt::format("{} events, {} solver checks: {}\n", r.events, r.solver_checks, r.all_hold() ? "all invariants hold" : "VIOLATION");
  return out;
}

// ---- the sequential judge's values: SSA constants within a window, numerals across windows, and
// the index's answer wherever the order could matter -----------------------------------------------

namespace verify_detail {

using namespace lockstep::model;

void SequentialStore::reseed(const z3::model& m) {
  for (const auto& [k, e] : cur_) {
    if (e.is_numeral()) seed_.insert_or_assign(k, e);  // folded: already its value
    else seed_.insert_or_assign(k, m.eval(e, true));
  }
  cur_.clear();
}

z3::expr SequentialStore::unwritten(Key k) {
  auto it = seed_.find(k);
  if (it != seed_.end()) return it->second;
  return seed_.emplace(k, ctx_.int_val(initial(k))).first->second;
}

// The table's processes with that ppid, surely its children.
std::vector<ValueStore::Child> SequentialStore::may_be_children(ProcId, Pid pid, const Index& ix) {
  std::vector<Child> out;
  for (ProcId c : ix.table)
    if (ix.procs[c].ppid == pid) out.push_back(Child{c, Cond{true, nullptr}});
  return out;
}

std::optional<Guard> SequentialStore::freed_before(ProcId, bool freed_in_file_order) {
  if (!freed_in_file_order) return std::nullopt;
  return Guard{};
}

// The wait the index shows, guarded by the values that say so: an unsat core then names the event
// that started it.
ValueStore::Guards SequentialStore::waiting(HostId h, ProcId p, const Index& ix) {
  const Index::Wait& x = ix.waits[h];
  if (x.kind == kNoWait || x.target != p) return nullptr;
  const z3::expr waiting = read(F::Wk, h) != kNoWait && read(F::Wt, h) == static_cast<int>(p);
  const WaitFor kind = x.kind == kExitWait ? WaitFor::Exit : WaitFor::Park;
  return [waiting, kind](WaitFor w) -> std::optional<Guard> {
    if (w != kind) return std::nullopt;
    return Guard{Term{!waiting, {}}};
  };
}

std::optional<Guard> SequentialStore::waited_for_exit(HostId, ProcId p, const Index::Wait& was, const Index&) {
  if (was.kind != kExitWait || was.target != p) return std::nullopt;
  return Guard{};
}

// The wait the index shows has a deadline: it has ended, or the deadline is later.
std::optional<ValueStore::Deadline> SequentialStore::deadline(HostId h, const Index& ix) {
  const Index::Wait& x = ix.waits[h];
  if (x.kind == kNoWait || x.deadline < 0) return std::nullopt;
  return Deadline{x.kind == kExitWait, x.kind != kExitWait, [this, h](WaitFor) {
                    const z3::expr ended = read(F::Wk, h) == kNoWait, later = read(F::Wd, h) > read(F::Now, 0);
                    return Term{ended || later, {ended, later}};
                  }};
}

}  // namespace verify_detail

}  // namespace lockstep::checker
