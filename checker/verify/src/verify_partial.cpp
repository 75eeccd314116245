// Partial-order mode (checker/verify/include/checker/verify_partial.hpp, checker/verify/VERIFY.md): one Z3
// problem for the whole history. Positions: an Int per event, ordered by the happens-before edges.
// Values: every read of an event becomes the value of its last writer in the chosen order (a
// "reads-from" choice among the writers the graph leaves open), or the initial value. The
// invariant instances are the encoder's, over a PartialOrderStore, plus R5 over every pair of
// processes that were ever given one pid and R6 over every process that may be a parent (which of
// them is in the table when depends on the order). The history is encoded twice: a first pass
// learns what the file reveals only later (PartialOrderStore::Foresight), which the second, real
// encoding needs.
#include "checker/verify_partial.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "checker/happens_before.hpp"
#include "checker/verify_encoder.hpp"
#include "checker/verify_partial_store.hpp"

namespace lockstep::checker {

using namespace verify_detail;
using model::Rule;

bool PartialOrderReport::all_hold() const {
  return std::all_of(verdicts.begin(), verdicts.end(), [](const PartialOrderVerdict& v) { return v.holds && v.decided; });
}

bool PartialOrderReport::any_violated() const {
  return std::any_of(verdicts.begin(), verdicts.end(), [](const PartialOrderVerdict& v) { return !v.holds; });
}

const PartialOrderVerdict& PartialOrderReport::of(Rule r) const {
  for (const PartialOrderVerdict& v : verdicts)
    if (v.rule == r) return v;
  throw std::out_of_range("not a verified rule");
}

namespace {

struct Read {
  std::size_t event;
  std::uint64_t key;
  z3::expr value;
};

class PartialOrderProblem {
 public:
  // The positions are made (and the graph's edges asserted) before the first pass encodes the
  // history, the encoder after it.
  PartialOrderProblem(const VTrace& t, const HappensBefore& hb, z3::context& ctx, z3::solver& s)
      : t_(t), hb_(hb), ctx_(ctx), s_(s), order_(positions(t, hb, ctx, s)), fore_(first_pass(t, ctx)), store_(ctx, fore_),
        enc_(s, store_, t.hosts, std::nullopt) {
    const std::size_t n = t.events.size();
    writes_.resize(n);
    for (std::size_t i = 0; i < n && !enc_.dead(); ++i) {
      enc_.event(t.events[i]);
      encoded_ = i + 1;
      writes_[i] = store_.writes();
      for (const auto& [k, v] : store_.reads()) reads_.push_back(Read{i, k, v});
      for (const auto& [k, v] : writes_[i]) writers_[k].push_back(i);
      for (const PartialOrderStore::Created& c : store_.created()) created_.push_back({c.proc, c.pid});
    }
    pid_pairs_r5();
    parents_r6();
    for (const Read& r : reads_) resolve(r);
  }

  struct Order {
    std::vector<z3::expr> rank, pos;
  };
  // Position of event i = n * rank_i + i: Z3 picks the ranks; equal ranks are ordered by the
  // file, so no two positions are ever equal and no distinctness constraints are needed (the
  // order is the sort by (rank, file index)). Edges point forward in the file: rank_a <= rank_b.
  static Order positions(const VTrace& t, const HappensBefore& hb, z3::context& ctx, z3::solver& s) {
    const std::size_t n = t.events.size();
    Order o;
    const z3::expr scale = ctx.int_val(static_cast<std::int64_t>(n));
    for (std::size_t i = 0; i < n; ++i) {
      o.rank.push_back(ctx.int_const(fmt::format("rank{}", i).c_str()));
      s.add(o.rank.back() >= 0);
      o.pos.push_back(scale * o.rank.back() + ctx.int_val(static_cast<std::int64_t>(i)));
    }
    for (auto [it, end] = boost::edges(hb.graph()); it != end; ++it)
      s.add(o.rank[boost::source(*it, hb.graph())] <= o.rank[boost::target(*it, hb.graph())]);
    return o;
  }

  // The facts the encoder needs from further on in the file (PartialOrderStore::Foresight), from
  // an encoding of the whole history into a scratch solver.
  static PartialOrderStore::Foresight first_pass(const VTrace& t, z3::context& ctx) {
    z3::solver scratch(ctx);
    PartialOrderStore store(ctx);
    Encoder e(scratch, store, t.hosts, std::nullopt);
    for (const VEvent& ev : t.events) {
      if (e.dead()) break;
      e.event(ev);
    }
    return store.seen();
  }

  std::vector<Check>& checks() { return enc_.checks(); }
  std::size_t reads() const { return reads_.size(); }
  std::size_t encoded() const { return encoded_; }
  const z3::expr& pos(std::size_t i) const { return order_.pos[i]; }

  // A literal that, assumed, keeps the events before `begin` in file order, first, and those from
  // `end` on in file order, last: only the window's events move (within the graph's edges).
  z3::expr pin(std::size_t begin, std::size_t end) {
    z3::expr lit = ctx_.bool_const(fmt::format("pin{}_{}", begin, end).c_str());
    const std::int64_t last = static_cast<std::int64_t>(end - begin) + 1;
    for (std::size_t i = 0; i < order_.rank.size(); ++i) {
      if (i < begin) s_.add(z3::implies(lit, order_.rank[i] == 0));
      else if (i >= end) s_.add(z3::implies(lit, order_.rank[i] == ctx_.int_val(last)));
      else s_.add(z3::implies(lit, order_.rank[i] < ctx_.int_val(last)));
    }
    return lit;
  }

 private:
  // The value of `key` right after event e in the chosen order.
  z3::expr value_after(std::size_t e, std::uint64_t key) {
    if (auto it = writes_[e].find(key); it != writes_[e].end()) return it->second;
    z3::expr v = ctx_.int_const(fmt::format("after{}_{}", e, extra_++).c_str());
    reads_.push_back(Read{e, key, v});
    return v;
  }

  // R5 for every pair of processes created with one pid: at each event that writes either's table
  // membership, not both are in the table. (A pair can only start to share the table at such an event.)
  void pid_pairs_r5() {
    std::map<model::Pid, std::vector<model::ProcId>> by_pid;
    for (const auto& [p, pid] : created_) by_pid[pid].push_back(p);
    by_pid[0].push_back(0);  // the initial processes hold their pids too
    by_pid[1].push_back(1);
    for (const auto& [pid, procs] : by_pid)
      for (std::size_t a = 0; a < procs.size(); ++a)
        for (std::size_t b = 0; b < procs.size(); ++b) {
          if (a == b) continue;
          const std::uint64_t ka = key(F::Tab, procs[a]), kb = key(F::Tab, procs[b]);
          auto w = writers_.find(ka);
          if (w == writers_.end()) continue;
          for (std::size_t e : w->second) {
            const z3::expr holds = !(value_after(e, ka) == 1 && value_after(e, kb) == 1);
            z3::expr viol = ctx_.bool_const(fmt::format("r5_{}_{}_{}", e, procs[a], procs[b]).c_str());
            s_.add(viol == !holds);
            checks().push_back(Check{Rule::R5, t_.events[e].step, viol, holds,
                                     fmt::format("pid {} names one process in the table (proc#{} and proc#{} hold it)", pid, procs[a], procs[b]), {}});
          }
        }
  }

  // R6 for every process c: whenever c is in the table, some process in the table holds its ppid.
  // The instance can only break where c's table membership or ppid is written, or where a process
  // that may hold that ppid (one created with a pid c is ever given as ppid) has its membership
  // written; at each such event it is checked with the values right after it in the chosen order.
  // The ppids c may hold are those this encoding wrote (the store's record of this pass), not the
  // first pass's: a release orphans (ppid 1) children the file creates later, which only this pass
  // names (it knows them from the first). Taking them from the first pass left such a child's ppid
  // 1 without init among its candidate parents: a false R6 in every order where it is orphaned.
  void parents_r6() {
    const PartialOrderStore::Foresight& f = store_.seen();
    std::map<model::Pid, std::vector<model::ProcId>> by_pid{{0, {0}}, {1, {1}}};
    std::vector<model::ProcId> procs{0, 1};
    for (const auto& [p, pid] : created_) {
      by_pid[pid].push_back(p);
      procs.push_back(p);
    }
    const auto writers = [&](F field, model::ProcId p) -> const std::vector<std::size_t>& {
      static const std::vector<std::size_t> none;
      auto w = writers_.find(key(field, p));
      return w == writers_.end() ? none : w->second;
    };
    for (model::ProcId c : procs) {
      std::set<model::Pid> values = c < f.ppid_values.size() ? f.ppid_values[c] : std::set<model::Pid>{};
      if (c <= 1) values.insert(0);
      std::vector<model::ProcId> parents;
      for (model::Pid v : values)
        if (auto it = by_pid.find(v); it != by_pid.end()) parents.insert(parents.end(), it->second.begin(), it->second.end());
      std::set<std::size_t> at(writers(F::Tab, c).begin(), writers(F::Tab, c).end());
      at.insert(writers(F::Ppid, c).begin(), writers(F::Ppid, c).end());
      for (model::ProcId r : parents)
        if (r != c) at.insert(writers(F::Tab, r).begin(), writers(F::Tab, r).end());
      const std::uint64_t kt = key(F::Tab, c), kp = key(F::Ppid, c);
      for (std::size_t e : at) {
        const z3::expr ppid = value_after(e, kp);
        z3::expr_vector names(ctx_);
        for (model::ProcId r : parents)
          names.push_back(value_after(e, key(F::Tab, r)) == 1 && value_after(e, key(F::Pid, r)) == ppid);
        const z3::expr holds = value_after(e, kt) != 1 || z3::mk_or(names);
        z3::expr viol = ctx_.bool_const(fmt::format("r6_{}_{}", e, c).c_str());
        s_.add(viol == !holds);
        checks().push_back(Check{Rule::R6, t_.events[e].step, viol, holds,
                                 fmt::format("the ppid of proc#{} names a process in the table", c), {{"ppid", ppid}}});
      }
    }
  }

  // Tie `r.value` to the last writer of r.key before r.event in the chosen order. Candidates: the
  // writers the graph leaves unordered with the event, and the latest of those that surely precede
  // it (an earlier one is overwritten by a later one on every path).
  void resolve(const Read& r) {
    std::vector<std::size_t> definite, open;
    if (auto w = writers_.find(r.key); w != writers_.end()) {
      for (auto it = w->second.rbegin(); it != w->second.rend(); ++it) {
        const std::size_t x = *it;
        if (x == r.event || hb_.before(r.event, x)) continue;
        if (!hb_.before(x, r.event)) {
          open.push_back(x);
        } else if (std::none_of(definite.begin(), definite.end(), [&](std::size_t d) { return hb_.before(x, d); })) {
          definite.push_back(x);
        }
      }
    }
    const z3::expr init = ctx_.int_val(ValueStore::initial(r.key));
    if (open.empty() && definite.size() == 1) {
      s_.add(r.value == writes_[definite[0]].at(r.key));
      return;
    }
    if (open.empty() && definite.empty()) {
      s_.add(r.value == init);
      return;
    }
    // Which candidate is the last before the event depends only on positions, so reads of one
    // event with the same candidates share that choice (e.g. nprocs and the table count, which the
    // same events write): Z3 then sees that they move together.
    std::vector<std::size_t> all = definite;
    all.insert(all.end(), open.begin(), open.end());
    const Choice& c = choice(r.event, all, definite.size());
    z3::expr value = init;
    for (std::size_t i = 0; i < all.size(); ++i) value = z3::ite(c.chosen[i], writes_[all[i]].at(r.key), value);
    s_.add(r.value == value);
  }

  struct Choice {
    std::vector<z3::expr> chosen;  // chosen[i]: candidate i is the last writer before the event
  };

  const Choice& choice(std::size_t event, const std::vector<std::size_t>& all, std::size_t definite) {
    std::vector<std::size_t> k = all;
    k.push_back(event);
    k.push_back(definite);
    if (auto it = choices_.find(k); it != choices_.end()) return it->second;
    // mx = the position of the last candidate before the event (-1: none).
    z3::expr mx = ctx_.int_const(fmt::format("mx{}", mx_++).c_str());
    s_.add(mx < order_.pos[event]);
    z3::expr_vector options(ctx_);
    Choice c;
    for (std::size_t i = 0; i < all.size(); ++i) {
      const std::size_t x = all[i];
      const z3::expr before = i < definite ? ctx_.bool_val(true) : order_.pos[x] < order_.pos[event];
      s_.add(z3::implies(before, order_.pos[x] <= mx));
      c.chosen.push_back(before && mx == order_.pos[x]);
      options.push_back(c.chosen.back());
    }
    if (definite == 0) options.push_back(mx == -1);
    s_.add(z3::mk_or(options));
    return choices_.emplace(std::move(k), std::move(c)).first->second;
  }

  struct VecHash {
    std::size_t operator()(const std::vector<std::size_t>& v) const {
      std::size_t h = v.size();
      for (std::size_t x : v) h = h * 1000003u ^ x;
      return h;
    }
  };

  const VTrace& t_;
  const HappensBefore& hb_;
  z3::context& ctx_;
  z3::solver& s_;
  Order order_;
  const PartialOrderStore::Foresight fore_;  // what the first pass saw of the whole history
  PartialOrderStore store_;
  Encoder enc_;
  std::vector<std::unordered_map<std::uint64_t, z3::expr>> writes_;
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> writers_;  // in file order
  std::vector<Read> reads_;
  std::vector<std::pair<model::ProcId, model::Pid>> created_;
  std::unordered_map<std::vector<std::size_t>, Choice, VecHash> choices_;  // (candidates, event, #definite) -> its choice
  std::size_t encoded_ = 0;
  unsigned mx_ = 0, extra_ = 0;
};

std::size_t rule_slot(Rule r) {
  const auto& rs = verified_rules();
  return static_cast<std::size_t>(std::find(rs.begin(), rs.end(), r) - rs.begin());
}

}  // namespace

PartialOrderReport verify_partial_order(const VTrace& t, const PartialOrderOptions& o) {
  PartialOrderReport rep;
  rep.events = t.events.size();
  for (Rule r : verified_rules()) rep.verdicts.emplace_back().rule = r;
  if (t.events.size() > kMaxPartialOrderEvents)
    throw std::invalid_argument(fmt::format("{} events: the partial-order judge takes at most {} (its memory grows with the square of the length); "
                                            "judge the history in file order, or in shorter pieces",
                                            t.events.size(), kMaxPartialOrderEvents));
  const HappensBefore hb(t);
  rep.edges = hb.edges();
  const std::vector<std::size_t> by_why = hb.edges_by_why();
  for (std::size_t w = 0; w < by_why.size(); ++w)
    if (by_why[w] > 0)
      rep.edge_reasons += fmt::format("{}{} {}", rep.edge_reasons.empty() ? "" : ", ", HappensBefore::why_name(static_cast<HappensBefore::Why>(w)), by_why[w]);
  rep.concurrent_pairs = hb.concurrent_pairs();

  const auto t0 = std::chrono::steady_clock::now();
  z3::context ctx;
  z3::solver s(ctx);
  z3::params params(ctx);
  // The older arithmetic solver is 2-3x faster here (measured with bench_verify): the problem is
  // mostly difference constraints between positions, which it handles well.
  params.set("arith.solver", 2u);
  if (o.timeout_ms > 0) params.set("timeout", o.timeout_ms);
  if (o.rlimit > 0) params.set("rlimit", o.rlimit);
  s.set(params);
  PartialOrderProblem problem(t, hb, ctx, s);
  rep.reads = problem.reads();
  const auto t1 = std::chrono::steady_clock::now();
  rep.encode_seconds = std::chrono::duration<double>(t1 - t0).count();
  std::map<std::size_t, std::size_t> index_of_step;
  for (std::size_t i = 0; i < t.events.size(); ++i) index_of_step[t.events[i].step] = i;

  // Ask for an order breaking any invariant not yet known to break; each answer settles the
  // invariants it breaks, an unsat answer settles all the rest as holding in every order.
  std::vector<bool> open(rep.verdicts.size(), true);
  const bool limited = o.timeout_ms > 0 || o.rlimit > 0;
  std::string unknown_reason;
  auto satisfies_every_assertion = [&](const z3::model& m) {
    const z3::expr_vector all = s.assertions();
    for (unsigned i = 0; i < all.size(); ++i)
      if (!m.eval(all[i], true).is_true()) return false;
    return true;
  };
  // One question: an order (within `pin`, if given) that breaks an invariant still open (or, given
  // `only`, that one invariant)? A model settles the invariants it breaks (earliest position per
  // invariant).
  auto ask = [&](const std::optional<z3::expr>& pin, std::optional<std::size_t> only = std::nullopt) -> z3::check_result {
    z3::expr_vector viols(ctx);
    for (const Check& c : problem.checks()) {
      const std::size_t slot = rule_slot(c.rule);
      if (open[slot] && (!only || slot == *only)) viols.push_back(c.viol);
    }
    if (viols.empty()) return z3::unsat;
    z3::expr any = ctx.bool_const(fmt::format("any{}", rep.solver_checks).c_str());
    s.add(any == z3::mk_or(viols));
    z3::expr_vector assume(ctx);
    assume.push_back(any);
    if (pin) assume.push_back(*pin);
    ++rep.solver_checks;
    const z3::check_result r = s.check(assume);
    if (r == z3::unknown) unknown_reason = s.reason_unknown();
    if (r != z3::sat) return r;
    const z3::model m = s.get_model();
    // At a resource limit or timeout Z3 4.8 can answer sat with a model cut short (seen with
    // rlimit: `any` true and every disjunct false); only a model of every assertion is an order.
    if (limited && !satisfies_every_assertion(m)) {
      unknown_reason = "its answer came with an incomplete model";
      return z3::unknown;
    }
    // The order: events by position (rank, then file index); events after a FATAL come last.
    std::vector<std::size_t> order(t.events.size());
    std::iota(order.begin(), order.end(), 0);
    std::vector<std::int64_t> at(t.events.size());
    for (std::size_t i = 0; i < t.events.size(); ++i)
      at[i] = i < problem.encoded() ? m.eval(problem.pos(i), true).get_numeral_int64() : std::numeric_limits<std::int64_t>::max();
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return at[a] < at[b]; });
    if (!hb.is_linearisation(order)) throw std::logic_error("Z3's positions do not respect the happens-before graph");
    std::vector<std::size_t> where(order.size());
    for (std::size_t p = 0; p < order.size(); ++p) where[order[p]] = p;
    bool progress = false;
    for (const Check& c : problem.checks()) {
      const std::size_t slot = rule_slot(c.rule);
      if (!open[slot] || !m.eval(c.viol, true).is_true()) continue;
      PartialOrderVerdict& v = rep.verdicts[slot];
      const std::size_t p = where[index_of_step.at(c.step)];
      if (!v.holds && v.position <= p) continue;
      v.holds = false;
      v.step = c.step;
      v.position = p;
      v.what = with_values(c, m);
      v.order = order;
      progress = true;
    }
    if (!progress) throw std::logic_error("Z3 claimed a violation no instance shows");
    for (std::size_t i = 0; i < open.size(); ++i)
      if (!rep.verdicts[i].holds) open[i] = false;
    return r;
  };

  // Phase 1, on long histories: windows of the file order, everything else pinned in file order.
  // Most violations are a few racing events; a pinned window's question is small, and each order
  // it finds is a real one. (A window that finds nothing proves nothing: phase 2 does.)
  // A window Z3 cannot settle in time is left to phase 2 (which has the same time per check).
  const std::size_t n = problem.encoded(), width = std::max<std::size_t>(o.search_window, 2), stride = width / 2;
  if (o.search_window > 0 && n > 2 * width)
    for (std::size_t begin = 0; begin + stride < n; begin += stride) {
      const z3::expr pin = problem.pin(begin, std::min(n, begin + width));
      while (ask(pin) == z3::sat) {}
    }
  // Phase 2: every order; unsat settles every invariant still open as holding in every order.
  z3::check_result r = z3::sat;
  while (r == z3::sat) r = ask(std::nullopt);
  // Out of time or resources on the joint question: ask it again per invariant still open, so that
  // the easy ones are settled and only the ones Z3 cannot settle are reported undecided.
  if (r == z3::unknown)
    for (std::size_t slot = 0; slot < open.size(); ++slot) {
      while (open[slot] && (r = ask(std::nullopt, slot)) == z3::sat) {}
      if (!open[slot]) continue;  // a violating order was found
      open[slot] = false;          // unsat: it holds in every order
      if (r == z3::unknown) {
        rep.verdicts[slot].decided = false;
        rep.verdicts[slot].what = unknown_reason;
      }
    }
  rep.solve_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  return rep;
}

std::string render(const PartialOrderReport& r) {
  std::string out = fmt::format("happens-before: {} events, {} edges ({}), {} unordered pairs; {} reads resolved by Z3\n", r.events, r.edges,
                                r.edge_reasons.empty() ? "none" : r.edge_reasons, r.concurrent_pairs, r.reads);
  for (const PartialOrderVerdict& v : r.verdicts) {
    if (!v.decided) {
      out += fmt::format("{}: UNDECIDED (Z3 stopped at --timeout/--rlimit: {})\n", model::rule_name(v.rule), v.what);
      continue;
    }
    if (v.holds) {
      out += fmt::format("{}: holds in every order\n", model::rule_name(v.rule));
      continue;
    }
    out += fmt::format("{}: VIOLATED in an order: at event {} (position {} of the order): {}\n", model::rule_name(v.rule), v.step, v.position, v.what);
  }
  out += fmt::format("{} solver checks in {:.2f} s: {}\n", r.solver_checks, r.encode_seconds + r.solve_seconds,
                     r.any_violated() ? "VIOLATION" : r.all_hold() ? "every invariant holds in every order" : "UNDECIDED");
  return out;
}

// ---- the partial-order judge's values: a read is a fresh constant for the caller to tie to a
// writer, and a question the order decides is a formula, asked of every object some order may
// involve (a Term's parts are the subterms it keeps referenced until it is asserted) -------------

namespace verify_detail {

using namespace lockstep::model;

void PartialOrderStore::begin_event() {
  cur_.clear();
  reads_.clear();
  created_.clear();
  ValueStore::begin_event();
}

// Whoever wrote it last in the chosen order: the caller decides (verify_partial.cpp).
z3::expr PartialOrderStore::unwritten(Key k) {
  if (auto it = reads_.find(k); it != reads_.end()) return it->second;
  z3::expr c = fresh(ctx_.int_sort());
  reads_.emplace(k, c);
  return c;
}

// An lwp another host binds somewhere: that host's switch to it may come first in some order, and
// only a binding to H is undone. (Symbolic only where needed: it makes the final proof much
// harder, bench_verify 1000 events with causal edges: 92 s -> 230 s.)
Cond PartialOrderStore::bound_to(LwpId l, HostId h, const Index& ix) {
  Cond c{ix.lwps[l].bnd == h, nullptr};
  for (auto it = fore_.binds.lower_bound({l, 0}); it != fore_.binds.end() && it->first == l; ++it)
    if (it->second != h) {
      c.formula = [this, l, h] { return Term{read(F::Bnd, l) == static_cast<int>(h), {}}; };
      break;
    }
  return c;
}

// Every process that may hold this pid as its ppid here, including children the file creates later
// but some order creates before this release (the first pass's list). Whether it does is a formula
// of its ppid. In the file's order a process the file has not created yet is nobody's child: the
// index has no entry for it (reading one would read past the index's end).
std::vector<ValueStore::Child> PartialOrderStore::may_be_children(ProcId p, Pid pid, const Index& ix) {
  const auto has = [&](const Foresight& f, std::size_t c) { return c < f.ppid_values.size() && f.ppid_values[c].contains(pid); };
  std::vector<Child> out;
  for (ProcId c = 0; c < std::max(fore_.ppid_values.size(), seen_.ppid_values.size()); ++c)
    if (c != p && (has(fore_, c) || has(seen_, c))) {
      const bool in_file_order = c < ix.procs.size() && ix.procs[c].ppid == pid;
      out.push_back(Child{c, Cond{in_file_order, [this, c, pid] { return Term{read(F::Ppid, c) == static_cast<int>(pid), {}}; }}});
    }
  return out;
}

// Whether p was freed before depends on the order, so Freed is a field, and the instance can only
// break where Tab is written.
std::optional<Guard> PartialOrderStore::freed_before(ProcId p, bool) {
  if (!wrote(F::Tab, p)) return std::nullopt;
  return Guard{Term{before(F::Freed, p) == 0, {}}};
}

// Any host that waits on p somewhere may be waiting here, in some order, for either reason.
ValueStore::Guards PartialOrderStore::waiting(HostId h, ProcId p, const Index& ix) {
  if (!waits_on(h, p, ix)) return nullptr;
  const z3::expr on_p = read(F::Wt, h) == static_cast<int>(p), wk = read(F::Wk, h);
  return [on_p, wk](WaitFor w) -> std::optional<Guard> {
    if (w == WaitFor::Exit) {
      const z3::expr exiting = wk == kExitWait, on = exiting && on_p;
      return Guard{Term{!on, {exiting, on}}};
    }
    const z3::expr suspending = wk == kSuspendWait, shutting = wk == kShutdownWait, either = suspending || shutting, on = either && on_p;
    return Guard{Term{!on, {suspending, shutting, either, on}}};
  };
}

std::optional<Guard> PartialOrderStore::waited_for_exit(HostId h, ProcId p, const Index::Wait&, const Index& ix) {
  if (!waits_on(h, p, ix)) return std::nullopt;
  const z3::expr exiting = before(F::Wk, h) == kExitWait, on_p = before(F::Wt, h) == static_cast<int>(p), both = exiting && on_p;
  return Guard{Term{!both, {exiting, on_p, both}}};
}

// Whether H waits here, for what, and until when (if at all), depends on the order.
std::optional<ValueStore::Deadline> PartialOrderStore::deadline(HostId h, const Index& ix) {
  if (!may_time_out(h, ix)) return std::nullopt;
  const z3::expr wk = read(F::Wk, h), wd = read(F::Wd, h), not_due = wd < 0 || wd > read(F::Now, 0);
  return Deadline{true, true, [wk, not_due](WaitFor w) {
                    if (w == WaitFor::Exit) {
                      const z3::expr other = wk != kExitWait;
                      return Term{other || not_due, {other}};
                    }
                    const z3::expr not_suspend = wk != kSuspendWait, not_shutdown = wk != kShutdownWait, other = not_suspend && not_shutdown;
                    return Term{other || not_due, {not_suspend, not_shutdown, other}};
                  }};
}

// Which host it claims depends on the order: every host that binds it somewhere.
bool PartialOrderStore::may_be_bound(LwpId l, HostId g, const Index& ix) {
  return ix.lwps[l].bnd == g || fore_.binds.contains({l, g});
}

void PartialOrderStore::note_wait(HostId h, ProcId p, bool timed) {
  seen_.waits_on.emplace(h, p);
  if (timed) seen_.timed.insert(h);
}

void PartialOrderStore::note_ppid(ProcId p, Pid ppid) {
  if (seen_.ppid_values.size() <= p) seen_.ppid_values.resize(p + 1);
  seen_.ppid_values[p].insert(ppid);
}

bool PartialOrderStore::waits_on(HostId h, ProcId p, const Index& ix) const {
  return fore_.waits_on.contains({h, p}) || (ix.waits[h].kind != kNoWait && ix.waits[h].target == p);
}

bool PartialOrderStore::may_time_out(HostId h, const Index& ix) const {
  return fore_.timed.contains(h) || (ix.waits[h].kind != kNoWait && ix.waits[h].deadline >= 0);
}

}  // namespace verify_detail

}  // namespace lockstep::checker
