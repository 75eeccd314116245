// History symbols -> model ids. A symbol of an object of `before` names it for good; a symbol that
// an operation creates is bound when the search places that operation (to the id the model gave
// the new object, which depends on the order) and unbound when the search backtracks over it; any
// other symbol is a handle the kernel never issued and maps to an id no state contains. (The cache
// key needs no bindings of its own: the search keys every object by the placement that created it,
// which is what a created symbol names; search.hpp, id_keys.)
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "checker/trace.hpp"
#include "model/ids.hpp"
#include "model/op.hpp"

namespace lockstep::checker::lin::detail {

class Symbols {
 public:
  using Kind = Binding::Kind;
  static constexpr std::uint32_t kUnbound = 0xffffffffu;
  // Never issued: at or past every vector of a state, and distinct from NULL (kNoLwp) and kNoProc.
  static constexpr std::uint32_t kNeverIssued = 0xfffffffeu;

  Symbols(std::size_t lwps_before, std::size_t procs_before) : before_{lwps_before, procs_before} {}

  // The internal index of a history symbol (registering it on first sight). `created`: the symbol is
  // one an operation creates (unbound until placed); the search interns every created symbol before
  // any reference, so a symbol's first sight decides what it is.
  std::int32_t intern(Kind k, std::uint32_t symbol, bool created = false);

  std::uint32_t id(Kind k, std::int32_t index) const { return ids_[slot(k)][static_cast<std::size_t>(index)]; }
  std::uint32_t symbol(Kind k, std::int32_t index) const { return symbols_[slot(k)][static_cast<std::size_t>(index)]; }
  std::size_t size(Kind k) const { return ids_[slot(k)].size(); }
  bool created(Kind k, std::int32_t index) const { return created_[slot(k)][static_cast<std::size_t>(index)]; }

  void bind(Kind k, std::int32_t index, std::uint32_t model_id);
  void unbind(Kind k, std::int32_t index);
  // Every bound id of kind k becomes to(id) (the search compacted its state; search.hpp).
  template <class F>
  void rename(Kind k, F&& to) {
    for (std::uint32_t& id : ids_[slot(k)])
      if (id != kUnbound && id != kNeverIssued) id = to(id);
  }


 private:
  static std::size_t slot(Kind k) { return k == Kind::Lwp ? 0 : 1; }

  std::size_t before_[2];
  std::unordered_map<std::uint32_t, std::int32_t> index_[2];
  std::vector<std::uint32_t> symbols_[2], ids_[2];
  std::vector<bool> created_[2];
};

}  // namespace lockstep::checker::lin::detail
