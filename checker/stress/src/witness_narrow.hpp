// A violating history's operations before the judge's last commit, narrowed to the order it
// committed to (shrink_witness's first step). A stress history of minutes has thousands of overlapping
// operations before its failure; every order that explains them up to a committed observation reaches
// the same state (lin_judge.hpp, Judgement::committed), so the failure after it does not depend on
// which one the judge kept. Narrowing each of them to a small interval at its place in that order
// makes the prefix sequential: the judge of a candidate then walks it instead of searching it, and
// delta debugging can drop what the failure does not need from thousands of operations.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "checker/lin_judge.hpp"

namespace lockstep::checker::stress {

struct NarrowedHistory {
  lin::History history;                // the same operations and observations, in the same order
  std::vector<std::size_t> narrowed;   // the operations whose intervals were narrowed
  std::size_t until = 0;               // the committed observation's instant: they all lie before it
};

// The objects an operation names (its arguments, a kthread actor, curlwp's answer) as history
// symbols: (true, a process symbol) or (false, an lwp symbol).
std::vector<std::pair<bool, std::uint32_t>> named_objects(const lin::Operation& o);

// nullopt when `j` committed to nothing, or the committed prefix cannot be laid out inside the time
// before the committed observation. The result still has to be judged: it is a witness only if it
// fails as `h` did.
std::optional<NarrowedHistory> narrow_to_commit(const lin::History& h, const lin::Judgement& j);

}  // namespace lockstep::checker::stress
