// lockstep-sut-host: the child process that hosts a plug-in SUT for one program (checker/sut/SUT.md).
//
//   lockstep-sut-host LIB HOSTS      requests on fd 3, replies on fd 4 (checker/sut_wire.hpp)
//
// It links nothing of lockstep's own kernel, so no name of the C API it loads can bind to anything but
// the SUT. It dlopen()s LIB before it starts a thread, says which names the SUT exports, then runs
// each request on the OS thread lockstep names: host thread H<i> (one OS thread each, so curlwp is
// per thread as in rump) or the body of a kthread it asked the SUT to create. It never tears anything
// down: lockstep kills the whole process group when the program ends, whatever state the SUT is in.
// It also defines the SUT's pthread_create (a new kthread runs first, for SPEC K1: first_run.hpp) and
// its pthread mutex and condition calls (delays and spurious wake-ups when asked: noise.hpp; serial
// scheduling of the SUT's calls when asked: serial.hpp).
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "checker/sut_wire.hpp"
#include "first_run.hpp"
#include "noise.hpp"
#include "serial.hpp"

namespace {

using namespace lockstep::checker::sut;

struct KprocDesc {  // struct kproc_desc of <sys/kthread.h>
  const char* arg0;
  void (*func)(void);
  void** global_procpp;
};

// The SUT's entry points, each null when it does not export the name.
struct Api {
  std::array<void*, kCallCount> fn{};
  template <class F>
  F get(Call c) const { return reinterpret_cast<F>(fn[static_cast<std::size_t>(c)]); }
};
Api g_api;
pid_t g_pid = 0;  // this process (a fork's copy sees another getpid())
pthread_key_t g_exit_key;  // a kthread body's pending kthread_exit reply, written when its thread ends

// Every reply is counted here (release) before it is written, and the main thread reads the count
// (acquire) after each request it reads. lockstep sends a request only after the replies it depends
// on (a kthread slot is reused after its last call answered), so everything a thread did before its
// reply happens before what the next request does. That order goes through lockstep's process, where
// a sanitizer cannot see it: without this edge, ThreadSanitizer reported the reuse of a slot whose
// kthread_create had failed (EAGAIN at maxproc) as a race between the two callers' writes.
std::atomic<std::uint64_t> g_replies{0};

void write_reply(Reply r) {
  g_replies.fetch_add(1, std::memory_order_release);
  r.pid = static_cast<std::int32_t>(getpid());
  const char* p = reinterpret_cast<const char*>(&r);
  std::size_t left = sizeof r;
  while (left > 0) {
    const ssize_t n = write(kReplyFd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(0);  // lockstep is gone
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void set_text(char (&dst)[kTextMax], const char* src) {
  std::snprintf(dst, sizeof dst, "%s", src);
}

// A queue of requests for one OS thread.
struct Inbox {
  std::mutex m;
  std::condition_variable cv;
  std::deque<Request> q;
  void push(const Request& r) {
    {
      std::lock_guard<std::mutex> g(m);
      q.push_back(r);
    }
    cv.notify_one();
  }
  Request pop() {
    std::unique_lock<std::mutex> g(m);
    cv.wait(g, [&] { return !q.empty(); });
    Request r = q.front();
    q.pop_front();
    return r;
  }
};

struct Slot {
  Inbox inbox;
  void* proc = nullptr;  // *newp: the SUT stores the handle here before the body runs (K1)
  KprocDesc desc{};
  char name[kTextMax] = {};
  FirstRun first;        // what the body read of *newp first thing
};

// Before a creation in slot `s`: the body has not run yet.
void begin_create(Slot& s) {
  s.proc = nullptr;
  s.first.newp_seen = nullptr;
  s.first.started.store(false, std::memory_order_relaxed);
  set_creating(&s.first);
}

// After it: SPEC K1 wants *newp set before the new thread's first instruction, so a body that ran
// first (first_run.hpp makes that likely) and read anything but the handle is a finding.
void end_create(Slot& s, Reply& r) {
  set_creating(nullptr);
  if (!s.first.started.load(std::memory_order_acquire) || s.first.newp_seen == s.proc) return;
  r.finding = Finding::NewpLate;
  std::snprintf(r.text, sizeof r.text, "the new kthread's first instruction read *newp as %p, not the handle %p (SPEC K1)",
                s.first.newp_seen, s.proc);
}
std::array<Slot, kMaxSlots> g_slots;

// What a call that creates something reports besides its value: the caller's new curlwp and pid.
void after_create(Reply& r) {
  if (r.ret != 0) return;
  r.lwp = reinterpret_cast<std::uint64_t>(g_api.get<void* (*)()>(Call::Curlwp)());
  r.new_pid = g_api.fn[static_cast<std::size_t>(Call::Getpid)] ? g_api.get<pid_t (*)()>(Call::Getpid)() : -1;
}
std::int64_t proc_pid(void* p) {
  if (p == nullptr || !g_api.fn[static_cast<std::size_t>(Call::ProcPid)]) return -1;
  return g_api.get<pid_t (*)(void*)>(Call::ProcPid)(p);
}

void syscall_result(Reply& r, long v) {
  r.ret = v;
  if (v == -1) r.err = errno;
}

void kthread_body(void* arg);
template <std::size_t I>
void kproc_entry() {
  kthread_body(&g_slots[I]);
}
template <std::size_t... I>
constexpr std::array<void (*)(), sizeof...(I)> kproc_entries(std::index_sequence<I...>) {
  return {&kproc_entry<I>...};
}
constexpr auto kKprocEntries = kproc_entries(std::make_index_sequence<kMaxSlots>{});

// Runs one request on the calling thread and returns its reply (kthread_exit replies itself first).
Reply run(const Request& q) {
  Reply r;
  r.seq = q.seq;
  r.kind = ReplyKind::Returned;
  void* h = reinterpret_cast<void*>(q.handle);
  const int a = static_cast<int>(q.a);
  errno = 0;
  switch (q.call) {
    case Call::RumpInit: {
      auto ns = [] { return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count(); };
      r.began_ns = ns();
      r.ret = g_api.get<int (*)()>(q.call)();
      r.ended_ns = ns();
      break;
    }
    case Call::Rfork: r.ret = g_api.get<int (*)(int)>(q.call)(a); after_create(r); break;
    case Call::Newlwp:
      if (q.b > q.a) {  // a scan (sut_wire.hpp)
        r.ret = ESRCH;
        r.new_pid = -1;
        for (std::int64_t pid = q.a; pid <= q.b && r.ret == ESRCH; ++pid) {
          r.ret = g_api.get<int (*)(pid_t)>(q.call)(static_cast<pid_t>(pid));
          if (r.ret != ESRCH) r.new_pid = pid;
        }
        if (r.ret == 0) r.lwp = reinterpret_cast<std::uint64_t>(g_api.get<void* (*)()>(Call::Curlwp)());
        break;
      }
      r.ret = g_api.get<int (*)(pid_t)>(q.call)(a);
      after_create(r);
      break;
    case Call::Switch: g_api.get<void (*)(void*)>(q.call)(h); break;
    case Call::Release: g_api.get<void (*)()>(q.call)(); break;
    case Call::Curlwp: r.lwp = reinterpret_cast<std::uint64_t>(g_api.get<void* (*)()>(q.call)()); break;
    case Call::Getpid:
    case Call::Getppid: r.ret = g_api.get<pid_t (*)()>(q.call)(); break;
    case Call::Getuid: r.ret = g_api.get<uid_t (*)()>(q.call)(); break;
    case Call::Setuid: syscall_result(r, g_api.get<int (*)(uid_t)>(q.call)(static_cast<uid_t>(q.a))); break;
    case Call::Open: syscall_result(r, g_api.get<int (*)(const char*, int, ...)>(q.call)(q.text, a, 0644)); break;
    case Call::Write: {
      std::vector<char> buf(static_cast<std::size_t>(q.b > 0 && q.b < (1 << 20) ? q.b : 0), 'x');
      syscall_result(r, g_api.get<ssize_t (*)(int, const void*, size_t)>(q.call)(a, buf.data(), static_cast<size_t>(q.b)));
      break;
    }
    case Call::Fstat: {
      struct stat sb {};
      syscall_result(r, g_api.get<int (*)(int, struct stat*)>(q.call)(a, &sb));
      r.b = sb.st_size;
      break;
    }
    case Call::Close:
    case Call::Dup: syscall_result(r, g_api.get<int (*)(int)>(q.call)(a)); break;
    case Call::KthreadCreate: {
      if (q.slot >= kMaxSlots) { set_text(r.text, "no such kthread slot"); break; }
      Slot& s = g_slots[q.slot];
      begin_create(s);
      r.ret = g_api.get<int (*)(void (*)(void*), void*, void**, int, int, const char*, ...)>(q.call)(
          kthread_body, &s, &s.proc, a, static_cast<int>(q.b), "%s", q.text);
      end_create(s, r);
      r.proc = reinterpret_cast<std::uint64_t>(s.proc);
      r.new_pid = proc_pid(s.proc);
      break;
    }
    case Call::KprocStart: {
      if (q.slot >= kMaxSlots) { set_text(r.text, "no such kthread slot"); break; }
      Slot& s = g_slots[q.slot];
      begin_create(s);
      set_text(s.name, q.text);
      s.desc = KprocDesc{s.name, kKprocEntries[q.slot], &s.proc};
      g_api.get<void (*)(const void*)>(q.call)(&s.desc);
      end_create(s, r);
      r.proc = reinterpret_cast<std::uint64_t>(s.proc);
      r.new_pid = proc_pid(s.proc);
      break;
    }
    case Call::Suspend:
    case Call::WaitExit: r.ret = g_api.get<int (*)(void*, int)>(q.call)(h, a); break;
    case Call::Resume:
    case Call::Reap: r.ret = g_api.get<int (*)(void*)>(q.call)(h); break;
    case Call::SuspendCheck: g_api.get<void (*)(void*)>(q.call)(h); break;
    case Call::KprocShutdown: g_api.get<void (*)(void*, int)>(q.call)(h, 0); break;
    case Call::Progress: g_api.get<void (*)()>(q.call)(); break;
    case Call::KthreadExit:
      // It never returns: the reply goes out when the thread ends (a thread-specific destructor),
      // so that everything kthread_exit did has happened by the time lockstep reads it.
      pthread_setspecific(g_exit_key, new Reply(r));
      g_api.get<void (*)(int)>(q.call)(a);
      delete static_cast<Reply*>(pthread_getspecific(g_exit_key));
      pthread_setspecific(g_exit_key, nullptr);
      set_text(r.text, "kthread_exit returned to its caller");
      break;
    case Call::State: {
      // lockstep_sut_state(buf, len) returns the length it needs (snprintf's contract): a second call
      // with a larger buffer when the first was short.
      using StateFn = long (*)(char*, unsigned long);
      std::vector<char> buf(1 << 16);
      long n = g_api.get<StateFn>(q.call)(buf.data(), buf.size());
      if (n >= 0 && static_cast<std::size_t>(n) >= buf.size() && static_cast<std::size_t>(n) < kMaxStateBytes) {
        buf.resize(static_cast<std::size_t>(n) + 1);
        n = g_api.get<StateFn>(q.call)(buf.data(), buf.size());
      }
      if (n < 0 || static_cast<std::size_t>(n) >= buf.size()) {
        set_text(r.text, "lockstep_sut_state failed");
        break;
      }
      if (ftruncate(kStateFd, 0) != 0 || pwrite(kStateFd, buf.data(), static_cast<std::size_t>(n), 0) != n) {
        set_text(r.text, "cannot write the state file");
        break;
      }
      r.b = n;
      break;
    }
    case Call::Reset: r.ret = g_api.get<int (*)()>(q.call)(); break;
    case Call::ProcPid:
    case Call::TickNs:
    case Call::NameHost:
    case Call::EnvLimits:
    case Call::Count: set_text(r.text, "not a request"); break;
  }
  return r;
}

void reply_at_thread_end(void* pending) {
  serial_leave();
  std::unique_ptr<Reply> r(static_cast<Reply*>(pending));
  write_reply(*r);
}

// Runs the requests of `in` for ever: only the SUT's calls get noise (noise.hpp) and take part in
// serial scheduling (serial.hpp), not the host's waiting and replying.
[[noreturn]] void serve(Inbox& in) {
  for (;;) {
    set_quiet(true);
    const Request q = in.pop();
    set_quiet(false);
    serial_enter();
    const Reply r = run(q);
    serial_leave();
    set_quiet(true);
    write_reply(r);
  }
}

// A kthread's body: the requests lockstep sends to its slot, until kthread_exit unwinds it.
void kthread_body(void* arg) {
  Slot* s = static_cast<Slot*>(arg);
  // First thing, as a kproc body reads its global_procpp. An atomic read: a SUT that stores *newp
  // late races with it (that is the finding), and the read must not be undefined behaviour here.
  s->first.newp_seen = __atomic_load_n(&s->proc, __ATOMIC_RELAXED);
  s->first.started.store(true, std::memory_order_release);
  serve(s->inbox);
}

// Host thread `index`: it names itself to the SUT first (lockstep_sut_name_host, optional), so that
// the SUT's state names hosts as lockstep does.
void host_thread(Inbox* in, int index) {
  if (void* f = g_api.fn[static_cast<std::size_t>(Call::NameHost)]) reinterpret_cast<void (*)(int)>(f)(index);
  serve(*in);
}

bool read_request(Request& q) {
  char* p = reinterpret_cast<char*>(&q);
  std::size_t left = sizeof q;
  while (left > 0) {
    const ssize_t n = read(kRequestFd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return true;
}

// A fork's copy announces itself and stops: what it would do is not this program's business, and
// two processes answering on one pipe would corrupt the protocol.
void on_fork_child() {
  Reply r;
  r.kind = ReplyKind::Forked;
  write_reply(r);
  _exit(0);
}
// Runs only if the SUT calls exit(): this program itself never returns from main (it _exit()s).
void on_sut_exit(int status, void*) {
  if (getpid() != g_pid) return;
  Reply r;
  r.kind = ReplyKind::Exited;
  r.ret = status;
  write_reply(r);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: lockstep-sut-host LIB HOSTS (started by lockstep run --sut)\n");
    return 2;
  }
  g_pid = getpid();
  set_quiet(true);  // the main thread only reads requests and hands them out (and State / Reset)
  // A SUT that crashes must end at once: a core dump (seconds of writing on a busy disk) would keep the
  // pipes open past lockstep's deadlines, and leave a file behind.
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  pthread_atfork(nullptr, nullptr, on_fork_child);
  ::on_exit(on_sut_exit, nullptr);
  pthread_key_create(&g_exit_key, reply_at_thread_end);
  // Not inherited by what the SUT may exec (system(), posix_spawn): only this process answers.
  fcntl(kRequestFd, F_SETFD, FD_CLOEXEC);
  fcntl(kReplyFd, F_SETFD, FD_CLOEXEC);
  fcntl(kStateFd, F_SETFD, FD_CLOEXEC);
  const int hosts = std::atoi(argv[2]);
  char noise_error[kTextMax] = {};
  if (!configure_noise_from_env(noise_error, sizeof noise_error) || !configure_serial_from_env(noise_error, sizeof noise_error)) {
    Reply r;
    r.kind = ReplyKind::LoadError;
    set_text(r.text, noise_error);
    write_reply(r);
    _exit(0);
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    Reply r;
    r.kind = ReplyKind::LoadError;
    const char* e = dlerror();
    set_text(r.text, e != nullptr ? e : "dlopen failed");
    write_reply(r);
    _exit(0);
  }
  std::uint64_t mask = 0;
  for (std::size_t i = 0; i < kCallCount; ++i) {
    g_api.fn[i] = dlsym(lib, std::string(kCallNames[i]).c_str());
    if (g_api.fn[i] != nullptr) mask |= std::uint64_t{1} << i;
  }
  Reply hello;
  hello.kind = ReplyKind::Hello;
  hello.ret = static_cast<std::int64_t>(mask);
  if (g_api.fn[static_cast<std::size_t>(Call::TickNs)] != nullptr) hello.b = g_api.get<long long (*)()>(Call::TickNs)();
  write_reply(hello);
  for (std::size_t i = 0; i < kRequiredCalls; ++i)
    if (g_api.fn[i] == nullptr) _exit(0);  // lockstep names what is missing

  std::vector<std::unique_ptr<Inbox>> inboxes;
  for (int i = 0; i < hosts; ++i) {
    inboxes.push_back(std::make_unique<Inbox>());
    std::thread(host_thread, inboxes.back().get(), i).detach();
  }
  Request q;
  while (read_request(q)) {
    (void)g_replies.load(std::memory_order_acquire);  // the replies lockstep read before it sent q
    if (q.call == Call::State || q.call == Call::Reset) write_reply(run(q));  // on this thread: the SUT's threads are where lockstep left them
    else if (q.runner == Runner::Host && q.index < inboxes.size()) inboxes[q.index]->push(q);
    else if (q.runner == Runner::Kthread && q.index < kMaxSlots) g_slots[q.index].inbox.push(q);
  }
  _exit(0);
}
