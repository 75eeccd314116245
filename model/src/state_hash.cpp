// hash_state: the State is streamed as 64-bit words (small fields packed injectively, strings as
// their length and then their bytes), and the words are mixed pairwise by two independent lanes
// of 64x64->128-bit multiply-fold steps (the core of wyhash). One pass, no allocation: the
// linearizability search hashes every state it reaches, so this is on its hot path.
#include "model/state_hash.hpp"

#include <cstring>
#include <string>

namespace lockstep::model {

namespace {

// Fixed keys (digits of pi, e and sqrt 2): the hash must be the same in every run and on every machine.
constexpr std::uint64_t kA0 = 0x243f6a8885a308d3ULL, kA1 = 0x13198a2e03707344ULL;
constexpr std::uint64_t kB0 = 0xb7e151628aed2a6aULL, kB1 = 0xbf7158809cf4f3c7ULL;
constexpr std::uint64_t kA2 = 0xa4093822299f31d0ULL, kB2 = 0x6a09e667f3bcc908ULL;

std::uint64_t fold(std::uint64_t a, std::uint64_t b) {
  const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(p) ^ static_cast<std::uint64_t>(p >> 64);
}

class Hasher {
 public:
  void word(std::uint64_t v) {
    if (!half_) {
      pending_ = v;
      half_ = true;
      return;
    }
    half_ = false;
    // The lanes take the pair in opposite roles and with different keys, so they stay independent.
    a_ = fold(a_ ^ pending_ ^ kA0, v ^ kA1);
    b_ = fold(b_ ^ v ^ kB0, pending_ ^ kB1);
    ++pairs_;
  }
  void two(std::uint32_t x, std::uint32_t y) { word(static_cast<std::uint64_t>(x) << 32 | y); }
  void str(const std::string& s) {
    word(s.size());
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t v;
      std::memcpy(&v, s.data() + i, 8);
      word(v);
    }
    if (i < s.size()) {
      std::uint64_t v = 0;
      std::memcpy(&v, s.data() + i, s.size() - i);
      word(v);
    }
  }
  StateHash finish() {
    if (half_) word(0x5bd1e995);  // an odd word count is padded; the count of pairs below tells them apart
    const std::uint64_t n = pairs_;
    return StateHash{fold(a_ ^ n ^ kA2, b_ ^ kA1), fold(b_ ^ n ^ kB2, a_ ^ kB1)};
  }

 private:
  std::uint64_t a_ = kA2, b_ = kB2, pending_ = 0, pairs_ = 0;
  bool half_ = false;
};

std::uint32_t u32(std::int32_t v) { return static_cast<std::uint32_t>(v); }

}  // namespace

StateHash hash_state(const State& s) {
  Hasher h;
  h.two(s.initialized, static_cast<std::uint32_t>(s.fatal));
  h.word(s.procs.size());
  for (const Process& p : s.procs) {
    h.two(u32(p.pid), u32(p.ppid));
    h.str(p.comm);
    h.two(static_cast<std::uint32_t>(p.kind) | static_cast<std::uint32_t>(p.freed) << 8 |
              static_cast<std::uint32_t>(p.kt.state) << 16 | static_cast<std::uint32_t>(p.kt.suspend_requested) << 24,
          p.fdtable);
    h.two(p.uid, u32(p.next_lid));
    h.word(p.kt.progress);
    h.two(u32(p.kt.exit_code), static_cast<std::uint32_t>(p.lwps.size()));
    for (LwpId l : p.lwps) h.word(l);
  }
  h.word(s.lwps.size());
  for (const Lwp& l : s.lwps) {
    h.two(l.proc, u32(l.lid));
    h.two(u32(l.bound), l.released);
  }
  h.word(s.fdtables.size());
  for (const FdTable& t : s.fdtables) {
    h.word(t.fds.size());
    h.two(u32(t.refs), t.freed);
    for (DescId d : t.fds) h.word(d);
  }
  h.word(s.descs.size());
  for (FileId f : s.descs) h.word(f);
  h.word(s.files.size());
  for (const File& f : s.files) {
    h.str(f.path);
    h.word(static_cast<std::uint64_t>(f.size));
  }
  h.word(s.paths.size());
  for (const auto& [path, id] : s.paths) {
    h.str(path);
    h.word(id);
  }
  h.word(s.table.size());
  for (const auto& [pid, id] : s.table) h.two(u32(pid), id);
  h.word(s.hosts.size());
  for (const HostThread& t : s.hosts) h.word(t.curlwp);
  h.word(s.waits.size());
  for (const Wait& w : s.waits) {
    h.two(static_cast<std::uint32_t>(w.host) | static_cast<std::uint32_t>(w.kind) << 16 |
              static_cast<std::uint32_t>(w.deadline.has_value()) << 24,
          w.target);
    h.word(static_cast<std::uint64_t>(w.deadline.value_or(0)));
    h.word(w.seq);
  }
  h.word(s.console.size());
  for (const std::string& line : s.console) h.str(line);
  h.word(static_cast<std::uint64_t>(s.now));
  h.two(u32(s.nprocs), u32(s.maxproc));
  h.two(u32(s.pid_max), u32(s.next_pid));
  h.word(s.next_wait_seq);
  return h.finish();
}

}  // namespace lockstep::model
