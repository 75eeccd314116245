// Lock assertions, NetBSD style (`KASSERT(mutex_owned(&p->p_lock))`).
//
// Rule (impl/DESIGN.md): every `*_locked` function of impl/ begins by asserting the lock(s) its
// comment says its caller holds. A failed assertion is a bug in the kernel, not a misuse by a caller:
// it prints which lock, where, and aborts (no panic hook, no exception).
//
//   LOCKSTEP_ASSERT_HELD(m)             the calling thread owns sync::Mutex `m` (sync::Mutex::held()).
//   LOCKSTEP_ASSERT_HELD_OR(m, exempt)  ... or `exempt` holds: a documented case where the lock is not
//                                       needed (e.g. the object is not yet visible to other threads).
//                                       `exempt` is evaluated only when `m` is not held.
//   LOCKSTEP_ASSERT_GUARDS(lk, m)       std::unique_lock `lk` owns std::mutex `m` (for code under a
//                                       plain std::mutex, which records no owner: the controlled
//                                       backend's scheduler lock).
//
// The checks are compiled in when LOCKSTEP_LOCK_ASSERTS is defined: impl/CMakeLists.txt defines it for
// in-tree builds whose CMAKE_BUILD_TYPE is Debug or whose LOCKSTEP_SANITIZE is set (the asan and tsan
// presets build with -DNDEBUG, so assert() alone would be off there). Otherwise each macro compiles to
// nothing: its operands are type-checked (in an unevaluated sizeof) but never evaluated.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace lockstep::impl {

#if defined(LOCKSTEP_LOCK_ASSERTS)
inline constexpr bool kLockAssertsEnabled = true;
#else
inline constexpr bool kLockAssertsEnabled = false;
#endif

namespace detail {

// Prints the failed lock assertion on stderr and aborts.
[[noreturn, gnu::cold, gnu::noinline]] inline void lock_assert_failed(const char* lock_expr, const char* lock_name,
                                                                     const char* exempt_expr, const char* file,
                                                                     int line, const char* func) noexcept {
  std::fprintf(stderr, "lockstep: lock assertion failed: %s (\"%s\") is not held by the calling thread%s%s%s at %s:%d in %s\n",
               lock_expr, lock_name, exempt_expr ? " and not (" : "", exempt_expr ? exempt_expr : "",
               exempt_expr ? ")" : "", file, line, func);
  std::fflush(stderr);
  std::abort();
}

}  // namespace detail
}  // namespace lockstep::impl

#if defined(LOCKSTEP_LOCK_ASSERTS)

#define LOCKSTEP_ASSERT_HELD(m)                                                                          \
  ((m).held() ? static_cast<void>(0)                                                                    \
              : ::lockstep::impl::detail::lock_assert_failed(#m, (m).name().c_str(), nullptr, __FILE__, \
                                                             __LINE__, __func__))

#define LOCKSTEP_ASSERT_HELD_OR(m, exempt)                                                                \
  (((m).held() || (exempt)) ? static_cast<void>(0)                                                       \
                            : ::lockstep::impl::detail::lock_assert_failed(#m, (m).name().c_str(), #exempt, \
                                                                           __FILE__, __LINE__, __func__))

#define LOCKSTEP_ASSERT_GUARDS(lk, m)                                                                  \
  (((lk).owns_lock() && (lk).mutex() == &(m))                                                         \
       ? static_cast<void>(0)                                                                         \
       : ::lockstep::impl::detail::lock_assert_failed(#m, "std::mutex, through " #lk, nullptr, __FILE__, \
                                                      __LINE__, __func__))

#else

#define LOCKSTEP_ASSERT_HELD(m) static_cast<void>(sizeof((m).held()))
#define LOCKSTEP_ASSERT_HELD_OR(m, exempt) static_cast<void>(sizeof((m).held() || (exempt)))
#define LOCKSTEP_ASSERT_GUARDS(lk, m) static_cast<void>(sizeof((lk).owns_lock() && (lk).mutex() == &(m)))

#endif
