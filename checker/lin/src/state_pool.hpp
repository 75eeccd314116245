// Model states for the search, recycled. Each placement copies its level's state and applies one
// step; most placements fail at once, and the states of deep levels are dropped as the path grows.
// Allocating each copy afresh made malloc the search's main cost, so released states go back to a
// pool and the next copy is a copy-assignment into one of them, which reuses its vectors', strings'
// and maps' storage. The pool is the thread's, not the search's: a lockstep run judges every round
// with a new search, and a pool that died with each one allocated every copy of every round afresh.
#pragma once
#include <memory>
#include <vector>

#include "model/model.hpp"

namespace lockstep::checker::lin::detail {

class StatePool {
 public:
  StatePool() = default;
  StatePool(const StatePool&) = delete;
  StatePool& operator=(const StatePool&) = delete;

  // The calling thread's pool. A search takes its states from it and drops them all before it ends
  // (no state leaves a search), so they go back to the pool of the thread that took them.
  static StatePool& of_this_thread() {
    thread_local StatePool pool;
    return pool;
  }

  // A copy of `m`, returned to the pool when its last owner lets it go. The pool must outlive it.
  std::shared_ptr<model::Model> copy_of(const model::Model& m) { return copy_of(m.state()); }
  // A model that continues from `s`.
  std::shared_ptr<model::Model> copy_of(const model::State& s) {
    model::Model* p;
    if (free_.empty()) {
      p = new model::Model(model::Model::from_state(s));
    } else {
      p = free_.back().release();
      free_.pop_back();
      p->assign(s);
    }
    return std::shared_ptr<model::Model>(p, [this](model::Model* q) {
      if (free_.size() < kMaxFree) free_.emplace_back(q);
      else delete q;
    });
  }

 private:
  static constexpr std::size_t kMaxFree = 256;
  std::vector<std::unique_ptr<model::Model>> free_;
};

}  // namespace lockstep::checker::lin::detail
