// The symbol namespace of a trace (traces/FORMAT.md, "Symbols"): lwp#0, proc#0 and proc#1 exist
// from the start; every other symbol is issued once, in order (lwp#1, lwp#2, ...; proc#2, proc#3,
// ...), by the event that binds it. The reader, the writer and the renamer count symbols with this,
// and find the symbols an op names by its row of the op-traits table.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>

#include "checker/trace.hpp"
#include "model/op_traits.hpp"

namespace lockstep::checker {

class SymbolSpace {
 public:
  static constexpr std::size_t index(Binding::Kind k) { return k == Binding::Kind::Lwp ? 0 : 1; }
  static constexpr Binding::Kind kind(std::size_t i) { return i == 0 ? Binding::Kind::Lwp : Binding::Kind::Proc; }
  // The first symbol an event binds (the ones below exist from the start).
  static constexpr std::uint32_t first(Binding::Kind k) { return k == Binding::Kind::Lwp ? 1 : 2; }
  static constexpr std::string_view prefix(Binding::Kind k) { return k == Binding::Kind::Lwp ? "lwp#" : "proc#"; }

  // The next symbol not issued yet.
  std::uint32_t next(Binding::Kind k) const { return next_[index(k)]; }
  // Whether `id` names an object issued so far (those that exist from the start included).
  bool issued(Binding::Kind k, std::uint32_t id) const { return id < next(k); }
  // Issues the next symbol of kind k and returns it.
  std::uint32_t issue(Binding::Kind k) { return next_[index(k)]++; }
  // A binding seen: every symbol of its kind up to its own counts as issued.
  void note(const Binding& b) { next_[index(b.kind)] = std::max(next_[index(b.kind)], b.id + 1); }

 private:
  std::array<std::uint32_t, 2> next_{first(Binding::Kind::Lwp), first(Binding::Kind::Proc)};
};

// Calls f(Binding::Kind, id&) for each handle an op names in its arguments (by the op-traits table:
// its LwpSym and ProcSym arguments; switch(NULL) names none). `Body` is OpBody or const OpBody.
template <class Body, class F>
void for_each_symbol_arg(Body& body, F&& f) {
  std::visit(
      [&](auto& o) {
        using T = std::decay_t<decltype(o)>;
        const model::OpTraits& t = model::traits_of<T>();
        std::apply(
            [&](auto... member) {
              [[maybe_unused]] std::size_t i = 0;  // unused by an op without arguments
              [[maybe_unused]] auto one = [&](const model::ArgTraits& arg, auto& value) {
                if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::uint32_t>) {
                  if (arg.kind == model::ArgKind::LwpSym && value != model::kNoLwp) f(Binding::Kind::Lwp, value);
                  else if (arg.kind == model::ArgKind::ProcSym) f(Binding::Kind::Proc, value);
                }
              };
              (one(t.args[i++], o.*member), ...);
            },
            model::OpMembers<T>::get);
      },
      body);
}

}  // namespace lockstep::checker
