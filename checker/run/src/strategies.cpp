// The scheduling strategies behind SchedulePolicy (checker/schedule_policy.hpp describes each), their
// names, and the portfolio's rotation.
#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "checker/random_source.hpp"
#include "checker/strategy.hpp"

namespace lockstep::checker {

namespace {

using Sched = impl::sync::ControlledBackend;
using ThreadId = Sched::ThreadId;
using Infos = std::span<const Sched::ThreadInfo>;

// How often a policy that interleaves wakes a condition waiter spuriously: once in this many
// choices. Rare enough that the program still makes progress, often enough that a caller that
// does not loop on its predicate meets one within a few programs.
constexpr std::uint32_t kSpuriousOneIn = 24;

// The spurious wake-up of every policy that interleaves: one choice in kSpuriousOneIn, a waiter drawn
// uniformly.
std::optional<ThreadId> rarely_one_of(SplitMix& rng, Infos waiting) {
  if (rng.below(kSpuriousOneIn) != 0) return std::nullopt;
  return waiting[rng.below(static_cast<std::uint32_t>(waiting.size()))].id;
}

class RandomWalk final : public SchedulePolicy {
 public:
  explicit RandomWalk(std::uint64_t seed) : rng_(seed) {}
  std::string_view name() const override { return "random"; }
  bool interleaves() const override { return true; }
  void round_begins(std::size_t, std::uint64_t key) override { rng_ = SplitMix(key); }
  ThreadId next(Infos runnable) override { return runnable[rng_.below(static_cast<std::uint32_t>(runnable.size()))].id; }
  std::optional<ThreadId> spurious(Infos waiting) override { return rarely_one_of(rng_, waiting); }

 private:
  SplitMix rng_;
};

// PCT: the runnable thread of highest priority runs. Threads draw distinct random priorities (all
// >= depth) when first seen; at each of depth - 1 change points, chosen uniformly among the first
// `expected` choices, the thread about to run drops to priority depth - 1 - j, below every other.
//
// Per round: the runner's rounds are separated by quiescent points, so each is a concurrent test of
// its own, and PCT starts afresh at each (fresh priorities, change points among the round's own
// expected choices). The bound then holds per round with k the round's length (tens of choices)
// instead of the whole program's (hundreds): 1/(n k^(d-1)) for a bug inside one round.
class Pct final : public SchedulePolicy {
 public:
  Pct(std::uint64_t seed, int depth, std::uint32_t expected) : rng_(seed), depth_(depth), name_(fmt::format("pct:{}", depth)) {
    draw_change_points(expected);
  }
  std::string_view name() const override { return name_; }
  bool interleaves() const override { return true; }
  void round_begins(std::size_t ops, std::uint64_t key) override {
    rng_ = SplitMix(key);
    prio_.clear();
    choices_ = 0;
    draw_change_points(static_cast<std::uint32_t>(std::max<std::size_t>(ops, 1)) * kChoicesPerRoundOp);
  }

  ThreadId next(Infos runnable) override {
    ++choices_;
    ThreadId pick = highest(runnable);
    while (next_change_ < change_points_.size() && change_points_[next_change_] <= choices_) {
      ++next_change_;
      prio_[pick] = static_cast<std::int64_t>(depth_) - 1 - static_cast<std::int64_t>(next_change_);
      pick = highest(runnable);
    }
    return pick;
  }
  std::optional<ThreadId> spurious(Infos waiting) override { return rarely_one_of(rng_, waiting); }

 private:
  void draw_change_points(std::uint32_t expected) {
    change_points_.clear();
    next_change_ = 0;
    for (int j = 1; j < depth_; ++j) change_points_.push_back(1 + rng_.below(std::max<std::uint32_t>(expected, 1)));
    std::sort(change_points_.begin(), change_points_.end());
  }
  ThreadId highest(Infos runnable) {
    ThreadId best = runnable.front().id;
    std::int64_t best_prio = priority(best);
    for (const auto& t : runnable)
      if (const std::int64_t p = priority(t.id); p > best_prio) best = t.id, best_prio = p;
    return best;
  }
  std::int64_t priority(ThreadId t) {
    auto [it, fresh] = prio_.try_emplace(t, 0);
    // Distinct with overwhelming probability; ties go to the earliest runnable (strict > above).
    if (fresh) it->second = depth_ + static_cast<std::int64_t>(rng_.next() >> 2);
    return it->second;
  }

  SplitMix rng_;
  int depth_;
  std::string name_;
  std::vector<std::uint32_t> change_points_;
  std::size_t next_change_ = 0;
  std::uint32_t choices_ = 0;
  std::map<ThreadId, std::int64_t> prio_;
};

// POS: every pending event (a runnable thread at its next scheduling point, told apart by the
// backend's `order` stamp) draws a random priority when it first shows; the highest runs. Then
// every other pending event on the same sync object (one that races with it) draws again, so
// the relative order of racing events is resampled while independent ones keep theirs.
class Pos final : public SchedulePolicy {
 public:
  explicit Pos(std::uint64_t seed) : rng_(seed) {}
  std::string_view name() const override { return "pos"; }
  bool interleaves() const override { return true; }
  void round_begins(std::size_t, std::uint64_t key) override {
    rng_ = SplitMix(key);
    events_.clear();
  }

  ThreadId next(Infos runnable) override {
    const Sched::ThreadInfo* best = nullptr;
    std::uint64_t best_prio = 0;
    for (const auto& t : runnable) {
      Event& e = events_[t.id];
      if (e.order != t.order) e = Event{t.order, rng_.next()};
      if (best == nullptr || e.prio > best_prio) best = &t, best_prio = e.prio;
    }
    for (const auto& t : runnable)
      if (t.id != best->id && !best->object.empty() && t.object == best->object) events_[t.id].prio = rng_.next();
    events_.erase(best->id);
    return best->id;
  }
  std::optional<ThreadId> spurious(Infos waiting) override { return rarely_one_of(rng_, waiting); }

 private:
  struct Event {
    std::uint64_t order = 0;
    std::uint64_t prio = 0;
  };
  SplitMix rng_;
  std::map<ThreadId, Event> events_;
};

// Gap: a random walk, except that a thread stopped right after an unlock while still inside its call
// is held back, one time in two (decided when it stops there), for as long as another thread can
// run. The others then run whole calls inside its lock gap. Random walk and PCT rarely do that: it
// takes several choices in a row against the same thread. A held thread runs when it is the only
// one left, and a thread stopped anywhere else is never held.
class Gap final : public SchedulePolicy {
 public:
  explicit Gap(std::uint64_t seed) : rng_(seed) {}
  std::string_view name() const override { return "gap"; }
  bool interleaves() const override { return true; }
  void round_begins(std::size_t, std::uint64_t key) override {
    rng_ = SplitMix(key);
    held_.clear();
  }

  ThreadId next(Infos runnable) override {
    std::vector<ThreadId> free;
    for (const auto& t : runnable) {
      const auto it = held_.try_emplace(t.id, Hold{}).first;
      if (it->second.order != t.order) it->second = Hold{t.order, t.point == Sched::Point::unlock && rng_.below(2) == 0};
      if (!it->second.held) free.push_back(t.id);
    }
    if (free.empty()) {  // only held threads: one of them goes on
      const ThreadId pick = runnable[rng_.below(static_cast<std::uint32_t>(runnable.size()))].id;
      held_[pick].held = false;
      return pick;
    }
    return free[rng_.below(static_cast<std::uint32_t>(free.size()))];
  }
  std::optional<ThreadId> spurious(Infos waiting) override { return rarely_one_of(rng_, waiting); }

 private:
  struct Hold {
    std::uint64_t order = 0;  // the stop it was decided at (ThreadInfo::order)
    bool held = false;
  };
  SplitMix rng_;
  std::map<ThreadId, Hold> held_;
};

// Lead: one thread of the round, the leader, runs alone from the round's start until it stops right
// after its n-th unlock while still inside its call (n = 1 one time in two, 2 one in four, ...), and is
// then held for as long as any other thread can run; after that, a random walk. So everything else in
// the round (an actor's second call, a call posted once another returned) runs whole between the
// leader's critical sections: the shape of a size or a flag read in one critical section and used in
// the next, which a walk builds only by choosing against one thread many times in a row, and PCT only
// when its change point falls on that unlock. The leader is one of the round's leaders
// (round_leaders): the ops that wait on another are the witnesses of its half-done state.
class Lead final : public SchedulePolicy {
 public:
  explicit Lead(std::uint64_t seed) : rng_(seed) {}
  std::string_view name() const override { return "lead"; }
  bool interleaves() const override { return true; }
  void round_begins(std::size_t ops, std::uint64_t key) override {
    rng_ = SplitMix(key);
    leaders_.clear();
    phase_ = ops >= 2 ? Phase::choosing : Phase::done;
    unlocks_left_ = 1;
    while (unlocks_left_ < kMaxUnlocks && rng_.below(2) == 0) ++unlocks_left_;
  }
  void round_leaders(std::span<const ThreadId> threads) override { leaders_.assign(threads.begin(), threads.end()); }

  ThreadId next(Infos runnable) override {
    if (phase_ == Phase::choosing) choose_leader(runnable);
    if (phase_ == Phase::leading) {
      const auto me = std::find_if(runnable.begin(), runnable.end(), [&](const auto& t) { return t.id == leader_; });
      if (me == runnable.end()) {
        phase_ = Phase::done;  // it blocked or returned before that unlock: no gap to hold open
      } else {
        if (me->order != leader_stop_) {  // a fresh stop
          leader_stop_ = me->order;
          if (me->point == Sched::Point::unlock && --unlocks_left_ == 0) phase_ = Phase::holding;
        }
        if (phase_ == Phase::leading) return leader_;
      }
    }
    pick_.clear();
    for (const auto& t : runnable)
      if (phase_ != Phase::holding || t.id != leader_) pick_.push_back(t.id);
    if (pick_.empty()) {  // only the held leader is left: it goes on, and the walk takes over
      phase_ = Phase::done;
      return leader_;
    }
    return pick_[rng_.below(static_cast<std::uint32_t>(pick_.size()))];
  }
  std::optional<ThreadId> spurious(Infos waiting) override { return rarely_one_of(rng_, waiting); }

 private:
  static constexpr int kMaxUnlocks = 4;
  enum class Phase { choosing, leading, holding, done };

  void choose_leader(Infos runnable) {
    pick_.clear();
    for (const auto& t : runnable)
      if (std::find(leaders_.begin(), leaders_.end(), t.id) != leaders_.end()) pick_.push_back(t.id);
    if (pick_.empty())
      for (const auto& t : runnable) pick_.push_back(t.id);
    leader_ = pick_[rng_.below(static_cast<std::uint32_t>(pick_.size()))];
    leader_stop_ = 0;
    phase_ = Phase::leading;
  }

  SplitMix rng_;
  std::vector<ThreadId> leaders_;
  std::vector<ThreadId> pick_;
  Phase phase_ = Phase::done;
  ThreadId leader_ = 0;
  std::uint64_t leader_stop_ = 0;  // ThreadInfo::order of the leader's last stop seen
  int unlocks_left_ = 1;
};

// Follows a recorded schedule (Schedule::script): each decision names the thread to run or wake,
// round by round (Schedule::script_rounds). The cursor moves on every decision the run carries out
// (ran / woke), the runner's own included, so it stays aligned with the recording, and jumps to the
// next round's decisions when a round begins. Strict: a decision that does not fit, or a round that
// takes more or fewer decisions than recorded, is a ScheduleMisfit; lenient (shrinking): the thread
// that ran last goes on if it can, else the earliest runnable.
class Scripted final : public SchedulePolicy {
 public:
  Scripted(std::vector<TraceTurn> script, std::vector<std::size_t> rounds, bool strict, bool interleaves, std::string name)
      : script_(std::move(script)), strict_(strict), interleaves_(interleaves), name_(std::move(name)) {
    if (rounds.empty()) rounds.push_back(script_.size());
    std::size_t at = 0;
    for (std::size_t n : rounds) {
      ends_.push_back(std::min(at + n, script_.size()));
      at = ends_.back();
    }
    end_ = ends_.front();
  }
  std::string_view name() const override { return name_; }
  bool interleaves() const override { return interleaves_; }

  void round_begins(std::size_t, std::uint64_t) override {
    if (rounds_begun_++ == 0) return;  // the first round's decisions follow the start-up's
    if (strict_ && pos_ != end_ && round_ < ends_.size())
      throw ScheduleMisfit(fmt::format("the recorded schedule does not fit this run: round {} ended after decision {}, but the trace "
                                       "records its decisions up to {}",
                                       round_, pos_, end_));
    ++round_;
    pos_ = round_ < ends_.size() ? ends_[round_ - 1] : script_.size();
    end_ = round_ < ends_.size() ? ends_[round_] : script_.size();
  }

  ThreadId next(Infos runnable) override {
    if (!strict_)
      while (pos_ < end_ && script_[pos_].wake) ++pos_;
    if (pos_ >= end_) {
      if (strict_ && round_ < ends_.size())
        throw ScheduleMisfit(fmt::format("the recorded schedule does not fit this run: round {} needs a decision after decision {}, "
                                         "the last the trace records for it (threads there: {})",
                                         round_, end_ == 0 ? 0 : end_ - 1, names(runnable)));
      return fallback(runnable);
    }
    const TraceTurn& want = script_[pos_];
    if (want.wake) misfit(fmt::format("it wakes {} spuriously, but no thread waits to be woken there", want.thread), runnable);
    for (const auto& t : runnable)
      if (t.name == want.thread) return t.id;
    if (strict_) misfit(fmt::format("it runs {}, which is not runnable there", want.thread), runnable);
    return fallback(runnable);
  }
  std::optional<ThreadId> spurious(Infos waiting) override {
    if (pos_ >= end_ || !script_[pos_].wake) return std::nullopt;
    for (const auto& t : waiting)
      if (t.name == script_[pos_].thread) return t.id;
    if (strict_) misfit(fmt::format("it wakes {} spuriously, but {} is not waiting on a condition there", script_[pos_].thread, script_[pos_].thread), waiting);
    return std::nullopt;
  }
  void ran(const std::string& thread) override { carried_out(false, thread); }
  void woke(const std::string& thread) override { carried_out(true, thread); }

 private:
  void carried_out(bool wake, const std::string& thread) {
    if (!wake) last_ = thread;
    if (pos_ >= end_) {
      // Past the round's recorded decisions: strict runs stopped in next(), except for a turn the
      // runner takes itself (it runs the thread it posted to).
      if (strict_ && round_ < ends_.size())
        throw ScheduleMisfit(fmt::format("the recorded schedule does not fit this run: round {} {} {} after its last recorded decision", round_,
                                         wake ? "woke" : "ran", thread));
      return;
    }
    if (strict_ && (script_[pos_].wake != wake || script_[pos_].thread != thread))
      throw ScheduleMisfit(fmt::format("the recorded schedule does not fit this run: decision {} is \"{}\", but the run {} {}", pos_,
                                       to_string(script_[pos_]), wake ? "woke" : "ran", thread));
    ++pos_;
  }
  ThreadId fallback(Infos runnable) const {
    for (const auto& t : runnable)
      if (t.name == last_) return t.id;
    return runnable.front().id;
  }
  static std::string names(Infos threads) {
    std::string out;
    for (const auto& t : threads) out += (out.empty() ? "" : ", ") + t.name;
    return out.empty() ? std::string("none") : out;
  }
  [[noreturn]] void misfit(const std::string& why, Infos threads) const {
    throw ScheduleMisfit(fmt::format("the recorded schedule does not fit this run: decision {} (\"{}\"): {} (threads there: {})", pos_,
                                     to_string(script_[pos_]), why, names(threads)));
  }

  std::vector<TraceTurn> script_;
  std::vector<std::size_t> ends_;  // where each round's decisions end in script_
  bool strict_;
  bool interleaves_;
  std::string name_;
  std::size_t pos_ = 0, end_ = 0;
  std::size_t round_ = 0, rounds_begun_ = 0;
  std::string last_;
};

// The portfolio's rotation, one per program index. lead takes two slots in seven: on the lock-gap races
// of the mutation sweeps (checker/gen/REACH.md) it needs 4 000 programs where the rest of the rotation
// needs 25 000 to 60 000, and alone it kills every project fault as the others do.
constexpr std::array<Strategy, 7> kPortfolio{{{Strategy::Kind::Random, 3},
                                              {Strategy::Kind::Pos, 3},
                                              {Strategy::Kind::Lead, 3},
                                              {Strategy::Kind::Pct, 2},
                                              {Strategy::Kind::Pct, 3},
                                              {Strategy::Kind::Lead, 3},
                                              {Strategy::Kind::Gap, 3}}};
constexpr int kMaxPctDepth = 16;

}  // namespace

std::optional<Strategy> parse_strategy(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<Strategy> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (text == "op") return Strategy{Strategy::Kind::Op};
  if (text == "random") return Strategy{Strategy::Kind::Random};
  if (text == "pos") return Strategy{Strategy::Kind::Pos};
  if (text == "gap") return Strategy{Strategy::Kind::Gap};
  if (text == "lead") return Strategy{Strategy::Kind::Lead};
  if (text == "portfolio") return Strategy{Strategy::Kind::Portfolio};
  if (text == "pct") return Strategy{Strategy::Kind::Pct, 3};
  if (text.starts_with("pct:")) {
    const std::string_view d = text.substr(4);
    int depth = 0;
    auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), depth);
    if (ec != std::errc{} || end != d.data() + d.size() || depth < 1 || depth > kMaxPctDepth)
      return fail(fmt::format("--strategy {}: the depth of pct:D is a whole number from 1 to {}", text, kMaxPctDepth));
    return Strategy{Strategy::Kind::Pct, depth};
  }
  return fail(fmt::format("--strategy {}: expected one of op, random, pct:D, pos, gap, lead, portfolio", text));
}

std::string to_string(const Strategy& s) {
  switch (s.kind) {
    case Strategy::Kind::Op: return "op";
    case Strategy::Kind::Random: return "random";
    case Strategy::Kind::Pct: return fmt::format("pct:{}", s.depth);
    case Strategy::Kind::Pos: return "pos";
    case Strategy::Kind::Gap: return "gap";
    case Strategy::Kind::Lead: return "lead";
    case Strategy::Kind::Portfolio: return "portfolio";
  }
  return "?";
}

Strategy effective(const Schedule& s) {
  if (s.strategy.kind != Strategy::Kind::Portfolio) return s.strategy;
  return kPortfolio[s.program_index % kPortfolio.size()];
}

std::unique_ptr<SchedulePolicy> make_policy(const Schedule& s) {
  const Strategy st = effective(s);
  if (!s.script.empty())
    return std::make_unique<Scripted>(s.script, s.script_rounds, s.strict, st.kind != Strategy::Kind::Op, "scripted " + to_string(st));
  switch (st.kind) {
    case Strategy::Kind::Random: return std::make_unique<RandomWalk>(s.seed);
    case Strategy::Kind::Pct: return std::make_unique<Pct>(s.seed, st.depth, s.expected_choices);
    case Strategy::Kind::Pos: return std::make_unique<Pos>(s.seed);
    case Strategy::Kind::Gap: return std::make_unique<Gap>(s.seed);
    case Strategy::Kind::Lead: return std::make_unique<Lead>(s.seed);
    case Strategy::Kind::Op:
    case Strategy::Kind::Portfolio: break;
  }
  return std::make_unique<OpAtATime>();
}

}  // namespace lockstep::checker
