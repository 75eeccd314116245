// hash_state: every object (process, lwp, fd table, description, file) is hashed on its own, tagged
// with its kind and its key, its references to other objects replaced by their keys; the objects'
// hashes are summed (so the order of the ids does not matter, only which key has which content), and
// the state's other fields are streamed after. A hash is a stream of 64-bit words (small fields
// packed injectively, strings as their length and then their bytes) mixed pairwise by two
// independent lanes of 64x64->128-bit multiply-fold steps (the core of wyhash). One pass, no
// allocation: the linearizability search hashes every state it reaches.
#include "model/state_hash.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

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
  explicit Hasher(std::uint64_t tag = 0) : a_(kA2 ^ tag), b_(kB2 + tag) {}
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
  std::uint64_t a_, b_, pending_ = 0, pairs_ = 0;
  bool half_ = false;
};

std::uint32_t u32(std::int32_t v) { return static_cast<std::uint32_t>(v); }

// An id's key; ids that name no object (kNoLwp, kNoDesc, ...) stay what they are, tagged apart.
std::uint64_t key(std::span<const std::uint64_t> keys, std::uint32_t id) {
  if (id == 0xffffffffu) return ~std::uint64_t{0};
  return keys.empty() || id >= keys.size() ? id : keys[id];
}

enum Tag : std::uint64_t { kProc = 1, kLwp, kFdTable, kDesc, kFile };

}  // namespace

StateHash hash_state(const State& s) { return hash_state(s, IdKeys{}); }

StateHash hash_state(const State& s, const IdKeys& k, bool pid_cursor) { return hash_state(s, objects_hash(s, k), k, pid_cursor); }

namespace {

StateHash hash_of(const Process& p, std::uint32_t i, const IdKeys& k) {
  Hasher h(kProc);
  h.word(key(k.procs, i));
  h.two(u32(p.pid), u32(p.ppid));
  h.str(p.comm);
  h.word(static_cast<std::uint64_t>(p.kind) | static_cast<std::uint64_t>(p.freed) << 8 |
         static_cast<std::uint64_t>(p.kt.state) << 16 | static_cast<std::uint64_t>(p.kt.suspend_requested) << 24);
  h.word(key(k.fdtables, p.fdtable));
  h.two(p.uid, u32(p.next_lid));
  h.word(p.kt.progress);
  h.two(u32(p.kt.exit_code), static_cast<std::uint32_t>(p.lwps.size()));
  for (LwpId l : p.lwps) h.word(key(k.lwps, l));
  return h.finish();
}
StateHash hash_of(const Lwp& l, std::uint32_t i, const IdKeys& k) {
  Hasher h(kLwp);
  h.word(key(k.lwps, i));
  h.word(key(k.procs, l.proc));
  h.two(u32(l.lid), u32(l.bound));
  h.word(l.released);
  return h.finish();
}
StateHash hash_of(const FdTable& t, std::uint32_t i, const IdKeys& k) {
  Hasher h(kFdTable);
  h.word(key(k.fdtables, i));
  h.two(u32(t.refs), t.freed);
  h.word(t.fds.size());
  for (DescId d : t.fds) h.word(key(k.descs, d));
  return h.finish();
}
StateHash hash_of(const FileId& f, std::uint32_t i, const IdKeys& k) {
  Hasher h(kDesc);
  h.word(key(k.descs, i));
  h.word(key(k.files, f));
  return h.finish();
}
StateHash hash_of(const File& f, std::uint32_t i, const IdKeys& k) {
  Hasher h(kFile);
  h.word(key(k.files, i));
  h.str(f.path);
  h.word(static_cast<std::uint64_t>(f.size));
  return h.finish();
}

// Adds (or, with sign -1, takes away) the objects of one kind, lane by lane (sums wrap: an abelian group).
template <class T>
void add_all(ObjectsHash& sum, const std::vector<T>& v, const IdKeys& k) {
  for (std::uint32_t i = 0; i < v.size(); ++i) {
    const StateHash o = hash_of(v[i], i, k);
    sum.lo += o.lo;
    sum.hi += o.hi;
  }
}
template <class T>
void add_changes(ObjectsHash& sum, const std::vector<T>& after, const std::vector<T>& before, const IdKeys& k) {
  constexpr std::uint32_t kBlock = 64;
  for (std::uint32_t i = 0; i < after.size(); ++i) {
    if constexpr (std::is_trivially_copyable_v<T>) {
      // Whole blocks whose bytes are equal hold equal objects (bytes that differ only in padding
      // just send the block down the slow path, where == decides).
      if (i % kBlock == 0 && i + kBlock <= before.size() && std::memcmp(&after[i], &before[i], kBlock * sizeof(T)) == 0) {
        i += kBlock - 1;
        continue;
      }
    }
    if (i < before.size()) {
      if (after[i] == before[i]) continue;
      const StateHash o = hash_of(before[i], i, k);
      sum.lo -= o.lo;
      sum.hi -= o.hi;
    }
    const StateHash o = hash_of(after[i], i, k);
    sum.lo += o.lo;
    sum.hi += o.hi;
  }
}

}  // namespace

ObjectsHash objects_hash(const State& s, const IdKeys& k) {
  ObjectsHash sum;
  add_all(sum, s.procs, k);
  add_all(sum, s.lwps, k);
  add_all(sum, s.fdtables, k);
  add_all(sum, s.descs, k);
  add_all(sum, s.files, k);
  return sum;
}

ObjectsHash objects_hash(const State& after, const State& before, const ObjectsHash& of_before, const IdKeys& k) {
  if (after.procs.size() < before.procs.size() || after.lwps.size() < before.lwps.size() ||
      after.fdtables.size() < before.fdtables.size() || after.descs.size() < before.descs.size() ||
      after.files.size() < before.files.size())
    return objects_hash(after, k);  // not a later state of the same instance: from scratch
  ObjectsHash sum = of_before;
  add_changes(sum, after.procs, before.procs, k);
  add_changes(sum, after.lwps, before.lwps, k);
  add_changes(sum, after.fdtables, before.fdtables, k);
  add_changes(sum, after.descs, before.descs, k);
  add_changes(sum, after.files, before.files, k);
  return sum;
}

StateHash hash_state(const State& s, const ObjectsHash& objects, const IdKeys& k, bool pid_cursor) {
  const std::uint64_t lo = objects.lo, hi = objects.hi;
  // Everything else, in order.
  Hasher h;
  h.word(lo);
  h.word(hi);
  h.two(s.initialized, static_cast<std::uint32_t>(s.fatal));
  h.word(s.procs.size());
  h.word(s.lwps.size());
  h.word(s.fdtables.size());
  h.word(s.descs.size());
  h.word(s.files.size());
  h.word(s.paths.size());
  for (const auto& [path, id] : s.paths) {
    h.str(path);
    h.word(key(k.files, id));
  }
  h.word(s.table.size());
  for (const auto& [pid, id] : s.table) {
    h.word(u32(pid));
    h.word(key(k.procs, id));
  }
  h.word(s.hosts.size());
  for (const HostThread& t : s.hosts) h.word(key(k.lwps, t.curlwp));
  h.word(s.waits.size());
  for (const Wait& w : s.waits) {
    h.two(static_cast<std::uint32_t>(w.host) | static_cast<std::uint32_t>(w.kind) << 16 |
              static_cast<std::uint32_t>(w.deadline.has_value()) << 24,
          0);
    h.word(key(k.procs, w.target));
    h.word(static_cast<std::uint64_t>(w.deadline.value_or(0)));
    h.word(w.seq);
  }
  h.word(s.console.size());
  for (const std::string& line : s.console) h.str(line);
  h.word(static_cast<std::uint64_t>(s.now));
  h.two(u32(s.nprocs), u32(s.maxproc));
  h.two(u32(s.pid_max), pid_cursor ? u32(s.next_pid) : 0u);
  h.word(s.next_wait_seq);
  return h.finish();
}

namespace {

// new id per old id: the ids in increasing order of their keys.
std::vector<std::uint32_t> renumbering(std::size_t n, std::span<const std::uint64_t> keys) {
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  if (!keys.empty())
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return key(keys, a) < key(keys, b); });
  std::vector<std::uint32_t> to(n);
  for (std::uint32_t i = 0; i < n; ++i) to[order[i]] = i;
  return to;
}

template <class T>
std::vector<T> permuted(const std::vector<T>& v, const std::vector<std::uint32_t>& to) {
  std::vector<T> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[to[i]] = v[i];
  return out;
}

}  // namespace

State relabel(const State& s, const IdKeys& k) {
  const std::vector<std::uint32_t> P = renumbering(s.procs.size(), k.procs), L = renumbering(s.lwps.size(), k.lwps),
                                   T = renumbering(s.fdtables.size(), k.fdtables), D = renumbering(s.descs.size(), k.descs),
                                   F = renumbering(s.files.size(), k.files);
  auto map = [](const std::vector<std::uint32_t>& to, std::uint32_t id) { return id < to.size() ? to[id] : id; };
  State r = s;
  r.procs = permuted(s.procs, P);
  for (Process& p : r.procs) {
    p.fdtable = map(T, p.fdtable);
    for (LwpId& l : p.lwps) l = map(L, l);
  }
  r.lwps = permuted(s.lwps, L);
  for (Lwp& l : r.lwps) l.proc = map(P, l.proc);
  r.fdtables = permuted(s.fdtables, T);
  for (FdTable& t : r.fdtables)
    for (DescId& d : t.fds) d = map(D, d);
  r.descs = permuted(s.descs, D);
  for (FileId& f : r.descs) f = map(F, f);
  r.files = permuted(s.files, F);
  for (auto& [path, id] : r.paths) id = map(F, id);
  for (auto& [pid, id] : r.table) id = map(P, id);
  for (HostThread& t : r.hosts) t.curlwp = map(L, t.curlwp);
  for (Wait& w : r.waits) w.target = map(P, w.target);
  return r;
}

}  // namespace lockstep::model
