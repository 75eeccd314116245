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
#include <limits>
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

constexpr std::size_t kNoPrefix = std::numeric_limits<std::size_t>::max();

// The states some order of the events before a cut may leave (VERIFY.md, "Windows"): the values
// they all share, and per state the values where it differs, with the order that reaches it.
struct CutStates {
  std::unordered_map<Key, std::int64_t> base;                      // absent: §1's initial value
  std::vector<std::unordered_map<Key, std::int64_t>> variants{1};  // per state
  std::vector<std::size_t> prefix{kNoPrefix};                      // per state: how it is reached (Prefix)
  std::size_t size() const { return variants.size(); }
  std::int64_t value(std::size_t st, Key k) const {
    if (auto it = variants[st].find(k); it != variants[st].end()) return it->second;
    if (auto it = base.find(k); it != base.end()) return it->second;
    return ValueStore::initial(k);
  }
};

// One window's order (global indices) from a state at its start (`parent`, a Prefix) to one at
// its end: the witness order of a later violation is the chain of them.
struct Prefix {
  std::size_t parent;
  std::vector<std::size_t> order;
};

// What the judge of a window knows of the events before it: who is who in the file's order, what
// those events' encodings saw (PartialOrderStore::Foresight), the processes they created, and
// the states they may leave.
struct Carry {
  explicit Carry(int hosts) : index(std::max(hosts, 1)) {}
  Index index;
  PartialOrderStore::Foresight seen;
  std::vector<std::pair<model::ProcId, model::Pid>> created;
  CutStates states;
};

class PartialOrderProblem {
 public:
  // The positions are made (and the graph's edges asserted) before the first pass encodes the
  // window, the encoder after it. `t` and `hb` are the window's events and graph (indices from 0);
  // `end_state`: also make the values every field has after the window (`finals()`).
  PartialOrderProblem(const VTrace& t, const HappensBefore& hb, z3::context& ctx, z3::solver& s, const Carry& carry, bool end_state)
      : t_(t), hb_(hb), ctx_(ctx), s_(s), carry_(carry), order_(positions(t, hb, ctx, s)), seed_(start_state(carry, ctx, s)),
        fore_(first_pass(t, ctx, carry)), store_(ctx, fore_), enc_(s, store_, t.hosts, std::nullopt, carry.index), created_(carry.created),
        created_before_(carry.created.size()) {
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
    if (end_state) make_finals();
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

  // Which of the states at the window's start an order starts from, where there are several.
  static std::optional<z3::expr> start_state(const Carry& carry, z3::context& ctx, z3::solver& s) {
    if (carry.states.size() < 2) return std::nullopt;
    z3::expr st = ctx.int_const("start_state");
    s.add(st >= 0 && st < ctx.int_val(static_cast<std::int64_t>(carry.states.size())));
    return st;
  }

  // The facts the encoder needs from further on in the window (PartialOrderStore::Foresight), from
  // an encoding of the window into a scratch solver, with what the windows before it saw.
  static PartialOrderStore::Foresight first_pass(const VTrace& t, z3::context& ctx, const Carry& carry) {
    z3::solver scratch(ctx);
    PartialOrderStore store(ctx, carry.seen);
    Encoder e(scratch, store, t.hosts, std::nullopt, carry.index);
    for (const VEvent& ev : t.events) {
      if (e.dead()) break;
      e.event(ev);
    }
    PartialOrderStore::Foresight f = carry.seen;
    f.merge(store.seen());
    return f;
  }

  std::vector<Check>& checks() { return enc_.checks(); }
  std::size_t reads() const { return reads_.size(); }
  std::size_t encoded() const { return encoded_; }
  bool dead() const { return enc_.dead(); }
  const z3::expr& pos(std::size_t i) const { return order_.pos[i]; }
  const std::optional<z3::expr>& seed() const { return seed_; }
  std::size_t state_of(const z3::model& m) const { return seed_ ? static_cast<std::size_t>(m.eval(*seed_, true).get_numeral_int64()) : 0; }
  // Per field the window writes, its value after the window in the chosen order.
  const std::vector<std::pair<Key, z3::expr>>& finals() const { return finals_; }
  // For the window after this one.
  const Index& index() const { return enc_.index(); }
  const PartialOrderStore::Foresight& seen() const { return store_.seen(); }
  std::vector<std::pair<model::ProcId, model::Pid>> created_here() const { return {created_.begin() + static_cast<std::ptrdiff_t>(created_before_), created_.end()}; }

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
  // The value of a field before the window: §1's, or the state the windows before left (one of
  // several, as Z3 chooses the start state).
  z3::expr initial(Key k) {
    const CutStates& st = carry_.states;
    const std::int64_t v0 = st.value(0, k);
    bool same = true;
    for (std::size_t i = 1; same && i < st.size(); ++i) same = st.value(i, k) == v0;
    if (same) return ctx_.int_val(v0);
    z3::expr e = ctx_.int_val(st.value(st.size() - 1, k));
    for (std::size_t i = st.size() - 1; i-- > 0;) e = z3::ite(*seed_ == static_cast<int>(i), ctx_.int_val(st.value(i, k)), e);
    return e;
  }

  // p may be in the table during the window: some event writes its membership, or it is in the
  // table in some state at the start. (Every process of a window that starts the history is.)
  bool may_be_in_table(model::ProcId p) const {
    const Key k = key(F::Tab, p);
    if (writers_.contains(k)) return true;
    for (std::size_t i = 0; i < carry_.states.size(); ++i)
      if (carry_.states.value(i, k) == 1) return true;
    return false;
  }

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
      for (std::size_t a = 0; a < procs.size(); ++a) {
        const std::uint64_t ka = key(F::Tab, procs[a]);
        auto w = writers_.find(ka);
        if (w == writers_.end()) continue;
        for (std::size_t b = 0; b < procs.size(); ++b) {
          if (a == b || !may_be_in_table(procs[b])) continue;
          const std::uint64_t kb = key(F::Tab, procs[b]);
          for (std::size_t e : w->second) {
            const z3::expr holds = !(value_after(e, ka) == 1 && value_after(e, kb) == 1);
            z3::expr viol = ctx_.bool_const(fmt::format("r5_{}_{}_{}", e, procs[a], procs[b]).c_str());
            s_.add(viol == !holds);
            checks().push_back(Check{Rule::R5, t_.events[e].step, viol, holds,
                                     fmt::format("pid {} names one process in the table (proc#{} and proc#{} hold it)", pid, procs[a], procs[b]), {}});
          }
        }
      }
  }

  // R6 for every process c: whenever c is in the table, some process in the table holds its ppid.
  // The instance can only break where c's table membership or ppid is written, or where a process
  // that may hold that ppid (one created with a pid c is ever given as ppid) has its membership
  // written; at each such event it is checked with the values right after it in the chosen order.
  // The ppids c may hold are those this encoding wrote (the store's record of this pass, with the
  // windows' before it), not the first pass's: a release orphans (ppid 1) children the file
  // creates later, which only this pass names (it knows them from the first). Taking them from the
  // first pass left such a child's ppid 1 without init among its candidate parents: a false R6 in
  // every order where it is orphaned.
  void parents_r6() {
    PartialOrderStore::Foresight f = carry_.seen;
    f.merge(store_.seen());
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
    std::set<model::Pid> pid_moves;  // pids of processes whose membership the window writes
    for (const auto& [pid, ps] : by_pid)
      if (std::any_of(ps.begin(), ps.end(), [&](model::ProcId r) { return !writers(F::Tab, r).empty(); })) pid_moves.insert(pid);
    for (model::ProcId c : procs) {
      std::set<model::Pid> values = c < f.ppid_values.size() ? f.ppid_values[c] : std::set<model::Pid>{};
      if (c <= 1) values.insert(0);
      // Nothing here can break it: neither c's membership or ppid nor a candidate parent's moves.
      if (writers(F::Tab, c).empty() && writers(F::Ppid, c).empty() &&
          std::none_of(values.begin(), values.end(), [&](model::Pid v) { return pid_moves.contains(v); }))
        continue;
      std::vector<model::ProcId> parents;
      for (model::Pid v : values)
        if (auto it = by_pid.find(v); it != by_pid.end())
          for (model::ProcId r : it->second)
            if (may_be_in_table(r)) parents.push_back(r);
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
    const z3::expr init = initial(r.key);
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
    // mx = the position of the last candidate before the event (-1: none). The window's end
    // (event = size) comes after every event.
    z3::expr mx = ctx_.int_const(fmt::format("mx{}", mx_++).c_str());
    if (event < order_.pos.size()) s_.add(mx < order_.pos[event]);
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

  // Each field's value after the window: its last writer in the chosen order, among the writers
  // no other writer of it surely follows (processed from the file's end: a writer followed by a
  // dominated one is followed by the one dominating that).
  void make_finals() {
    std::vector<Key> keys;
    for (const auto& [k, ws] : writers_) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    for (const Key k : keys) {
      const std::vector<std::size_t>& ws = writers_.at(k);
      std::vector<std::size_t> last;
      for (auto it = ws.rbegin(); it != ws.rend(); ++it)
        if (std::none_of(last.begin(), last.end(), [&](std::size_t y) { return hb_.before(*it, y); })) last.push_back(*it);
      if (last.size() == 1) {
        finals_.emplace_back(k, writes_[last[0]].at(k));
        continue;
      }
      const Choice& c = choice(order_.pos.size(), last, last.size());
      z3::expr value = writes_[last[0]].at(k);
      for (std::size_t i = 1; i < last.size(); ++i) value = z3::ite(c.chosen[i], writes_[last[i]].at(k), value);
      finals_.emplace_back(k, value);
    }
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
  const Carry& carry_;
  Order order_;
  std::optional<z3::expr> seed_;  // the start state, where there are several
  const PartialOrderStore::Foresight fore_;  // what the first pass saw of the window (and the windows before)
  PartialOrderStore store_;
  Encoder enc_;
  std::vector<std::pair<model::ProcId, model::Pid>> created_;  // before the window, then in it
  std::size_t created_before_;
  std::vector<std::unordered_map<std::uint64_t, z3::expr>> writes_;
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> writers_;  // in file order
  std::vector<Read> reads_;
  std::unordered_map<std::vector<std::size_t>, Choice, VecHash> choices_;  // (candidates, event, #definite) -> its choice
  std::vector<std::pair<Key, z3::expr>> finals_;
  std::size_t encoded_ = 0;
  unsigned mx_ = 0, extra_ = 0;
};

std::size_t rule_slot(Rule r) {
  const auto& rs = verified_rules();
  return static_cast<std::size_t>(std::find(rs.begin(), rs.end(), r) - rs.begin());
}

// The window's events as a history of their own (the `after` edges are the whole graph's business).
VTrace slice(const VTrace& t, std::size_t begin, std::size_t end) {
  VTrace w;
  w.hosts = t.hosts;
  w.events.assign(t.events.begin() + static_cast<std::ptrdiff_t>(begin), t.events.begin() + static_cast<std::ptrdiff_t>(end));
  return w;
}

// The states after a window, each with the order that reaches it (VERIFY.md, "Windows").
struct EndState {
  std::size_t start;  // the state the window started from
  std::vector<std::pair<Key, std::int64_t>> values;
  std::vector<std::size_t> order;  // the window's events (global indices)
};

// The next cut's states: each end state is its start state with the window's values; values every
// state shares move into the base, and states reached twice are kept once.
CutStates next_states(CutStates&& before, const std::vector<EndState>& ends, std::vector<Prefix>& prefixes) {
  CutStates next;
  next.base = std::move(before.base);
  next.variants.clear();
  next.prefix.clear();
  for (const EndState& e : ends) {
    std::unordered_map<Key, std::int64_t> v = before.variants[e.start];
    for (const auto& [k, x] : e.values) v.insert_or_assign(k, x);
    next.variants.push_back(std::move(v));
    next.prefix.push_back(prefixes.size());
    prefixes.push_back(Prefix{before.prefix[e.start], e.order});
  }
  std::set<Key> keys;
  for (const auto& v : next.variants)
    for (const auto& [k, x] : v) keys.insert(k);
  for (const Key k : keys) {
    const std::int64_t x0 = next.value(0, k);
    bool same = true;
    for (std::size_t i = 1; same && i < next.size(); ++i) same = next.value(i, k) == x0;
    if (!same) continue;
    next.base.insert_or_assign(k, x0);
    for (auto& v : next.variants) v.erase(k);
  }
  for (std::size_t i = next.size(); i-- > 1;)
    for (std::size_t j = 0; j < i; ++j)
      if (next.variants[j] == next.variants[i]) {
        next.variants.erase(next.variants.begin() + static_cast<std::ptrdiff_t>(i));
        next.prefix.erase(next.prefix.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
  return next;
}

}  // namespace

PartialOrderReport verify_partial_order(const VTrace& t, const PartialOrderOptions& o) {
  using Clock = std::chrono::steady_clock;
  PartialOrderReport rep;
  rep.events = t.events.size();
  for (Rule r : verified_rules()) rep.verdicts.emplace_back().rule = r;
  const std::size_t n = t.events.size();
  const HappensBefore whole(t, /*reach=*/false);
  rep.edges = whole.edges();
  const std::vector<std::size_t> by_why = whole.edges_by_why();
  for (std::size_t w = 0; w < by_why.size(); ++w)
    if (by_why[w] > 0)
      rep.edge_reasons += fmt::format("{}{} {}", rep.edge_reasons.empty() ? "" : ", ", HappensBefore::why_name(static_cast<HappensBefore::Why>(w)), by_why[w]);

  // The windows: from quiescent cut to quiescent cut, each at least `min_window` events long.
  // Where a barrier (an observed state, a FATAL step) has a cut on both sides, only the one after
  // it is taken: an observed state pins most fields, so the states carried across are few, where
  // before it they are as many as the orders of the events it closes may leave.
  std::vector<std::size_t> bounds{0};
  if (o.cut) {
    const std::vector<std::size_t> cuts = whole.cuts();
    const auto barrier = [&](std::size_t i) { return t.events[i].observed.has_value() || t.events[i].outcome.kind == VOutcome::Kind::Fatal; };
    for (std::size_t k = 0; k < cuts.size(); ++k) {
      const std::size_t c = cuts[k];
      if (k + 1 < cuts.size() && cuts[k + 1] == c + 1 && barrier(c)) continue;
      if (c - bounds.back() >= std::max<std::size_t>(o.min_window, 1)) bounds.push_back(c);
    }
  }
  if (bounds.back() < n) bounds.push_back(n);
  for (std::size_t w = 0; w + 1 < bounds.size(); ++w)
    if (bounds[w + 1] - bounds[w] > kMaxPartialOrderEvents)
      throw std::invalid_argument(fmt::format("events {}..{}: {} events with no quiescent point between them (no cut where every event before "
                                              "happens before every event after); the partial-order judge takes at most {} at once (its memory "
                                              "grows with the square of that); judge the history in file order, or record more `after` edges",
                                              t.events[bounds[w]].step, t.events[bounds[w + 1] - 1].step, bounds[w + 1] - bounds[w],
                                              kMaxPartialOrderEvents));
  rep.windows = bounds.size() > 1 ? bounds.size() - 1 : 1;

  std::map<std::size_t, std::size_t> index_of_step;
  for (std::size_t i = 0; i < n; ++i) index_of_step[t.events[i].step] = i;
  z3::context ctx;
  // One solver for every window (a scope each): making a solver and setting its parameters cost
  // more than judging a short window.
  z3::solver s(ctx);
  z3::params params(ctx);
  // The older arithmetic solver is 2-3x faster here (measured with bench_verify): the problem is
  // mostly difference constraints between positions, which it handles well.
  params.set("arith.solver", 2u);
  if (o.timeout_ms > 0) params.set("timeout", o.timeout_ms);
  if (o.rlimit > 0) params.set("rlimit", o.rlimit);
  s.set(params);
  const bool limited = o.timeout_ms > 0 || o.rlimit > 0 || o.budget_ms > 0;
  const auto deadline = Clock::now() + std::chrono::milliseconds(o.budget_ms);
  std::vector<bool> violated(rep.verdicts.size(), false), undecided(rep.verdicts.size(), false);
  std::vector<std::string> unknown_why(rep.verdicts.size());
  Carry carry(t.hosts);
  std::vector<Prefix> prefixes;
  // The order of the events before a window that reaches one of its start states.
  auto chain = [&](std::size_t prefix) {
    std::vector<const std::vector<std::size_t>*> parts;
    for (std::size_t p = prefix; p != kNoPrefix; p = prefixes[p].parent) parts.push_back(&prefixes[p].order);
    std::vector<std::size_t> out;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) out.insert(out.end(), (*it)->begin(), (*it)->end());
    return out;
  };

  for (std::size_t w = 0; w + 1 < bounds.size();) {
    const std::size_t b = bounds[w], e = bounds[w + 1];
    const bool last = w + 2 == bounds.size();
    const VTrace sub = slice(t, b, e);
    const HappensBefore hb(whole, b, e);
    const auto t0 = Clock::now();
    // One scope per window (a history of one window has none, as before windows).
    struct Scope {
      z3::solver& s;
      bool on;
      Scope(z3::solver& s, bool on) : s(s), on(on) { if (on) s.push(); }
      ~Scope() { if (on) s.pop(); }
    } scope(s, bounds.size() > 2);
    PartialOrderProblem problem(sub, hb, ctx, s, carry, !last);
    const auto t1 = Clock::now();
    rep.encode_seconds += std::chrono::duration<double>(t1 - t0).count();
    rep.largest_window = std::max(rep.largest_window, e - b);
    // Counted once the window is final (a window the next one joins is judged again).
    auto count_window = [&] {
      rep.concurrent_pairs += hb.concurrent_pairs();
      rep.reads += problem.reads();
    };

    std::string unknown_reason;
    // One check, within the per-check limits and what is left of the budget.
    auto check = [&](const z3::expr_vector& assume) {
      if (o.budget_ms > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
          unknown_reason = fmt::format("the budget of {} ms ran out (at events {}..{})", o.budget_ms, t.events[b].step, t.events[e - 1].step);
          return z3::unknown;
        }
        z3::params p(ctx);
        p.set("timeout", static_cast<unsigned>(o.timeout_ms > 0 ? std::min<long long>(o.timeout_ms, left) : left));
        s.set(p);
      }
      ++rep.solver_checks;
      const z3::check_result r = s.check(assume);
      if (r == z3::unknown) unknown_reason = s.reason_unknown();
      return r;
    };
    auto satisfies_every_assertion = [&](const z3::model& m) {
      const z3::expr_vector all = s.assertions();
      for (unsigned i = 0; i < all.size(); ++i)
        if (!m.eval(all[i], true).is_true()) return false;
      return true;
    };
    // The window's order in a model: its events by position (rank, then file index), events after
    // a FATAL last; as global indices.
    auto window_order = [&](const z3::model& m) {
      const std::size_t k = e - b;
      std::vector<std::size_t> order(k);
      std::iota(order.begin(), order.end(), 0);
      std::vector<std::int64_t> at(k);
      for (std::size_t i = 0; i < k; ++i)
        at[i] = i < problem.encoded() ? m.eval(problem.pos(i), true).get_numeral_int64() : std::numeric_limits<std::int64_t>::max();
      std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return at[x] < at[y]; });
      if (!hb.is_linearisation(order)) throw std::logic_error("Z3's positions do not respect the happens-before graph");
      for (std::size_t& i : order) i += b;
      return order;
    };

    // Ask for an order breaking any invariant not yet known to break; each answer settles the
    // invariants it breaks, an unsat answer settles all the rest as holding in every order (of
    // this window, from every state the windows before may leave).
    std::vector<bool> open(rep.verdicts.size());
    for (std::size_t i = 0; i < open.size(); ++i) open[i] = !violated[i];
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
      const z3::check_result r = check(assume);
      if (r != z3::sat) return r;
      const z3::model m = s.get_model();
      // At a resource limit or timeout Z3 4.8 can answer sat with a model cut short (seen with
      // rlimit: `any` true and every disjunct false); only a model of every assertion is an order.
      if (limited && !satisfies_every_assertion(m)) {
        unknown_reason = "its answer came with an incomplete model";
        return z3::unknown;
      }
      // The order: the events before the window in an order that reaches the state it started
      // from, the window's events by position, then the rest in file order.
      std::vector<std::size_t> order = chain(carry.states.prefix[problem.state_of(m)]);
      const std::vector<std::size_t> here = window_order(m);
      order.insert(order.end(), here.begin(), here.end());
      for (std::size_t i = e; i < n; ++i) order.push_back(i);
      std::vector<std::size_t> where(n);
      for (std::size_t p = 0; p < n; ++p) where[order[p]] = p;
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

    // Phase 1, on long windows: sub-windows of the file order, everything else pinned in file
    // order. Most violations are a few racing events; a pinned window's question is small, and each
    // order it finds is a real one. (A sub-window that finds nothing proves nothing: phase 2 does.)
    // A sub-window Z3 cannot settle in time is left to phase 2 (which has the same time per check).
    const std::size_t k = problem.encoded(), width = std::max<std::size_t>(o.search_window, 2), stride = width / 2;
    if (o.search_window > 0 && k > 2 * width)
      for (std::size_t begin = 0; begin + stride < k; begin += stride) {
        const z3::expr pin = problem.pin(begin, std::min(k, begin + width));
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
          undecided[slot] = true;
          unknown_why[slot] = unknown_reason;
        }
      }
    for (std::size_t i = 0; i < violated.size(); ++i) violated[i] = !rep.verdicts[i].holds;
    if (last || problem.dead()) {
      rep.solve_seconds += std::chrono::duration<double>(Clock::now() - t1).count();
      count_window();
      break;
    }

    // The states the window may end in, each with an order that reaches it: every model, each
    // then excluded, until none is left.
    std::vector<EndState> ends;
    bool overflow = false, unknown = false;
    while (true) {
      if (ends.size() >= std::max<std::size_t>(o.max_cut_states, 1)) {
        overflow = true;
        break;
      }
      const z3::check_result c = check(z3::expr_vector(ctx));
      if (c == z3::unsat) break;
      const z3::model m = c == z3::sat ? s.get_model() : z3::model(ctx);
      if (c == z3::unknown || (limited && !satisfies_every_assertion(m))) {
        if (c == z3::sat) unknown_reason = "its answer came with an incomplete model";
        unknown = true;
        break;
      }
      EndState es{problem.state_of(m), {}, window_order(m)};
      z3::expr_vector same(ctx);
      if (problem.seed()) same.push_back(*problem.seed() == static_cast<int>(es.start));
      for (const auto& [key, value] : problem.finals()) {
        const std::int64_t x = m.eval(value, true).get_numeral_int64();
        es.values.emplace_back(key, x);
        same.push_back(value == ctx.int_val(x));
      }
      s.add(!z3::mk_and(same));
      ends.push_back(std::move(es));
    }
    rep.solve_seconds += std::chrono::duration<double>(Clock::now() - t1).count();
    if (overflow && !ends.empty()) {
      // Too many states to carry across this cut: the next window joins this one.
      bounds.erase(bounds.begin() + static_cast<std::ptrdiff_t>(w) + 1);
      ++rep.merged_cuts;
      continue;
    }
    count_window();
    if (unknown) {
      // The state at the cut is not known, so nothing after it can be judged: every invariant
      // not yet violated is undecided.
      for (std::size_t i = 0; i < violated.size(); ++i)
        if (!violated[i]) {
          undecided[i] = true;
          unknown_why[i] = fmt::format("the states after event {} could not be enumerated: {}", t.events[e - 1].step, unknown_reason);
        }
      break;
    }
    if (ends.empty()) break;  // no order of the window at all: nothing after it happens
    Index index = problem.index();
    carry.seen.merge(problem.seen());
    const auto created = problem.created_here();
    carry.created.insert(carry.created.end(), created.begin(), created.end());
    carry.states = next_states(std::move(carry.states), ends, prefixes);
    carry.index = std::move(index);
    rep.max_cut_states = std::max(rep.max_cut_states, carry.states.size());
    ++w;
  }
  for (std::size_t i = 0; i < rep.verdicts.size(); ++i)
    if (rep.verdicts[i].holds && undecided[i]) {
      rep.verdicts[i].decided = false;
      rep.verdicts[i].what = unknown_why[i];
    }
  return rep;
}

std::string render(const PartialOrderReport& r) {
  std::string out = fmt::format("happens-before: {} events, {} edges ({}), {} unordered pairs; {} reads resolved by Z3\n", r.events, r.edges,
                                r.edge_reasons.empty() ? "none" : r.edge_reasons, r.concurrent_pairs, r.reads);
  if (r.windows > 1)
    out += fmt::format("judged in {} windows between quiescent points (the longest {} events; at most {} states carried across a cut{})\n", r.windows,
                       r.largest_window, r.max_cut_states, r.merged_cuts ? fmt::format("; {} cuts not taken, too many states", r.merged_cuts) : "");
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

void PartialOrderStore::Foresight::merge(const Foresight& o) {
  if (ppid_values.size() < o.ppid_values.size()) ppid_values.resize(o.ppid_values.size());
  for (std::size_t p = 0; p < o.ppid_values.size(); ++p) ppid_values[p].insert(o.ppid_values[p].begin(), o.ppid_values[p].end());
  waits_on.insert(o.waits_on.begin(), o.waits_on.end());
  timed.insert(o.timed.begin(), o.timed.end());
  binds.insert(o.binds.begin(), o.binds.end());
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
