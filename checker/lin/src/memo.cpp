#include "memo.hpp"

namespace lockstep::checker::lin::detail {

namespace {

bool same(const ExactKey& a, const ExactKey& b) {
  return a.console == b.console && a.pending == b.pending && a.placed == b.placed && a.done == b.done && a.keys == b.keys && *a.state == *b.state;
}

}  // namespace

bool Memo::insert(const Fingerprint& fp) {
  const bool fresh = seen_.insert(fp).second;
  if (fresh) bytes_ += sizeof(Fingerprint) + 2 * sizeof(void*);  // a node of the hash set, roughly
  return fresh;
}

bool Memo::insert(const Fingerprint& fp, ExactKey&& k) {
  auto [b, e] = keys_.equal_range(fp.lo);
  for (auto it = b; it != e; ++it)
    if (same(it->second, k)) return false;
  // The states are shared with the search's stack; counted once here, roughly.
  bytes_ += sizeof(ExactKey) + 8 * (k.placed.size() + k.done.size() + k.keys.size()) + sizeof(model::State) +
            k.state->procs.size() * sizeof(model::Process) + k.state->lwps.size() * sizeof(model::Lwp);
  keys_.emplace(fp.lo, std::move(k));
  ++exact_size_;
  return true;
}

}  // namespace lockstep::checker::lin::detail
