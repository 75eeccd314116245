#include "checker/lin_history.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

namespace lockstep::checker::lin {

using namespace lockstep::model;

bool precedes(const Operation& a, const Operation& b) { return a.ret && !b.carried && *a.ret < b.call; }

std::optional<std::string> validate(const History& h) {
  auto err = [](std::size_t i, std::string why) { return std::optional<std::string>(fmt::format("op {}: {}", i, why)); };
  std::set<std::pair<Binding::Kind, std::uint32_t>> created;
  // An actor's operations run one after the other: by actor (kind, index as written), in call order.
  std::map<std::pair<Actor::Kind, std::uint32_t>, std::vector<std::size_t>> by_actor;
  for (std::size_t i = 0; i < h.ops.size(); ++i) {
    const Operation& o = h.ops[i];
    if (o.ret && !o.carried && *o.ret < o.call) return err(i, "responds before it is invoked");
    if (o.ret && o.blocked_at_end) return err(i, "has a response and is blocked at the end");
    if (o.ret && o.outcome.kind != OutcomeKind::Returned && o.outcome.kind != OutcomeKind::Fatal && o.outcome.kind != OutcomeKind::Dead)
      return err(i, "has a response that is no answer (BLOCKED or not runnable)");
    if (o.carried && o.outcome.kind == OutcomeKind::Fatal) return err(i, "is carried from before the history and FATAL");
    const auto lwps = std::count_if(o.created.begin(), o.created.end(), [](const Binding& b) { return b.kind == Binding::Kind::Lwp; });
    if (!o.created_lids.empty() && static_cast<std::ptrdiff_t>(o.created_lids.size()) != lwps)
      return err(i, "has created_lids for other than its created lwps");
    for (const Binding& b : o.created) {
      const std::size_t before = b.kind == Binding::Kind::Lwp ? h.before.lwps.size() : h.before.procs.size();
      if (b.id < before) return err(i, fmt::format("creates {}, an object of `before`", symbol(b.kind, b.id)));
      if (!created.emplace(b.kind, b.id).second) return err(i, fmt::format("creates {}, which another op creates", symbol(b.kind, b.id)));
    }
    if (o.carried) {
      const bool blocked = o.op.actor.kind == Actor::Kind::Host
                               ? h.before.wait_of(static_cast<HostId>(o.op.actor.index)) != nullptr
                               : o.op.actor.kind == Actor::Kind::Kthread && h.before.proc(o.op.actor.index) != nullptr &&
                                     h.before.procs[o.op.actor.index].kt.state == KState::Parked;
      if (!blocked) return err(i, "is carried from before the history, but its actor is not blocked in `before`");
    }
    by_actor[{o.op.actor.kind, o.op.actor.index}].push_back(i);
  }
  for (auto& [actor, ops] : by_actor) {
    std::sort(ops.begin(), ops.end(), [&](std::size_t a, std::size_t b) {
      const Operation& x = h.ops[a];
      const Operation& y = h.ops[b];
      return std::tuple(!x.carried, x.call) < std::tuple(!y.carried, y.call);
    });
    for (std::size_t k = 1; k < ops.size(); ++k) {
      const Operation& prev = h.ops[ops[k - 1]];
      const Operation& next = h.ops[ops[k]];
      if (next.carried) return err(ops[k], "is carried from before the history but not its actor's first op");
      if (!prev.ret || !(*prev.ret < next.call))
        return err(ops[k], fmt::format("overlaps op {} of the same actor (an actor runs one op at a time)", ops[k - 1]));
    }
  }
  return std::nullopt;
}

}  // namespace lockstep::checker::lin
