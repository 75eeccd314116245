// One impl kernel instance as the lockstep runner drives it: the controlled scheduler, the
// kernel, one op thread per host (H0..Hn-1, then the reaper) and every kthread body the
// runner ever handed a mailbox to, whether or not the model expected that kthread.
//
// The instance owns every thread the impl can be asked to run, so that teardown can end
// them all, whatever state the impl left them in. Teardown is bounded: what cannot be torn
// down within its grace period is abandoned (kept alive for ever, never joined) and named.
#pragma once
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checker/impl_result.hpp"
#include "checker/lockstep.hpp"
#include "impl/controlled.hpp"
#include "impl/kernel.hpp"
#include "model/op.hpp"

namespace lockstep::checker {

using Sched = impl::sync::ControlledBackend;

// An op thread: a thread that takes ops from a mailbox and posts back what the impl call returned:
// a host thread (H0.., the reaper) or a kthread body. (The model actor it performs ops for is the op's
// model::Actor.)
struct OpThread {
  std::string name;
  std::unique_ptr<Mailbox> mbox;
  std::atomic<Sched::ThreadId> tid{0};  // written by the thread itself before it first blocks
  std::optional<model::Op> pending;     // the op it is inside of (posted, not yet returned)
  // Host threads only: the HostContext it acts as, and its OS thread (kthreads' threads are the kernel's).
  std::unique_ptr<impl::HostContext> ctx;
  std::unique_ptr<impl::sync::ThreadImpl> thread;
  // Kthreads only: where kthread_create / kproc_start store the new handle (*newp), and what the
  // body found there when it ran its first instruction (SPEC K1: the handle is set by then).
  ::proc* newp = nullptr;
  std::optional<::proc*> newp_at_start;
};

struct Instance {
  std::shared_ptr<Sched> sched;
  std::unique_ptr<impl::Kernel> kernel;
  std::vector<std::unique_ptr<OpThread>> hosts;    // H0..H{n-1}, then the reaper
  std::vector<std::unique_ptr<OpThread>> kthreads; // every kthread body started, in creation order
  std::map<impl::HostId, int> host_index;             // a host thread's kernel id -> its index (H0 = 0)

  // A kthread body: registers its thread id, then serves its mailbox until teardown closes it.
  // Captures only the scheduler and the op thread, which live as long as the instance.
  std::function<void()> kthread_body(OpThread* a) const;
};

// A fresh kernel under a fresh controlled scheduler, with host threads H0..H{n-1} and the reaper
// spawned (not yet run: they reach their mailboxes at the first settle).
std::unique_ptr<Instance> make_instance(const LockstepConfig& c);

// The op thread of a kthread a step may create. The instance owns it from then on, whatever the step's
// outcome: a kthread the impl creates and the model refuses serves it too, and teardown closes it.
OpThread* add_kthread_op_thread(Instance& inst);

// Tears the instance down. Usually on the caller's thread, still under the scheduler: every
// kernel wait ended, every mailbox closed, every thread run to its end (within grace/2, also the
// watchdog of each run). When some thread does not end that way, the rest runs on a helper thread: control
// ends (every thread runs free), the same actions again, every thread joined and the kernel
// destroyed; if that has not finished within the rest of `grace` (a thread is stuck in the impl),
// the instance is abandoned: never destroyed, its threads never joined, so nothing can hang.
// Returns nullopt when torn down, else a report of the threads that did not end.
std::optional<std::string> teardown(std::unique_ptr<Instance> inst, std::chrono::milliseconds grace);

// How many instances this process has abandoned so far.
std::size_t abandoned_instances();

}  // namespace lockstep::checker

namespace lockstep::checker {

// The impl's §7 observation of the instance's hosts H0..H{hosts-1} (checker/observe_impl.hpp).
// Call only when no registered thread of the instance is running.
Observation observe_impl(const Instance& inst, int hosts);
// The same through a snapshot and into an observation whose storage is reused (observe_snapshot_into).
void observe_impl_into(const Instance& inst, int hosts, impl::Snapshot& snap, Observation& out);

}  // namespace lockstep::checker
