// The search loop, its stack of levels and the undo log (search.hpp); one placement is in
// search_step.cpp.
#include "search.hpp"

#include <algorithm>
#include <functional>
#include <numeric>
#include <utility>

#include <fmt/format.h>

namespace lockstep::checker::lin::detail {

using namespace lockstep::model;

namespace {

// States kept on the stack: the last Options::recent_states levels, and checkpoints at multiples of
// a stride that doubles whenever more than kCheckpoints of them would be kept.
constexpr std::size_t kCheckpoints = 64;

// Zobrist keys: one per (item, placed|done, lane), from a fixed seed so runs are reproducible.
std::uint64_t zobrist(std::uint32_t item, unsigned which, unsigned lane) {
  return mix64((static_cast<std::uint64_t>(item) << 2 | which << 1 | lane) + 0x2545f4914f6cdd1dULL);
}

bool exact_cache(const Options& o, std::size_t ops) {
  return o.cache == CacheMode::Exact || (o.cache == CacheMode::Auto && ops <= kExactCacheOps);
}

}  // namespace

Search::Search(const History& h, const Options& o)
    : h_(h), o_(o), p_(h), strip_console_(!o.invariants), keyed_(o.cache != CacheMode::Off || o.compact_at_commits),
      memo_(exact_cache(o, h.ops.size())) {
  start_ = std::chrono::steady_clock::now();
  status_.assign(p_.items.size(), Status::Open);
  placed_bits_.assign((p_.items.size() + 63) / 64, 0);
  writer_lines_.assign(p_.items.size(), 0);
  done_bits_.assign(placed_bits_.size(), 0);
  recent_ = std::max<std::size_t>(1, o.recent_states);
  stride_ = kCheckpoints;
  res_.stats.exact_cache = memo_.exact() && o.cache != CacheMode::Off;

  Level root;
  std::shared_ptr<Model> m = pool_.copy_of(h.before);
  console_ = h.before.console.size();
  if (strip_console_) m->take_console();
  const State& b = m->state();
  if (keyed_)
    for (auto [kind, n] : {std::pair{0, b.procs.size()}, {1, b.lwps.size()}, {2, b.fdtables.size()}, {3, b.descs.size()}, {4, b.files.size()}}) {
      keys_[kind].resize(n);
      std::iota(keys_[kind].begin(), keys_[kind].end(), std::uint64_t{0});
    }
  if (o.cache != CacheMode::Off) {  // the hashes only key the cache
    root.objects = objects_hash(b, id_keys());
    root.hash = hash_state(b, root.objects, id_keys(), false);
  }
  root.state = std::move(m);
  // Calls blocked before the history: their requests are part of `before`.
  std::vector<Action> ignored;
  for (std::uint32_t i = 0; i < h.ops.size(); ++i) {
    const Item& it = p_.items[i];
    if (!it.carried) continue;
    set_status(i, Status::Requested, ignored);
    Actor a = h.ops[i].op.actor;
    if (it.actor_sym >= 0) a.index = p_.symbols.id(Binding::Kind::Proc, it.actor_sym);
    requested_.push_back(Requested{i, a});
    if (it.blocked_at_end) lift(it.ret_ev, ignored);
  }
  levels_.reserve(p_.items.size() + 1);  // the deepest path places every item once
  levels_.push_back(std::move(root));
}

SearchResult Search::run() {
  consider_best();
  remember(levels_.back());
  for (;;) {
    if (over_budget()) {
      if (best_on_stack_) snapshot_best();
      res_.verdict = Verdict::Unknown;
      break;
    }
    Level& top = levels_.back();
    if (!top.expanded) {
      if (top.fatal_end || p_.events.returns_left() == 0) {
        res_.verdict = Verdict::Agree;
        res_.ended_by_fatal = top.fatal_end;
        res_.path.clear();
        for (std::size_t d = 1; d < levels_.size(); ++d) res_.path.push_back(original_step(d));
        res_.failures.clear();
        break;
      }
      expand(top);
    }
    if (top.next >= top.cands.size()) {
      if (levels_.size() == 1 || levels_.size() - 1 == floor_) {
        if (best_on_stack_) snapshot_best();
        res_.verdict = Verdict::Violation;
        break;
      }
      pop();
      continue;
    }
    const Cand c = top.cands[top.next++];
    attempt(c);
  }
  if (res_.verdict != Verdict::Agree) res_.committed = committed_prefix();
  res_.stats.states = pushes_ + 1;
  res_.stats.cache_bytes = memo_.bytes();
  res_.stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return std::move(res_);
}

bool Search::over_budget() {
  if (res_.stats.steps >= o_.budget.max_steps) {
    res_.budget_exhausted = fmt::format("max_steps ({} model steps tried)", o_.budget.max_steps);
    return true;
  }
  if ((res_.stats.steps & 255) == 0 &&
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count() > o_.budget.max_seconds) {
    res_.budget_exhausted = fmt::format("max_seconds ({} s)", o_.budget.max_seconds);
    return true;
  }
  return false;
}

// The guessed instant of a call, by which the candidates are tried: the recorder's hint (for a call
// that waited, the critical section of its request); else a blocking call's invocation
// (Item::may_block: where its request goes decides its follow-up), any other call's middle, a call
// with no response last.
std::uint64_t Search::try_key(std::uint32_t item) const {
  const Item& it = p_.items[item];
  if (it.observation) return it.call_pos;
  if (it.hint_pos) return *it.hint_pos;
  if (it.may_block) return it.call_pos;
  if (it.ret_pos == kNever) return kNever;
  return it.call_pos + (it.ret_pos - it.call_pos) / 2;
}

// The candidates from a level: the calls before the first remaining response (any of them may take
// effect next, and nothing after that response may: Lowe's just-in-time rule), by try_key.
void Search::expand(Level& l) {
  l.expanded = true;
  std::vector<std::uint32_t> window;
  std::uint32_t e = p_.events.first();
  for (; e != kNone && !p_.events.is_return(e); e = p_.events.next(e)) window.push_back(p_.events.item(e));
  if (at_best()) {
    res_.culprit = e == kNone ? kNone : p_.events.item(e);
    res_.culprit_requested = res_.culprit != kNone && status_[res_.culprit] == Status::Requested;
  }
  std::vector<std::pair<std::uint64_t, std::uint32_t>> keyed;
  keyed.reserve(window.size());
  for (std::uint32_t i : window) keyed.emplace_back(try_key(i), i);
  std::sort(keyed.begin(), keyed.end());
  for (std::size_t k = 0; k < keyed.size(); ++k) window[k] = keyed[k].second;
  const Model& m = *l.state;
  for (std::uint32_t i : window) {
    if (!p_.items[i].pid_open) {
      l.cands.push_back(Cand{i, 0});
      continue;
    }
    // A new process whose pid the history does not bind: every free pid the history names is a
    // different outcome, and all the pids it never names are alike (nothing tells them apart), so
    // one of those stands for them all.
    const std::size_t first = l.cands.size();
    // A kthread first tries the pids some newlwp found a kthread at (EBUSY) that are free here: a SUT
    // that reuses pids at once (the lowest free) gives a kthread the pid a freed process had, which
    // the hosts still name; tried last, each such EBUSY cost a backtrack over everything between the
    // creation and the newlwp (10^6 backtracks in 4·10^3 calls).
    if (p_.items[i].kthread_pid_open)
      for (Pid named : p_.kthread_pids)
        if (m.pid_allowed(named)) l.cands.push_back(Cand{i, named});
    const Pid max = m.state().pid_max;
    Pid pid = m.reference_pid();
    for (Pid tries = 0; pid != 0 && tries < max - 1; ++tries, pid = pid >= max ? 2 : pid + 1) {
      if (m.pid_allowed(pid) && !std::binary_search(p_.named_pids.begin(), p_.named_pids.end(), pid)) {
        l.cands.push_back(Cand{i, pid});
        break;
      }
    }
    if (!p_.items[i].kthread_pid_open)
      for (Pid named : p_.named_pids)
        if (m.pid_allowed(named)) l.cands.push_back(Cand{i, named});
    if (l.cands.size() == first) l.cands.push_back(Cand{i, 0});  // no pid free: the model answers EAGAIN
  }
}

void Search::attempt(const Cand& c) {
  ++res_.stats.steps;
  const Item& it = p_.items[c.item];
  Level child;
  const bool placed = it.observation ? place_observation(it, *levels_.back().state) : place_operation(it, c, child);
  if (placed && it.observation) {
    child.step = PathStep{c.item, true, it.index, {}, {}};
    child.state = levels_.back().state;  // an observation changes nothing: the states are shared
    child.hash = levels_.back().hash;
    child.objects = levels_.back().objects;
    set_status(c.item, Status::Done, child.undo);
    lift(it.call_ev, child.undo);
    lift(it.ret_ev, child.undo);
    ++observed_;
    child.undo.push_back(Action{Action::Observed});
    for (const Line& l : pending_) --writer_lines_[l.writer];  // judged at this observation
    pending_hash_ = 0;
    flushed_.push_back(std::exchange(pending_, {}));
    child.undo.push_back(Action{Action::Flush});
  }
  if (!placed) {
    rollback(child.undo);
    return;
  }
  if (!child.fatal_end && !remember(child)) {
    ++res_.stats.pruned;
    note([&] {
      return Failure{c.item, Rule::P0, "every placement of it reaches a node the search has explored already", "", ""};
    });
    rollback(child.undo);
    return;
  }
  push(std::move(child));
  if (placed && it.observation && it.commit_point && o_.commit_at_quiescent_observations) commit();
}

// The best node's path usually runs through the floor, but a best node snapshot on a branch left
// before the last commit need not: the committed prefix is reported only where the path holds it.
std::size_t Search::committed_prefix() const {
  if (floor_ == 0 || res_.path.size() < floor_ || levels_.size() <= floor_) return 0;
  for (std::size_t d = 1; d <= floor_; ++d) {
    const PathStep& a = res_.path[d - 1];
    const PathStep& b = levels_[d].step;
    if (a.item != b.item || a.observation != b.observation || a.choice.pid != b.choice.pid) return 0;
  }
  return floor_;
}

// Below the observation just placed nothing is reconsidered: its state is kept (replays start from
// it), the states below it and the cache are dropped.
void Search::commit() {
  const std::size_t previous = floor_;
  floor_ = levels_.size() - 1;
  ++res_.stats.commits;
  if (!levels_[floor_].state) state_at(floor_);
  // Below the floor a level only keeps its step (for the order reported); the levels below the
  // previous floor were trimmed by the previous commit, so each level is trimmed once.
  for (std::size_t k = std::max<std::size_t>(previous, 1); k < floor_; ++k) {
    Level& l = levels_[k];
    l.state.reset();
    l.cands = {};
    l.undo = {};
  }
  memo_.clear();
  if (o_.compact_at_commits) compact_floor();
}

void Search::push(Level&& l) {
  levels_.push_back(std::move(l));
  ++pushes_;
  const std::size_t depth = levels_.size() - 1;
  res_.stats.max_depth = std::max(res_.stats.max_depth, depth);
  consider_best();
  // The committed level keeps its state (every replay below the recent levels starts there).
  if (depth > recent_ && (depth - recent_) % stride_ != 0 && depth - recent_ != floor_) levels_[depth - recent_].state.reset();
  if (depth / stride_ > kCheckpoints) {
    stride_ *= 2;
    for (std::size_t k = 1; k + recent_ <= depth; ++k)
      if (k % stride_ != 0 && k != floor_) levels_[k].state.reset();
  }
}

void Search::pop() {
  if (best_on_stack_ && levels_.size() - 1 == best_depth_) snapshot_best();
  rollback(levels_.back().undo);
  levels_.pop_back();
  path_valid_ = std::min(path_valid_, levels_.size() - 1);
  ++res_.stats.backtracks;
  state_at(levels_.size() - 1);
}

// The state of a level, replayed from the nearest level below that kept one when it was dropped;
// the last recent_ replayed states are kept, so that backtracking on from here is cheap.
const Model& Search::state_at(std::size_t depth) {
  if (levels_[depth].state) return *levels_[depth].state;
  std::size_t j = depth;
  while (!levels_[j].state) --j;  // the root always keeps its state
  Model m = *levels_[j].state;
  for (std::size_t k = j + 1; k <= depth; ++k) {
    if (!levels_[k].step.observation) {  // an observation changes nothing
      m.apply(levels_[k].step.op, levels_[k].step.choice);
      if (strip_console_) m.take_console();
      ++res_.stats.replayed;
    }
    if (k + recent_ > depth) levels_[k].state = pool_.copy_of(m);
  }
  return *levels_[depth].state;
}

void Search::apply_status(std::uint32_t item, Status from, Status to) {
  const std::uint64_t bit = std::uint64_t{1} << (item & 63);
  if ((from == Status::Open) != (to == Status::Open)) {
    placed_bits_[item >> 6] ^= bit;
    zlo_ ^= zobrist(item, 0, 0);
    zhi_ ^= zobrist(item, 0, 1);
  }
  if ((from == Status::Done) != (to == Status::Done)) {
    done_bits_[item >> 6] ^= bit;
    zlo_ ^= zobrist(item, 1, 0);
    zhi_ ^= zobrist(item, 1, 1);
  }
  status_[item] = to;
}

void Search::set_status(std::uint32_t item, Status s, std::vector<Action>& undo) {
  const Status old = status_[item];
  if (old == s) return;
  undo.push_back(Action{Action::SetStatus, item, static_cast<std::uint32_t>(old)});
  apply_status(item, old, s);
}

void Search::lift(std::uint32_t ev, std::vector<Action>& undo) {
  p_.events.lift(ev);
  undo.push_back(Action{Action::Lift, ev});
}

void Search::bind(Binding::Kind k, std::int32_t sym, std::uint32_t id, std::vector<Action>& undo) {
  p_.symbols.bind(k, sym, id);
  undo.push_back(Action{Action::Bind, static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(sym)});
}

void Search::rollback(std::vector<Action>& undo) {
  for (auto a = undo.rbegin(); a != undo.rend(); ++a) {
    switch (a->kind) {
      case Action::SetStatus: apply_status(a->a, status_[a->a], static_cast<Status>(a->b)); break;
      case Action::Lift: p_.events.unlift(a->a); break;
      case Action::Bind: p_.symbols.unbind(static_cast<Binding::Kind>(a->a), static_cast<std::int32_t>(a->b)); break;
      case Action::ReqAdd: requested_.pop_back(); break;
      case Action::ReqErase:
        requested_.insert(requested_.begin() + a->a, erased_.back());
        erased_.pop_back();
        break;
      case Action::Console:
        console_ -= a->c;
        for (std::uint64_t k = 0; k < a->c; ++k) {
          --writer_lines_[pending_.back().writer];
          pending_hash_ -= pending_.back().term;
          pending_.pop_back();
        }
        break;
      case Action::Flush:
        pending_ = std::move(flushed_.back());
        flushed_.pop_back();
        for (const Line& l : pending_) ++writer_lines_[l.writer], pending_hash_ += l.term;
        break;
      case Action::Observed: --observed_; break;
      case Action::Keys: keys_[a->a].resize(a->b); break;
    }
  }
  undo.clear();
}

IdKeys Search::id_keys() const { return IdKeys{keys_[0], keys_[1], keys_[2], keys_[3], keys_[4]}; }

void Search::key_new_objects(std::uint32_t item, const State& before, const State& after, std::vector<Action>& undo) {
  if (!keyed_) return;
  const std::size_t was[5] = {before.procs.size(), before.lwps.size(), before.fdtables.size(), before.descs.size(), before.files.size()};
  const std::size_t now[5] = {after.procs.size(), after.lwps.size(), after.fdtables.size(), after.descs.size(), after.files.size()};
  for (std::uint32_t kind = 0; kind < 5; ++kind) {
    if (now[kind] == was[kind]) continue;
    undo.push_back(Action{Action::Keys, kind, static_cast<std::uint32_t>(keys_[kind].size())});
    for (std::size_t sub = 0; sub < now[kind] - was[kind]; ++sub)
      keys_[kind].push_back(kCreated | static_cast<std::uint64_t>(item) << 16 | sub);
  }
}

// The lines since the last observation, grouped by writer (each writer's in its order): two orders
// that leave the same lines to each writer are the same node.
std::vector<std::pair<std::uint32_t, std::string>> Search::pending_by_writer() const {
  std::vector<std::pair<std::uint32_t, std::string>> out;
  out.reserve(pending_.size());
  for (const Line& l : pending_) out.emplace_back(l.writer, l.text);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

Fingerprint Search::fingerprint(const Level& l) const {
  const std::uint64_t lines = console_ + mix64(pending_hash_);
  return Fingerprint{l.hash.lo ^ zlo_ ^ mix64(lines ^ 0x9216d5d98979fb1bULL),
                     l.hash.hi ^ zhi_ ^ mix64(lines ^ 0xd1310ba698dfb5acULL)};
}

bool Search::remember(const Level& l) {
  if (o_.cache == CacheMode::Off) return true;
  const Fingerprint fp = fingerprint(l);
  if (!memo_.exact()) return memo_.insert(fp);
  ExactKey k{placed_bits_, done_bits_, nullptr, {}, console_, pending_by_writer()};
  auto canonical = std::make_shared<State>(relabel(l.state->state(), id_keys()));
  canonical->next_pid = 0;  // never read: every pid is bound (see id_keys)
  k.state = std::move(canonical);
  for (const auto& v : keys_) {
    std::vector<std::uint64_t> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    k.keys.insert(k.keys.end(), sorted.begin(), sorted.end());
    k.keys.push_back(~std::uint64_t{0});
  }
  return memo_.insert(fp, std::move(k));
}

void Search::consider_best() {
  const std::size_t progress = p_.events.returns_total() - p_.events.returns_left();
  const std::size_t depth = levels_.size() - 1;
  if (have_best_ && (progress < best_progress_ || (progress == best_progress_ && depth <= best_depth_))) return;
  have_best_ = true;
  best_progress_ = progress;
  best_depth_ = depth;
  best_on_stack_ = true;
  res_.failures.clear();
  res_.culprit = kNone;
  res_.culprit_requested = false;
}

// The path to the best node. Its leading levels often are those of the previous snapshot (everything
// below the floor, at least), so only what changed since is copied: a long history's path has a
// million levels, and the search snapshots whenever it backtracks from the best node.
void Search::snapshot_best() {
  res_.path.resize(std::min(path_valid_, best_depth_));
  for (std::size_t d = res_.path.size() + 1; d <= best_depth_; ++d) res_.path.push_back(original_step(d));
  path_valid_ = best_depth_;
  best_on_stack_ = false;
}

}  // namespace lockstep::checker::lin::detail
