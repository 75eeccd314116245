// Compaction at commits (search.hpp, LIN.md "Compaction"): the committed state drops the dead
// objects no remaining operation names, and the search keeps the ids the uncompacted model would
// have given, so that the order it reports replays on the history's own `before`.
#include <type_traits>

#include "model/op_traits.hpp"
#include "search.hpp"

namespace lockstep::checker::lin::detail {

using namespace lockstep::model;

std::uint32_t Search::original_id(int kind, std::uint32_t id) const {
  if (id >= Symbols::kNeverIssued) return id;  // NULL, or a handle never issued: past every state
  const auto& s = survivors_[kind];
  return id < s.size() ? s[id] : id + dropped_[kind];
}

Op Search::original(const Op& op) const {
  if (dropped_[0] == 0 && dropped_[1] == 0) return op;
  Op out = op;
  for_each_arg_mut(out.body, [&](const ArgTraits& a, auto& v) {
    using V = std::decay_t<decltype(v)>;
    if constexpr (std::is_integral_v<V>) {
      if (a.kind == ArgKind::LwpSym) v = static_cast<V>(original_id(1, static_cast<std::uint32_t>(v)));
      if (a.kind == ArgKind::ProcSym) v = static_cast<V>(original_id(0, static_cast<std::uint32_t>(v)));
    }
  });
  if (out.actor.kind == Actor::Kind::Kthread) out.actor.index = original_id(0, out.actor.index);
  return out;
}

PathStep Search::original_step(std::size_t depth) const {
  PathStep s = levels_[depth].step;
  if (depth > converted_) s.op = original(s.op);
  return s;
}

// The objects some operation not yet done names (its handles, its kthread actor, curlwp's answer).
// Items placed below the floor stay done, so each symbol's list is walked once over the whole search.
Pins Search::pins() {
  if (!sym_indexed_) {
    sym_indexed_ = true;
    for (int k = 0; k < 2; ++k) sym_items_[k].resize(p_.symbols.size(k == 0 ? Binding::Kind::Lwp : Binding::Kind::Proc));
    for (std::uint32_t i = 0; i < h_.ops.size(); ++i) {
      const Item& it = p_.items[i];
      std::size_t a = 0;
      for_each_arg(h_.ops[i].op.body, [&](const ArgTraits& t, const auto&) {
        const std::int32_t s = it.arg_syms[a++];
        if (s >= 0) sym_items_[t.kind == ArgKind::LwpSym ? 0 : 1][static_cast<std::size_t>(s)].push_back(i);
      });
      if (it.actor_sym >= 0) sym_items_[1][static_cast<std::size_t>(it.actor_sym)].push_back(i);
      if (it.result_lwp_sym >= 0) sym_items_[0][static_cast<std::size_t>(it.result_lwp_sym)].push_back(i);
    }
    for (int k = 0; k < 2; ++k) {
      sym_done_[k].assign(sym_items_[k].size(), 0);
      for (std::size_t s = 0; s < sym_items_[k].size(); ++s)
        if (!sym_items_[k][s].empty()) sym_live_[k].push_back(static_cast<std::int32_t>(s));
    }
  }
  Pins pins;
  for (int k = 0; k < 2; ++k) {
    const Binding::Kind kind = k == 0 ? Binding::Kind::Lwp : Binding::Kind::Proc;
    std::vector<std::int32_t>& live = sym_live_[k];
    for (std::size_t j = 0; j < live.size();) {
      const auto s = static_cast<std::size_t>(live[j]);
      const std::vector<std::uint32_t>& items = sym_items_[k][s];
      std::uint32_t& done = sym_done_[k][s];
      while (done < items.size() && status_[items[done]] == Status::Done) ++done;
      if (done == items.size()) {  // no operation to come names it
        live[j] = live.back();
        live.pop_back();
        continue;
      }
      const std::uint32_t id = p_.symbols.id(kind, live[j]);
      if (id != Symbols::kUnbound && id != Symbols::kNeverIssued) (k == 0 ? pins.lwps : pins.procs).push_back(id);
      ++j;
    }
  }
  return pins;
}

void Search::compact_floor() {
  // The steps up to the floor are never replayed again: name their objects as the uncompacted
  // model does while the names still mean what they meant.
  for (std::size_t d = converted_ + 1; d <= floor_; ++d) levels_[d].step.op = original(levels_[d].step.op);
  converted_ = floor_;
  Level& l = levels_[floor_];
  State s = l.state->state();
  const Renaming r = compact(s, pins());
  if (!r.changed()) return;
  ++res_.stats.compactions;
  res_.stats.compacted += r.dropped();

  const std::vector<std::uint32_t>* by_kind[5] = {&r.procs, &r.lwps, &r.fdtables, &r.descs, &r.files};
  for (int k = 0; k < 5; ++k) {
    const std::vector<std::uint32_t>& to = *by_kind[k];
    std::vector<std::uint64_t> keys;
    for (std::size_t old = 0; old < to.size(); ++old)
      if (to[old] != kDropped) keys.push_back(keys_[k][old]);
    keys_[k] = std::move(keys);
  }
  for (int k = 0; k < 2; ++k) {
    const std::vector<std::uint32_t>& to = *by_kind[k];
    std::vector<std::uint32_t> survivors;
    for (std::uint32_t old = 0; old < to.size(); ++old)
      if (to[old] != kDropped) survivors.push_back(original_id(k, old));
    dropped_[k] = static_cast<std::uint32_t>(to.size() + dropped_[k] - survivors.size());
    survivors_[k] = std::move(survivors);
  }
  auto rename = [](const std::vector<std::uint32_t>& to) {
    return [&to](std::uint32_t id) {
      if (id >= to.size()) return id;
      return to[id] == kDropped ? Symbols::kNeverIssued : to[id];
    };
  };
  p_.symbols.rename(Binding::Kind::Lwp, rename(r.lwps));
  p_.symbols.rename(Binding::Kind::Proc, rename(r.procs));
  for (auto* reqs : {&requested_, &erased_})
    for (Requested& q : *reqs)
      if (q.actor.kind == Actor::Kind::Kthread) q.actor.index = rename(r.procs)(q.actor.index);

  l.state = std::make_shared<const Model>(Model::from_state(std::move(s)));
  l.objects = objects_hash(l.state->state(), id_keys());
  l.hash = hash_state(l.state->state(), l.objects, id_keys(), false);
}

}  // namespace lockstep::checker::lin::detail
