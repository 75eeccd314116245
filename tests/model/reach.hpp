// What random programs reach, measured step by step: the op kinds that reached the kernel, the
// FATAL ids, the SPEC rule:label pairs (the checker's Coverage, over outcomes and completions) and
// the interesting situations (situations.hpp). The reach test asserts on it; a RapidCheck property
// can classify by it.
#pragma once
#include <array>
#include <cstdio>
#include <limits>
#include <type_traits>
#include <map>
#include <set>
#include <string>

#include "checker/coverage.hpp"
#include "model/invariants.hpp"
#include "model/model.hpp"
#include "model/op_traits.hpp"
#include "situations.hpp"

namespace lockstep::model::testing {

struct Reach {
  std::array<int, kOpKindCount> kinds_run{};  // steps that reached the kernel, per op kind
  std::map<Fatal, int> fatals;                // steps that died of each FATAL
  checker::Coverage coverage;                 // rule:label over outcomes and completions
  std::array<int, static_cast<std::size_t>(Situation::Count)> situations{};  // programs reaching each
  int programs = 0;
  int steps = 0;
  int dead_steps = 0;
  int not_runnable_steps = 0;
  int violations = 0;
  // Shapes of the steps themselves (not outcomes): what misuse a generator makes.
  std::map<std::string, int> shapes;

  // One program's steps go through a Program object, so that situations count once per program.
  class Program {
   public:
    explicit Program(Reach& r) : r_(r) { ++r_.programs; }
    ~Program() {
      for (Situation s : seen_) ++r_.situations[static_cast<std::size_t>(s)];
    }
    void step(const State& before, const Op& op, const StepResult& res, const State& after, bool judge = true,
              const Choice& choice = {}) {
      ++r_.steps;
      const Outcome& o = res.outcome;
      shape(before, op, choice, o);
      if (o.kind == OutcomeKind::Dead) ++r_.dead_steps;
      if (o.kind == OutcomeKind::NotRunnable) ++r_.not_runnable_steps;
      if (o.kind == OutcomeKind::Returned || o.kind == OutcomeKind::Blocked || o.kind == OutcomeKind::Fatal)
        ++r_.kinds_run[op.body.index()];
      if (o.kind == OutcomeKind::Fatal) ++r_.fatals[o.fatal];
      r_.coverage.count(o);
      for (const Completion& c : res.completions) r_.coverage.count(c.outcome);
      for (Situation s : tracker_.observe(before, op, res, after)) seen_.insert(s);
      if (judge) r_.violations += static_cast<int>(check_state(after).size() + check_step(before, op, res, after).size());
    }

   private:
    void shape(const State& before, const Op& op, const Choice& choice, const Outcome& o) {
      auto& sh = r_.shapes;
      if (o.kind == OutcomeKind::Dead) return;
      if (o.kind == OutcomeKind::NotRunnable) ++sh[choice.pid ? "pid choice refused or actor not runnable" : "actor not runnable"];
      if (choice.pid && o.returned() && o.ret == 0) ++sh["pid choice bound"];
      if ((traits(op.body).actors & actor_bit(op.actor.kind)) == 0) ++sh["actor of the wrong kind"];
      if (op.actor.kind == Actor::Kind::Host && op.actor.index >= before.hosts.size()) ++sh["host index out of range"];
      for_each_arg(op.body, [&](const ArgTraits& a, const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string>) {
          if (v.empty()) ++sh["empty string argument"];
          if (v.size() > 20) ++sh["long string argument"];
        } else if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
          const auto x = static_cast<std::int64_t>(v);
          if (std::is_signed_v<V> && x < 0) ++sh["negative " + std::string(a.name)];
          if (x >= std::numeric_limits<int>::max() || (std::is_unsigned_v<V> && x > 100000))
            ++sh["huge " + std::string(a.name)];
        }
      });
    }

    Reach& r_;
    SituationTracker tracker_;
    std::set<Situation> seen_;
  };

  // The reached sets, one item a line, sorted: what a before/after comparison diffs.
  std::string sets() const {
    std::string out;
    for (std::size_t k = 0; k < kOpKindCount; ++k)
      if (kinds_run[k] > 0) out += "op " + std::string(op_name(k)) + "\n";
    for (const auto& [f, n] : fatals) out += "fatal " + std::string(fatal_name(f)) + "\n";
    for (const std::string& l : coverage.reached_labels()) out += "label " + l + "\n";
    for (std::size_t s = 0; s < kSituationNames.size(); ++s)
      if (situations[s] > 0) out += "situation " + std::string(kSituationNames[s]) + "\n";
    for (const auto& [what, n] : shapes) out += "shape " + what + "\n";
    return out;
  }
};

}  // namespace lockstep::model::testing
