// narrow_to_commit (witness_narrow.hpp).
#include "witness_narrow.hpp"

#include <algorithm>
#include <utility>
#include <variant>

#include "model/op_traits.hpp"

namespace lockstep::checker::stress {

using namespace lockstep::model;

std::vector<std::pair<bool, std::uint32_t>> named_objects(const lin::Operation& o) {
  std::vector<std::pair<bool, std::uint32_t>> out;
  for_each_arg(o.op.body, [&](const ArgTraits& a, const auto& v) {
    using V = std::decay_t<decltype(v)>;
    if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
      if (a.kind == ArgKind::LwpSym && static_cast<std::int64_t>(v) != static_cast<std::int64_t>(kNoLwp)) out.emplace_back(false, static_cast<std::uint32_t>(v));
      if (a.kind == ArgKind::ProcSym && static_cast<std::int64_t>(v) != static_cast<std::int64_t>(kNoProc)) out.emplace_back(true, static_cast<std::uint32_t>(v));
    }
  });
  if (o.op.actor.kind == Actor::Kind::Kthread) out.emplace_back(true, o.op.actor.index);
  if (o.ret && o.outcome.lwp != kNoLwp) out.emplace_back(false, o.outcome.lwp);
  return out;
}

std::optional<NarrowedHistory> narrow_to_commit(const lin::History& h, const lin::Judgement& j) {
  if (j.committed == 0 || j.committed > j.order.size()) return std::nullopt;
  const lin::Step& last = j.order[j.committed - 1];
  if (!last.observation) return std::nullopt;
  const std::size_t until = h.observations.at(last.index).at;  // the committed observation's instant

  NarrowedHistory n{h, {}, until};
  lin::History& out = n.history;
  std::vector<bool> in_prefix(h.ops.size(), false);
  // Each step takes the next free instant, or its own call's when that is later: the narrowed
  // intervals stay where the calls really were, as far as the order allows.
  std::size_t cursor = 0;
  auto take = [&](std::size_t at_least) {
    const std::size_t at = std::max(cursor, at_least);
    cursor = at + 1;
    return at;
  };
  // A call that returned before the committed observation returns at its place in the order: right
  // after its step, or, for one that blocked, right after the step that woke it. A call still in
  // flight there keeps its response (its wait is what the observation saw).
  auto returns_before = [&](std::size_t x) { return h.ops[x].ret && *h.ops[x].ret < until; };
  // Except a kproc_shutdown, the one call whose lines reach the console (SPEC K7): the judge takes
  // overlapping callers' lines in any interleaving real time allows, not in the order of their steps,
  // so narrowing its response could order lines the history leaves unordered. It keeps its response.
  auto narrows_response = [&](std::size_t x) {
    return returns_before(x) && !std::holds_alternative<op::KprocShutdown>(h.ops[x].op.body);
  };
  std::vector<std::pair<Actor, std::size_t>> waiting;  // blocked in the prefix: the model's actor, the op
  for (std::size_t k = 0; k < j.committed; ++k) {
    const lin::Step& s = j.order[k];
    if (s.observation) {
      out.observations.at(s.index).at = k + 1 == j.committed ? until : take(h.observations.at(s.index).at);
      continue;
    }
    const std::size_t x = s.index;
    in_prefix.at(x) = true;
    lin::Operation& o = out.ops[x];
    o.call = take(h.ops[x].call);
    o.hint.reset();
    n.narrowed.push_back(x);
    if (s.result.outcome.kind == OutcomeKind::Blocked) waiting.emplace_back(s.applied.actor, x);
    else if (narrows_response(x)) o.ret = take(0);
    for (const Completion& c : s.result.completions) {
      const auto w = std::find_if(waiting.begin(), waiting.end(), [&](const auto& a) { return a.first == c.actor; });
      if (w == waiting.end()) continue;
      if (narrows_response(w->second)) out.ops[w->second].ret = take(0);
      waiting.erase(w);
    }
  }
  if (cursor > until) return std::nullopt;  // no room before the observation (never seen: instants are ns apart)
  for (const auto& [actor, x] : waiting)
    if (returns_before(x)) return std::nullopt;  // it returned, but the prefix never woke it
  for (std::size_t x = 0; x < h.ops.size(); ++x)
    if (!in_prefix[x] && !h.ops[x].carried && returns_before(x)) return std::nullopt;  // not a commit point after all
  if (lin::validate(out)) return std::nullopt;
  return n;
}

}  // namespace lockstep::checker::stress
