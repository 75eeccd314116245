// Helpers for schedules with scheduling points inside operations (ControlledBackend::Preempt::
// every_sync_point): a small world of two host job threads and a stepped kthread body, torn down safely
// whatever state a schedule left it in, and a printable form of a snapshot that two kernels can compare.
#pragma once

#include <sstream>
#include <string>

#include "controlled_helpers.hpp"

namespace lockstep::impl::testing {

// Two host threads (H1, H2) acted by job threads A1, A2, and a Stepper for kthread bodies.
// Members are declared so that destruction is safe: job threads (joined) before host contexts, host
// contexts before the kernel (which joins the kthreads), the kernel before the Stepper its kthreads
// use, the backend last.
struct RaceWorld {
  explicit RaceWorld(FaultSet f, CB::Preempt mode = CB::Preempt::every_sync_point)
      : backend(std::make_shared<CB>(CB::Options{.watchdog = std::chrono::milliseconds(5000), .preempt = mode})),
        st(*backend), kernel(ControlledKernel::make_config(backend, f)), h1(kernel, "H1"), h2(kernel, "H2"),
        a1(*backend, "A1"), a2(*backend, "A2") {
    run_job_thread(*backend, a1);  // each job thread starts and waits for its first job
    run_job_thread(*backend, a2);
  }
  // A schedule may leave threads stopped anywhere (inside a critical section, blocked for good):
  // teardown releases the scheduler and the kernel's waits, then lets the kthread body exit.
  ~RaceWorld() {
    backend->release_all();
    kernel.interrupt_waits();
    st.tell_exit(0);
  }
  CB& b() { return *backend; }
  Kernel& k() { return kernel; }
  CB::ThreadId last_thread() const { return backend->threads().back().id; }

  // Runs `job` on `a` to its end (through every scheduling point); expects it to finish.
  void seq(sync::JobThread& a, std::function<void()> job) {
    const CB::RunResult r = step(*backend, a, std::move(job));
    ASSERT_TRUE(finished(r, a)) << "stopped on " << r.thread.object;
  }
  // kthread_create by H1 with the Stepper's body; returns the handle and sets `kt` to its thread.
  ::proc* create_kthread() {
    ::proc* p = nullptr;
    seq(a1, [&] { EXPECT_EQ(kernel.kthread_create(h1, st.body(), &p, 0, 0, "kt"), 0); });
    kt = last_thread();
    return p;
  }
  // Parks the kthread: H1 suspends it (blocks), the kthread takes one step and acknowledges.
  void park(::proc* p) {
    int r = -1;
    ASSERT_EQ(step(*backend, a1, [&, p] { r = kernel.kthread_suspend(h1, p, 0); }).stop, CB::Stop::blocked);
    st.grant();
    ASSERT_EQ(run_to_block(*backend, kt).thread.object, "kthread" + std::to_string(kernel.proc_pid(p)) + ".park");
    ASSERT_TRUE(finished(run_job_thread(*backend, a1), a1));
    ASSERT_EQ(r, 0);
  }

  std::shared_ptr<CB> backend;
  Stepper st;
  Kernel kernel;
  HostContext h1, h2;
  sync::JobThread a1, a2;
  CB::ThreadId kt = 0;
};

// The low 40 bits of a handle: the serial, without the kernel instance id on top (two kernels that did
// the same things issue the same serials).
inline std::uint64_t serial_of(std::uint64_t handle) { return handle & ((std::uint64_t{1} << 40) - 1); }

// Everything SPEC §7 compares, as text, with handles reduced to their serials.
inline std::string describe(const Snapshot& s) {
  std::ostringstream o;
  o << "nprocs " << s.nprocs << " now " << s.now << " panic " << s.panic.value_or("-") << "\n";
  for (const auto* list : {&s.procs, &s.reaped})
    for (const ProcSnapshot& p : *list) {
      o << "proc " << p.pid << " ppid " << p.ppid << " '" << p.comm << "' " << to_string(p.kind) << " uid " << p.uid
        << " fdt " << p.fdtable << " h " << serial_of(p.handle) << " lwps";
      for (const LwpSnapshot& l : p.lwps)
        o << " " << l.lid << "/" << serial_of(l.handle) << "/" << l.bound_to.value_or(0) << (l.released ? "r" : "");
      if (p.kthread)
        o << " kt " << to_string(p.kthread->state) << " req " << p.kthread->suspend_requested << " prog "
          << p.kthread->progress << " exit " << p.kthread->exit_code.value_or(-1) << " host "
          << p.kthread->host.value_or(0);
      o << "\n";
    }
  for (const FdTableSnapshot& t : s.fdtables) {
    o << "fdt " << t.id << " refs " << t.refs;
    for (const FdSnapshot& f : t.fds) o << " " << f.fd << ":" << f.description << ":" << f.path;
    o << "\n";
  }
  for (const FileSnapshot& f : s.files) o << "file " << f.path << " " << f.size << "\n";
  for (const HostSnapshot& h : s.hosts)
    o << "host " << h.id << " " << h.name << " cur " << serial_of(h.curlwp) << " pid " << h.current_pid << "\n";
  for (const WaitSnapshot& w : s.blocked)
    o << "wait " << w.host << " " << to_string(w.kind) << " " << w.target << " until "
      << (w.deadline ? std::to_string(*w.deadline) : "-") << " since " << w.since << "\n";
  for (const std::string& c : s.console) o << "console " << c << "\n";
  return o.str();
}

}  // namespace lockstep::impl::testing
