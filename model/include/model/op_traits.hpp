// The op-traits table: one row per op kind, everything about an op that code outside the model's
// semantics needs to know -- its C name, who may perform it, its arguments (name, kind, how a listing
// shows the value, member), what it returns, what it creates, whether it can block. Trace readers and
// writers, renamers, renderers, the generator and the runner iterate this table instead of
// re-deriving it.
//
// Adding an op touches exactly these places (and nothing else needs a case for it):
//   1. model/include/model/op.hpp       its struct, appended to OpBody;
//   2. this file                        its row in kOpTraits (in OpBody's order) and its OpMembers<T>;
//                                       a missing row or OpMembers fails to compile (see the
//                                       static_asserts below; tests/model/test_op_traits.cpp shows how);
//   3. model/src/model.cpp              its semantics (Model::apply), and model/src/names.cpp's args()
//                                       if model::to_string should show its arguments;
//   4. impl/ and checker/run/src/impl_commands.cpp   the implementation and the op -> impl call;
//   5. checker/verify/src/verify_encode.cpp          its Z3 encoding;
//   6. checker/gen/src/op_chooser.cpp   its weight in kHostWeights (a host op without one fails to
//                                       compile) and, if an argument needs a value domain of its own
//                                       (a new ArgKind or argument name), the chooser's value for it.
// Trace reading/writing (checker/trace), the renderers (checker/show) and the op-kind parts of the
// runner take the op from this table. Per-op code that remains elsewhere in checker/ (grep for
// std::visit, holds_alternative<op::, get_if<op::), each a judgement about an op's meaning rather
// than its schema: verify/src/verify_checks.cpp (S-rule checks on Resume, Suspend, KthreadExit,
// Tick), verify/src/happens_before.cpp (Newlwp's edge), run/src/outcome_compare.cpp (which S-rule
// judges a wait: Suspend/KprocShutdown, WaitExit, SuspendCheck), trace/src/trace_write.cpp (Curlwp's
// lwp result, = Returns::Lwp); and model/src/names.cpp's args() renders per op.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "model/op.hpp"

namespace lockstep::model {

// Who may perform the op (a bit set over Actor::Kind).
enum ActorMask : std::uint8_t { kByHost = 1, kByKthread = 2, kByClock = 4, kByReaper = 8 };
constexpr std::uint8_t actor_bit(Actor::Kind k) { return static_cast<std::uint8_t>(1u << static_cast<unsigned>(k)); }

// What an argument is: a plain value, or a symbol naming a kernel object.
enum class ArgKind : std::uint8_t { Int, Int64, Bool, String, Pid, Uid, LwpSym, ProcSym };

// How the op's C call returns (SPEC §3: rump_pub_lwproc_* return the errno, rump_sys_* -1 and errno).
enum class Returns : std::uint8_t {
  Nothing,  // void (or a call that never returns, K2)
  Errno,    // 0 or an errno
  Syscall,  // a value >= 0, or -1 with errno
  Value,    // a pid or a uid
  Lwp,      // an lwp handle or NULL (L5)
  Stat,     // 0 with st_size, or -1 with errno (fstat)
};

// What a successful call creates, which the run binds to new symbols.
enum class Creates : std::uint8_t { Nothing, Lwp, ProcessAndLwp, Kthread };

// How a listing shows an argument's value where the C API has names for it (model::to_string and
// `lockstep show` use the same names); Plain is the number, string or symbol itself.
enum class ArgShow : std::uint8_t { Plain, RforkFlags, KthreadFlags, OpenCreate };

struct ArgTraits {
  std::string_view name;  // the trace's key (traces/FORMAT.md)
  ArgKind kind;
  ArgShow show = ArgShow::Plain;
};

struct OpTraits {
  std::string_view name;  // the C name, also the trace's "op"
  std::uint8_t actors;    // ActorMask
  std::array<ArgTraits, 2> args;
  std::size_t nargs;
  Returns returns;
  Creates creates;
  bool can_block;         // the caller may be BLOCKED (SPEC §5)
};

namespace op_traits_detail {
constexpr ArgTraits none{"", ArgKind::Int};
constexpr OpTraits row(std::string_view name, std::uint8_t actors, Returns r, Creates c = Creates::Nothing, bool block = false) {
  return OpTraits{name, actors, {none, none}, 0, r, c, block};
}
constexpr OpTraits row(std::string_view name, std::uint8_t actors, ArgTraits a, Returns r, Creates c = Creates::Nothing,
                       bool block = false) {
  return OpTraits{name, actors, {a, none}, 1, r, c, block};
}
constexpr OpTraits row(std::string_view name, std::uint8_t actors, ArgTraits a, ArgTraits b, Returns r,
                       Creates c = Creates::Nothing, bool block = false) {
  return OpTraits{name, actors, {a, b}, 2, r, c, block};
}
}  // namespace op_traits_detail

// The table, in OpBody's variant order.
inline constexpr std::array<OpTraits, kOpKindCount> kOpTraits = [] {
  using namespace op_traits_detail;
  using K = ArgKind;
  using R = Returns;
  using C = Creates;
  return std::array<OpTraits, kOpKindCount>{{
      row("rump_init", kByHost, R::Nothing),                                                      // Init
      row("rump_pub_lwproc_rfork", kByHost, {"flags", K::Int, ArgShow::RforkFlags}, R::Errno, C::ProcessAndLwp),  // Rfork
      row("rump_pub_lwproc_newlwp", kByHost, {"pid", K::Pid}, R::Errno, C::Lwp),                   // Newlwp
      row("rump_pub_lwproc_switch", kByHost, {"lwp", K::LwpSym}, R::Nothing),                      // Switch
      row("rump_pub_lwproc_releaselwp", kByHost, R::Nothing),                                      // Release
      row("rump_pub_lwproc_curlwp", kByHost, R::Lwp),                                              // Curlwp
      row("rump_sys_getpid", kByHost, R::Value),                                                   // Getpid
      row("rump_sys_getppid", kByHost, R::Value),                                                  // Getppid
      row("rump_sys_open", kByHost, {"path", K::String}, {"create", K::Bool, ArgShow::OpenCreate}, R::Syscall),  // Open
      row("rump_sys_write", kByHost, {"fd", K::Int}, {"n", K::Int64}, R::Syscall),                 // Write
      row("rump_sys_fstat", kByHost, {"fd", K::Int}, R::Stat),                                     // Fstat
      row("rump_sys_close", kByHost, {"fd", K::Int}, R::Syscall),                                  // Close
      row("rump_sys_dup", kByHost, {"fd", K::Int}, R::Syscall),                                    // Dup
      row("rump_sys_getuid", kByHost, R::Value),                                                   // Getuid
      row("rump_sys_setuid", kByHost, {"uid", K::Uid}, R::Syscall),                                // Setuid
      row("kthread_create", kByHost, {"flags", K::Int, ArgShow::KthreadFlags}, {"name", K::String}, R::Errno, C::Kthread),  // KthreadCreate
      row("kthread_exit", kByKthread, {"code", K::Int}, R::Nothing),                               // KthreadExit
      row("kthread_suspend", kByHost, {"proc", K::ProcSym}, {"timo", K::Int}, R::Errno, C::Nothing, true),  // Suspend
      row("kthread_resume", kByHost, {"proc", K::ProcSym}, R::Errno),                              // Resume
      row("kthread_suspend_check", kByHost | kByKthread, {"proc", K::ProcSym}, R::Nothing, C::Nothing, true),  // SuspendCheck
      row("work", kByKthread, R::Nothing),                                                         // Work
      row("kproc_start", kByHost, {"name", K::String}, R::Nothing, C::Kthread),                    // KprocStart
      row("kproc_shutdown", kByHost, {"proc", K::ProcSym}, R::Nothing, C::Nothing, true),          // KprocShutdown
      row("kthread_wait_exit", kByHost, {"proc", K::ProcSym}, {"timo", K::Int}, R::Errno, C::Nothing, true),  // WaitExit
      row("reap", kByReaper, {"proc", K::ProcSym}, R::Errno),                                      // Reap
      row("tick", kByClock, {"n", K::Int64}, R::Nothing),                                          // Tick
  }};
}();

// The members behind each row's arguments, in the row's order: the one place that ties a row's
// argument names to the op struct's fields.
template <class T>
struct OpMembers;
template <> struct OpMembers<op::Init> { static constexpr auto get = std::tuple{}; };
template <> struct OpMembers<op::Rfork> { static constexpr auto get = std::tuple{&op::Rfork::flags}; };
template <> struct OpMembers<op::Newlwp> { static constexpr auto get = std::tuple{&op::Newlwp::pid}; };
template <> struct OpMembers<op::Switch> { static constexpr auto get = std::tuple{&op::Switch::lwp}; };
template <> struct OpMembers<op::Release> { static constexpr auto get = std::tuple{}; };
template <> struct OpMembers<op::Curlwp> { static constexpr auto get = std::tuple{}; };
template <> struct OpMembers<op::Getpid> { static constexpr auto get = std::tuple{}; };
template <> struct OpMembers<op::Getppid> { static constexpr auto get = std::tuple{}; };
template <> struct OpMembers<op::Open> { static constexpr auto get = std::tuple{&op::Open::path, &op::Open::create}; };
template <> struct OpMembers<op::Write> { static constexpr auto get = std::tuple{&op::Write::fd, &op::Write::n}; };
template <> struct OpMembers<op::Fstat> { static constexpr auto get = std::tuple{&op::Fstat::fd}; };
template <> struct OpMembers<op::Close> { static constexpr auto get = std::tuple{&op::Close::fd}; };
template <> struct OpMembers<op::Dup> { static constexpr auto get = std::tuple{&op::Dup::fd}; };
template <> struct OpMembers<op::Getuid> { static constexpr auto get = std::tuple{}; };
template <> struct OpMembers<op::Setuid> { static constexpr auto get = std::tuple{&op::Setuid::uid}; };
template <> struct OpMembers<op::KthreadCreate> { static constexpr auto get = std::tuple{&op::KthreadCreate::flags, &op::KthreadCreate::name}; };
template <> struct OpMembers<op::KthreadExit> { static constexpr auto get = std::tuple{&op::KthreadExit::code}; };
template <> struct OpMembers<op::Suspend> { static constexpr auto get = std::tuple{&op::Suspend::proc, &op::Suspend::timo}; };
template <> struct OpMembers<op::Resume> { static constexpr auto get = std::tuple{&op::Resume::proc}; };
template <> struct OpMembers<op::SuspendCheck> { static constexpr auto get = std::tuple{&op::SuspendCheck::proc}; };
template <> struct OpMembers<op::Work> { static constexpr auto get = std::tuple{}; };
template <> struct OpMembers<op::KprocStart> { static constexpr auto get = std::tuple{&op::KprocStart::name}; };
template <> struct OpMembers<op::KprocShutdown> { static constexpr auto get = std::tuple{&op::KprocShutdown::proc}; };
template <> struct OpMembers<op::WaitExit> { static constexpr auto get = std::tuple{&op::WaitExit::proc, &op::WaitExit::timo}; };
template <> struct OpMembers<op::Reap> { static constexpr auto get = std::tuple{&op::Reap::proc}; };
template <> struct OpMembers<op::Tick> { static constexpr auto get = std::tuple{&op::Tick::n}; };

template <class T>
constexpr std::size_t op_index() {
  constexpr auto find = []<std::size_t... I>(std::index_sequence<I...>) {
    std::size_t at = kOpKindCount;
    ((std::is_same_v<T, std::variant_alternative_t<I, OpBody>> ? (at = I, true) : false) || ...);
    return at;
  };
  return find(std::make_index_sequence<kOpKindCount>{});
}

template <class T>
constexpr const OpTraits& traits_of() {
  return kOpTraits[op_index<T>()];
}
inline const OpTraits& traits(const OpBody& b) { return kOpTraits[b.index()]; }

// The timeout, in ticks, of the wait an op may begin (0: none, it waits for its event alone): K3's
// and K8's `timo`, K7's 60 * hz; nullopt for an op that begins no timed wait.
inline std::optional<Tick> wait_timeout(const OpBody& b) {
  if (const auto* s = std::get_if<op::Suspend>(&b)) return s->timo;
  if (const auto* w = std::get_if<op::WaitExit>(&b)) return w->timo;
  if (std::holds_alternative<op::KprocShutdown>(b)) return kShutdownTicks;
  return std::nullopt;
}

// Every row has as many arguments as its op has members, and every member's type fits its kind.
namespace op_traits_detail {
template <ArgKind K, class M>
constexpr bool fits() {
  if constexpr (K == ArgKind::String) return std::is_same_v<M, std::string>;
  else if constexpr (K == ArgKind::Bool) return std::is_same_v<M, bool>;
  else if constexpr (K == ArgKind::Int64) return std::is_same_v<M, std::int64_t>;
  else if constexpr (K == ArgKind::Pid) return std::is_same_v<M, Pid>;
  else if constexpr (K == ArgKind::Uid) return std::is_same_v<M, Uid>;
  else if constexpr (K == ArgKind::LwpSym) return std::is_same_v<M, LwpId>;
  else if constexpr (K == ArgKind::ProcSym) return std::is_same_v<M, ProcId>;
  else return std::is_same_v<M, int>;
}
template <class T, std::size_t... I>
constexpr bool members_fit(std::index_sequence<I...>) {
  constexpr auto& m = OpMembers<T>::get;
  constexpr const OpTraits& t = traits_of<T>();
  return std::tuple_size_v<std::decay_t<decltype(m)>> == t.nargs &&
         (fits<t.args[I].kind, std::remove_cvref_t<decltype(std::declval<T>().*std::get<I>(m))>>() && ...);
}
template <std::size_t... I>
constexpr bool all_rows_fit(std::index_sequence<I...>) {
  return (members_fit<std::variant_alternative_t<I, OpBody>>(
              std::make_index_sequence<std::tuple_size_v<std::decay_t<decltype(OpMembers<std::variant_alternative_t<I, OpBody>>::get)>>>{}) &&
          ...);
}
}  // namespace op_traits_detail
// A new op without a row leaves its row empty (std::array value-initialises it).
static_assert([] {
  for (const OpTraits& t : kOpTraits)
    if (t.name.empty() || t.actors == 0) return false;
  return true;
}(), "an op kind has no row in kOpTraits");
static_assert(op_traits_detail::all_rows_fit(std::make_index_sequence<kOpKindCount>{}),
              "an op's row in kOpTraits does not match its struct's members (count, order or type)");

namespace op_traits_detail {
// The one walk over an op's arguments, for a const or a mutable body (`auto&` keeps the constness).
template <class Body, class F>
void visit_args(Body& body, F&& f) {
  std::visit(
      [&](auto& o) {
        using T = std::decay_t<decltype(o)>;
        const OpTraits& t = traits_of<T>();
        std::apply([&](auto... member) {
          std::size_t i = 0;
          (f(t.args[i++], o.*member), ...);
        }, OpMembers<T>::get);
      },
      body);
}
}  // namespace op_traits_detail

// Calls f(const ArgTraits&, const Member&) for each argument of `body`, in the row's order.
template <class F>
void for_each_arg(const OpBody& body, F&& f) {
  op_traits_detail::visit_args(body, std::forward<F>(f));
}

// Calls f(const ArgTraits&, Member&) for each argument of `body`, in the row's order: a generator
// fills an op's arguments by their kind without naming the op.
template <class F>
void for_each_arg_mut(OpBody& body, F&& f) {
  op_traits_detail::visit_args(body, std::forward<F>(f));
}

// A default-valued op of kind `kind` (a variant index < kOpKindCount).
inline OpBody default_op(std::size_t kind) {
  constexpr auto makers = []<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<OpBody (*)(), sizeof...(I)>{+[]() -> OpBody { return OpBody{std::in_place_index<I>}; }...};
  }(std::make_index_sequence<kOpKindCount>{});
  return makers[kind]();
}

}  // namespace lockstep::model
