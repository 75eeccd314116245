// The op dispatch table (see impl_commands.hpp).
#include "checker/impl_commands.hpp"

#include <rump/rump_syscalls.h>

#include <stdexcept>

namespace lockstep::checker {

using namespace lockstep::model;

namespace {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

// Runs an impl call on a host thread; a panic is the FATAL outcome, any other exception an error.
template <class F>
Mailbox::Command guarded(F f) {
  return [f = std::move(f)]() -> ImplResult {
    ImplResult r;
    try {
      r = f();
    } catch (const impl::Panic& p) {
      r = ImplResult{};
      r.kind = ImplResult::Kind::Fatal;
      r.what = p.rule();
    } catch (const std::exception& e) {
      r = ImplResult{};
      r.kind = ImplResult::Kind::Error;
      r.what = e.what();
    } catch (...) {
      r = ImplResult{};
      r.kind = ImplResult::Kind::Error;
      r.what = "an exception of unknown type";
    }
    return r;
  };
}

ImplResult sys(long v) {
  ImplResult r;
  if (v < 0) {
    r.ret = -1;
    r.err = static_cast<int>(-v);
  } else {
    r.ret = v;
  }
  return r;
}

}  // namespace

ImplResult value(std::int64_t v) {
  ImplResult r;
  r.ret = v;
  return r;
}

OpHandles resolve(const Op& op, const ImplSymbols& sym) {
  return std::visit(overloaded{
                        [&](const op::Switch& o) { return OpHandles{sym.lwp(o.lwp), nullptr}; },
                        [&](const auto& o) {
                          if constexpr (requires { o.proc; }) return OpHandles{nullptr, sym.proc(o.proc)};
                          else return OpHandles{};
                        },
                    },
                    op.body);
}

Mailbox::Command host_command(impl::Kernel& k, impl::HostContext& h, const Op& op, const OpHandles& args,
                              const std::function<void()>& kthread_body, ::proc** newp) {
  return std::visit(
      overloaded{
          [&](const op::Init&) { return guarded([] { return value(0); }); },
          [&](const op::Rfork& o) {
            return guarded([&k, &h, f = o.flags] {
              ImplResult r = value(k.rfork(h, f));
              if (r.ret == 0) {
                r.new_pid = k.getpid(h);
                r.new_lwp = k.curlwp(h);
                r.new_proc = k.proc_handle(r.new_pid);
              }
              return r;
            });
          },
          [&](const op::Newlwp& o) {
            return guarded([&k, &h, pid = o.pid] {
              ImplResult r = value(k.newlwp(h, pid));
              if (r.ret == 0) r.new_lwp = k.curlwp(h);
              return r;
            });
          },
          [&](const op::Switch&) {
            return guarded([&k, &h, l = args.lwp] {
              k.switch_lwp(h, l);
              return value(0);
            });
          },
          [&](const op::Release&) { return guarded([&k, &h] { k.releaselwp(h); return value(0); }); },
          [&](const op::Curlwp&) {
            return guarded([&k, &h] {
              ImplResult r;
              r.lwp = k.curlwp(h);
              return r;
            });
          },
          [&](const op::Getpid&) { return guarded([&k, &h] { return value(k.getpid(h)); }); },
          [&](const op::Getppid&) { return guarded([&k, &h] { return value(k.getppid(h)); }); },
          [&](const op::Open& o) {
            return guarded([&k, &h, path = o.path, create = o.create] {
              return sys(k.open(h, path, create ? (RUMP_O_RDWR | RUMP_O_CREAT) : RUMP_O_RDWR));
            });
          },
          [&](const op::Write& o) {
            return guarded([&k, &h, fd = o.fd, n = o.n] { return sys(k.write(h, fd, static_cast<std::size_t>(n))); });
          },
          [&](const op::Fstat& o) {
            return guarded([&k, &h, fd = o.fd] {
              std::uint64_t size = 0;
              ImplResult r = sys(k.fstat(h, fd, &size));
              r.st_size = static_cast<std::int64_t>(size);
              return r;
            });
          },
          [&](const op::Close& o) { return guarded([&k, &h, fd = o.fd] { return sys(k.close(h, fd)); }); },
          [&](const op::Dup& o) { return guarded([&k, &h, fd = o.fd] { return sys(k.dup(h, fd)); }); },
          [&](const op::Getuid&) { return guarded([&k, &h] { return value(k.getuid(h)); }); },
          [&](const op::Setuid& o) { return guarded([&k, &h, uid = o.uid] { return sys(k.setuid(h, uid)); }); },
          [&](const op::KthreadCreate& o) {
            return guarded([&k, &h, body = kthread_body, flags = o.flags, name = o.name, newp] {
              ::proc* local = nullptr;
              ::proc** np = newp != nullptr ? newp : &local;
              ImplResult r = value(k.kthread_create(h, body, np, flags, 0, name));
              r.proc = *np;
              if (r.ret == 0) r.new_pid = k.proc_pid(*np);
              return r;
            });
          },
          [&](const op::KprocStart& o) {
            return guarded([&k, &h, body = kthread_body, name = o.name, newp] {
              ::proc* local = nullptr;
              ::proc** np = newp != nullptr ? newp : &local;
              k.kproc_start(h, body, name, np);
              ImplResult r = value(0);
              r.proc = *np;
              r.new_pid = k.proc_pid(*np);
              return r;
            });
          },
          [&](const op::Suspend& o) {
            return guarded([&k, &h, p = args.proc, t = o.timo] { return value(k.kthread_suspend(h, p, t)); });
          },
          [&](const op::Resume&) { return guarded([&k, &h, p = args.proc] { return value(k.kthread_resume(h, p)); }); },
          [&](const op::SuspendCheck&) {
            return guarded([&k, &h, p = args.proc] { k.kthread_suspend_check(h, p); return value(0); });
          },
          [&](const op::KprocShutdown&) {
            return guarded([&k, &h, p = args.proc] { k.kproc_shutdown(h, p, 0); return value(0); });
          },
          [&](const op::WaitExit& o) {
            return guarded([&k, &h, p = args.proc, t = o.timo] { return value(k.kthread_wait_exit(h, p, t)); });
          },
          [&](const op::Reap&) { return guarded([&k, &h, p = args.proc] { return value(k.kthread_reap(h, p)); }); },
          // Performed by other actors; a host never posts these.
          [&](const auto&) {
            return guarded([]() -> ImplResult { throw std::logic_error("op posted to the wrong actor"); });
          },
      },
      op.body);
}

// Runs on the kthread's own thread. kthread_exit never returns (it unwinds this body), so its
// result is posted first; only exceptions derived from std::exception are converted, so the
// exit's unwinding (and the kernel's shutdown unwinding) pass through.
Mailbox::Command kthread_command(impl::Kernel& k, Mailbox& box, const Op& op, const ImplSymbols& sym) {
  Mailbox* mbox = &box;
  auto self_host = []() -> impl::HostContext& { return impl::this_kthread()->host; };
  auto fatal = [](const impl::Panic& p) {
    ImplResult r;
    r.kind = ImplResult::Kind::Fatal;
    r.what = p.rule();
    return r;
  };
  auto error = [](const std::exception& e) {
    ImplResult r;
    r.kind = ImplResult::Kind::Error;
    r.what = e.what();
    return r;
  };
  if (const auto* chk = std::get_if<op::SuspendCheck>(&op.body)) {
    return [&k, self_host, fatal, error, p = sym.proc(chk->proc)]() -> ImplResult {
      try {
        k.kthread_suspend_check(self_host(), p);
      } catch (const impl::Panic& e) {
        return fatal(e);
      } catch (const std::exception& e) {
        return error(e);
      }
      return value(0);
    };
  }
  if (std::holds_alternative<op::Work>(op.body)) {
    return [&k, self_host, fatal, error]() -> ImplResult {
      try {
        k.kthread_progress(self_host());
      } catch (const impl::Panic& e) {
        return fatal(e);
      } catch (const std::exception& e) {
        return error(e);
      }
      return value(0);
    };
  }
  const int code = std::get<op::KthreadExit>(op.body).code;
  return [&k, self_host, mbox, code]() -> ImplResult {
    mbox->post_result(value(0));
    k.kthread_exit(self_host(), code);
  };
}

}  // namespace lockstep::checker
