// SPEC §3 P6, P7, P8: system calls in H's current process. H's current process cannot be freed while H
// runs in it (only H can release H's curlwp), so no table lock is needed to reach it.
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <mutex>

#include "kernel_internal.hpp"

namespace lockstep::impl {

pid_t Kernel::getpid(HostContext& h) { return current_proc(h)->pid; }

pid_t Kernel::getppid(HostContext& h) {
  const ProcPtr p = current_proc(h);
  // FAULT test_lock_order (test only): the process's lock first, then the table lock, where rfork,
  // newlwp and release take the table lock first: two hosts can each hold the lock the other needs.
  std::unique_lock pl(p->lock, std::defer_lock);
  if (fault(Fault::test_lock_order)) pl.lock();
  std::unique_lock t(proctable_lock_);  // ppid changes when a parent is freed (reparenting)
  // FAULT test_host_op_hangs (test only): the call never returns, and keeps the table lock. It waits
  // on a plain std::condition_variable, so no scheduler sees it block: only a watchdog can.
  if (fault(Fault::test_host_op_hangs)) {
    static auto* forever_lock = new std::mutex;  // leaked: a waiter may outlive every destructor
    static auto* forever = new std::condition_variable;
    std::unique_lock l(*forever_lock);
    for (;;) forever->wait(l);
  }
  return p->ppid;
}

int Kernel::open(HostContext& h, std::string_view path, int flags) {
  const ProcPtr p = current_proc(h);
  detail::FdTable& t = *p->fdt;
  // The file's lookup (or creation) and the fd it gets are one atomic step, so the table lock is
  // taken first and held across both (lock order FdTable::lock -> files_lock_). Taking the fd in a
  // later critical section let a concurrent open of the new file in the same table take the lowest
  // fd before its creator did: H0 open(O_CREAT) -> 4, H1 open -> 3, which no order of the two
  // atomic opens gives (SPEC §8; found by interleaving inside operations).
  std::unique_lock l(t.lock);
  std::shared_ptr<detail::File> f;
  if (fault(Fault::open_create_split)) {
    // FAULT open_create_split (breaks P7): the lookup and the creation are two critical sections (a
    // namei, then a create without the directory held): two creators of one new path make two files.
    {
      std::unique_lock fl(files_lock_);
      f = file_locked(path, false);
    }
    if (!f && (flags & kRumpOCreat) != 0) {
      std::unique_lock fl(files_lock_);
      f = std::make_shared<detail::File>(std::string(path));
      files_.insert_or_assign(f->path, f);
    }
  } else {
    std::unique_lock fl(files_lock_);
    f = file_locked(path, (flags & kRumpOCreat) != 0);  // O_CREAT on an existing file just opens it
  }
  if (!f) return -ENOENT;
  yield("open.description_id");  // next_id_ is shared, bumped without a lock
  auto desc = std::make_shared<detail::OpenFile>(next_id_.fetch_add(1), std::move(f));
  const int fd = t.lowest_free_locked();
  // FAULT fd_array_fixed (breaks P7): the fd array never grows past NDFILE slots.
  if (fault(Fault::fd_array_fixed) && fd >= kNdfile) return -EMFILE;
  t.fds.emplace(fd, std::move(desc));
  return fd;
}

long Kernel::write(HostContext& h, int fd, std::size_t n) {
  if (fd < 0) return -EBADF;
  if (n > static_cast<std::size_t>(LONG_MAX)) return -EINVAL;
  detail::FdTable& t = *current_proc(h)->fdt;
  std::unique_lock l(t.lock);
  auto it = t.fds.find(fd);
  if (it == t.fds.end()) return -EBADF;
  yield("write.size");  // the file may be open in other tables: its size is guarded by no lock held here
  it->second->file->size.fetch_add(n);
  return static_cast<long>(n);
}

int Kernel::fstat(HostContext& h, int fd, std::uint64_t* size) {
  if (fd < 0) return -EBADF;
  detail::FdTable& t = *current_proc(h)->fdt;
  std::unique_lock l(t.lock);
  auto it = t.fds.find(fd);
  if (it == t.fds.end()) return -EBADF;
  if (size) {
    yield("fstat.size");  // as in write: no lock held here guards the size
    *size = it->second->file->size.load();
  }
  return 0;
}

int Kernel::close(HostContext& h, int fd) {
  if (fd < 0) return -EBADF;
  detail::FdTable& t = *current_proc(h)->fdt;
  std::unique_lock l(t.lock);
  return t.fds.erase(fd) ? 0 : -EBADF;
}

int Kernel::dup(HostContext& h, int fd) {
  if (fd < 0) return -EBADF;
  detail::FdTable& t = *current_proc(h)->fdt;
  std::unique_lock l(t.lock);
  auto it = t.fds.find(fd);
  if (it == t.fds.end()) return -EBADF;
  auto desc = it->second;
  if (fault(Fault::dup_split)) {
    // FAULT dup_split (breaks P7): the new fd is taken in a second critical section; a close of `fd`
    // in between is not seen, and the closed description comes back under the new fd.
    l.unlock();
    l.lock();
  }
  const int nfd = t.lowest_free_locked();
  if (fault(Fault::fd_array_fixed) && nfd >= kNdfile) return -EMFILE;
  t.fds.emplace(nfd, std::move(desc));
  return nfd;
}

uid_t Kernel::getuid(HostContext& h) {
  const ProcPtr p = current_proc(h);
  std::unique_lock l(p->lock);
  return p->uid;
}

int Kernel::setuid(HostContext& h, uid_t uid) {
  const ProcPtr p = current_proc(h);
  std::unique_lock l(p->lock);
  // FAULT setuid_minus_one_unchanged (breaks P8): -1 read as "leave unchanged", as do_setresuid does.
  if (fault(Fault::setuid_minus_one_unchanged) && uid == static_cast<uid_t>(-1)) return 0;
  // FAULT setuid_no_check (breaks P8): any uid may become any other.
  if (p->uid != 0 && p->uid != uid && !fault(Fault::setuid_no_check)) return -EPERM;
  p->uid = uid;
  return 0;
}

}  // namespace lockstep::impl
