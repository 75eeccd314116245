// The symbols' bindings on the impl side: which kernel handle each model id names (lwp#3 is the
// `struct lwp *` the impl returned when the model created lwp 3). A symbol never bound resolves to a
// handle the kernel never issues, so an op naming it still reaches the impl (L3-stale, K3 EINVAL).
#pragma once
#include <map>
#include <optional>
#include <vector>

#include "impl/kernel.hpp"
#include "model/ids.hpp"

namespace lockstep::checker {

class ImplSymbols {
 public:
  explicit ImplSymbols(impl::Kernel& k) : k_(&k), proc_of_{k.proc_handle(0), k.proc_handle(1)} {}

  ::lwp* lwp(model::LwpId l) const {
    if (l == model::kNoLwp) return nullptr;
    if (l < lwp_of_.size() && lwp_of_[l] != nullptr) return lwp_of_[l];
    return k_->never_issued_lwp();
  }
  ::proc* proc(model::ProcId p) const {
    if (p < proc_of_.size() && proc_of_[p] != nullptr) return proc_of_[p];
    return k_->never_issued_proc();
  }
  // The symbol a handle is bound to; nullopt for a handle no symbol names.
  std::optional<model::LwpId> lwp_symbol(::lwp* l) const {
    auto it = lwp_ids_.find(l);
    if (it == lwp_ids_.end()) return std::nullopt;
    return it->second;
  }

  // Makes room for every symbol the model has issued so far (unbound until bound).
  void reserve(std::size_t lwps, std::size_t procs) {
    lwp_of_.resize(lwps, nullptr);
    proc_of_.resize(procs, nullptr);
  }
  void bind_lwp(model::LwpId l, ::lwp* h) {
    lwp_of_.at(l) = h;
    lwp_ids_[h] = l;
  }
  void bind_proc(model::ProcId p, ::proc* h) { proc_of_.at(p) = h; }

 private:
  impl::Kernel* k_;
  std::vector<::lwp*> lwp_of_;   // model LwpId -> impl handle
  std::map<::lwp*, model::LwpId> lwp_ids_;
  std::vector<::proc*> proc_of_; // model ProcId -> impl handle
};

}  // namespace lockstep::checker
