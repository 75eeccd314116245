// shrink_witness (stress_verdict.hpp): delta debugging over the operations of a violating history.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "checker/stress_verdict.hpp"
#include "witness_narrow.hpp"
#include "model/op_traits.hpp"

namespace lockstep::checker::stress {

using namespace lockstep::model;

namespace {

using Clock = std::chrono::steady_clock;

class Shrinker {
 public:
  // `frozen_until`: the instant of an observation the judge commits at (a narrowed history,
  // witness_narrow.hpp). What was invoked before it stays, and so do the observations up to it: each
  // candidate's search commits there and only searches what follows, the part that is shrunk.
  Shrinker(const lin::History& h, const lin::Judgement& j, const lin::Budget& b, double seconds,
           std::optional<std::size_t> frozen_until = std::nullopt)
      : h_(h), rule_(j.rule), culprit_(j.culprit), on_observation_(j.culprit_is_observation), expected_(j.expected),
        observed_(j.observed), budget_(b), frozen_until_(frozen_until),
        deadline_(Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds))) {
    for (std::size_t i = 0; i < h.ops.size(); ++i)
      for (const Binding& b2 : h.ops[i].created) creator_[{b2.kind == Binding::Kind::Proc, b2.id}] = i;
    for (std::size_t i = 0; i < h.ops.size(); ++i)
      for (auto s : named_objects(h.ops[i]))
        if (auto it = creator_.find(s); it != creator_.end() && it->second != i) users_[it->second].push_back(i);
  }

  Witness run(const lin::Judgement& j) {
    Witness w;
    std::vector<bool> keep(h_.ops.size(), true);
    // 1. Nothing invoked after the culprit's response (an observation's instant) can help explain it,
    // and the observations before that instant still show states of the history kept: they stay,
    // and let the judge commit, in this candidate only (every later one drops operations before them).
    if (const std::optional<std::size_t> p = culprit_position()) {
      std::vector<bool> k = keep;
      for (std::size_t i = 0; i < h_.ops.size(); ++i)
        if (h_.ops[i].call > *p) k[i] = false;
      close(k);
      if (fails(k, w, *p)) keep = k;
    }
    // 2. Whole actors.
    std::map<std::pair<int, std::uint32_t>, std::vector<std::size_t>> by_actor;
    for (std::size_t i = 0; i < h_.ops.size(); ++i)
      if (keep[i] && !frozen(i)) by_actor[{static_cast<int>(h_.ops[i].op.actor.kind), h_.ops[i].op.actor.index}].push_back(i);
    for (const auto& [actor, ops] : by_actor) {
      if (Clock::now() > deadline_) break;
      if (culprit_ && !on_observation_ && std::find(ops.begin(), ops.end(), *culprit_) != ops.end()) continue;
      std::vector<bool> k = keep;
      for (std::size_t i : ops) k[i] = false;
      close(k);
      if (fails(k, w)) keep = k;
    }
    // 3. Chunks of operations, halving.
    for (std::size_t chunk = std::max<std::size_t>(1, count(keep) / 2); chunk >= 1; chunk /= 2) {
      std::vector<std::size_t> live;
      for (std::size_t i = 0; i < keep.size(); ++i)
        if (keep[i] && !frozen(i) && (!culprit_ || on_observation_ || i != *culprit_)) live.push_back(i);
      for (std::size_t s = 0; s < live.size() && Clock::now() <= deadline_; s += chunk) {
        std::vector<bool> k = keep;
        bool any = false;
        for (std::size_t t = s; t < std::min(live.size(), s + chunk); ++t)
          if (k[live[t]]) k[live[t]] = false, any = true;
        if (!any) continue;
        close(k);
        if (fails(k, w)) keep = k;
      }
      if (chunk == 1) break;
    }
    // 4. The observations step 1 kept, when every later candidate failed without dropping an
    // operation: without them, if the failure does not need them.
    if (best_ && best_->history.observations.size() > (on_observation_ ? 1u : 0u) && Clock::now() <= deadline_) fails(keep, w);
    if (!best_) {  // nothing smaller fails the same way: the witness is the history as judged
      w.history = h_;
      w.ops.resize(h_.ops.size());
      for (std::size_t i = 0; i < w.ops.size(); ++i) w.ops[i] = i;
      w.judgement = j;
    } else {
      w.history = std::move(best_->history);
      w.ops = std::move(best_->ops);
      w.judgement = std::move(best_->judgement);
    }
    return w;
  }

 private:
  struct Candidate {
    lin::History history;
    std::vector<std::size_t> ops;
    lin::Judgement judgement;
  };

  bool frozen(std::size_t i) const { return frozen_until_ && (h_.ops[i].carried || h_.ops[i].call < *frozen_until_); }

  static std::size_t count(const std::vector<bool>& k) { return static_cast<std::size_t>(std::count(k.begin(), k.end(), true)); }

  // Everything that names an object a dropped op created goes too (it would name a handle the
  // kernel never issued, a different history).
  void close(std::vector<bool>& k) const {
    std::vector<std::size_t> stack;
    for (std::size_t i = 0; i < k.size(); ++i)
      if (!k[i]) stack.push_back(i);
    while (!stack.empty()) {
      const std::size_t i = stack.back();
      stack.pop_back();
      auto it = users_.find(i);
      if (it == users_.end()) continue;
      for (std::size_t u : it->second)
        if (k[u]) k[u] = false, stack.push_back(u);
    }
  }

  // Where the culprit lies on the history's order: its response, or the observation's instant.
  std::optional<std::size_t> culprit_position() const {
    if (!culprit_) return std::nullopt;
    if (on_observation_) return h_.observations.at(*culprit_).at;
    return h_.ops[*culprit_].ret;
  }

  // Whether the operations kept in `k` still fail as the history did. The observations kept are
  // those before `observations_before` (none by default: a dropped operation changes the states they
  // show), and the culprit's when it is one. Dropping operations can make a history fail in ways the
  // implementation never did (the state an observation shows, or an answer, without the call that
  // caused it): so a candidate counts only when it fails at the same culprit, under the same rule,
  // with the same difference (what was expected and what was observed), not merely somewhere.
  bool fails(const std::vector<bool>& k, Witness& w, std::optional<std::size_t> observations_before = std::nullopt) {
    if (culprit_ && !on_observation_ && !k[*culprit_]) return false;
    Candidate c;
    c.history.before = h_.before;
    c.history.hosts = h_.hosts;
    std::optional<std::size_t> culprit_here;
    for (std::size_t i = 0; i < k.size(); ++i) {
      if (!k[i]) continue;
      if (culprit_ && !on_observation_ && i == *culprit_) culprit_here = c.ops.size();
      c.ops.push_back(i);
      c.history.ops.push_back(h_.ops[i]);
    }
    for (std::size_t o = 0; o < h_.observations.size(); ++o) {
      const bool the_culprit = on_observation_ && culprit_ && o == *culprit_;
      const bool committed = frozen_until_ && h_.observations[o].at <= *frozen_until_;
      if (!the_culprit && !committed && !(observations_before && h_.observations[o].at < *observations_before)) continue;
      if (the_culprit) culprit_here = c.history.observations.size();
      c.history.observations.push_back(h_.observations[o]);
    }
    if (lin::validate(c.history)) return false;
    lin::Options opt;
    opt.budget = budget_;
    // A witness's verdict is the exhaustive search's; only a candidate too long for it is judged with
    // commits (a violation found with them is one: LIN.md), which needs the observations step 1 keeps.
    opt.commit_at_quiescent_observations = frozen_until_ || c.history.ops.size() > kExhaustiveWitnessOps;
    ++w.candidates;
    c.judgement = lin::judge(c.history, opt);
    if (c.judgement.verdict != lin::Verdict::Violation || c.judgement.rule != rule_) return false;
    if (culprit_ && (c.judgement.culprit != culprit_here || c.judgement.culprit_is_observation != on_observation_)) return false;
    if (c.judgement.expected != expected_ || c.judgement.observed != observed_) return false;
    best_ = std::move(c);
    return true;
  }

  static constexpr std::size_t kExhaustiveWitnessOps = 500;

  const lin::History& h_;
  const Rule rule_;
  const std::optional<std::size_t> culprit_;
  const bool on_observation_;
  const std::string expected_, observed_;
  const lin::Budget budget_;
  const std::optional<std::size_t> frozen_until_;
  const Clock::time_point deadline_;
  std::map<std::pair<bool, std::uint32_t>, std::size_t> creator_;
  std::map<std::size_t, std::vector<std::size_t>> users_;
  std::optional<Candidate> best_;
};

constexpr double kWholeCandidateSeconds = 2;

bool same_failure(const lin::Judgement& a, const lin::Judgement& b) {
  return a.verdict == lin::Verdict::Violation && b.verdict == lin::Verdict::Violation && a.rule == b.rule && a.culprit == b.culprit &&
         a.culprit_is_observation == b.culprit_is_observation && a.expected == b.expected && a.observed == b.observed;
}

}  // namespace

Witness shrink_witness(const lin::History& h, const lin::Judgement& j, const lin::Budget& budget, double seconds,
                       const lin::Judgement* with_commits) {
  const auto t0 = Clock::now();
  auto left = [&] { return std::max(0.0, seconds - std::chrono::duration<double>(Clock::now() - t0).count()); };
  // 0. What the judge committed to, as the order it kept (witness_narrow.hpp): shrunk from there
  // when it fails just as the history did.
  std::optional<NarrowedHistory> n = narrow_to_commit(h, with_commits ? *with_commits : j);
  std::optional<lin::Judgement> nj;
  if (n) {
    lin::Options opt;
    opt.budget = budget;
    opt.budget.max_seconds = std::min(budget.max_seconds, seconds);
    lin::Judgement r = lin::judge(n->history, opt);
    if (same_failure(r, j)) nj = std::move(r);
  }
  Witness w;
  if (nj) {
    // What follows the commit is shrunk first, with the narrowed prefix kept and committed to (each
    // candidate's search is then short); then the whole, the prefix included, in the time left, with
    // a short budget per candidate: a prefix the failure does not need goes, where the judge of a
    // candidate without the committed observation is quick enough to show it.
    Shrinker s(n->history, *nj, budget, left(), n->until);
    const Witness tail = s.run(*nj);
    w = tail;
    // Only in time left over: a run then ends within the shrink budget plus one candidate's budget.
    if (left() > 0) {
      Shrinker whole(tail.history, tail.judgement, lin::Budget{budget.max_steps, std::min(budget.max_seconds, kWholeCandidateSeconds)}, left());
      w = whole.run(tail.judgement);
      for (std::size_t& i : w.ops) i = tail.ops[i];
      w.candidates += tail.candidates;
    }
    std::vector<bool> was_narrowed(h.ops.size(), false);
    for (std::size_t x : n->narrowed) was_narrowed[x] = true;
    for (std::size_t i = 0; i < w.ops.size(); ++i)
      if (was_narrowed[w.ops[i]]) w.narrowed.push_back(i);
  } else {
    Shrinker s(h, j, budget, left());
    w = s.run(j);
  }
  w.candidates += n ? 1 : 0;
  w.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return w;
}

}  // namespace lockstep::checker::stress
