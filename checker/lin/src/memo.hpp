// The search's cache: the nodes (set of placed operations and which are done, model state up to
// renaming of serial ids, console lines so far) it has entered. A node seen before is not entered again: the search from it has already been made (or is
// on the current path, impossible since every step grows the set). Exact mode keeps each key's parts
// and compares them with ==; fingerprint mode keeps only the 128-bit hash of the key (LIN.md, "The
// cache key"). Both are looked up by the hash.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "model/model.hpp"

namespace lockstep::checker::lin::detail {

// A 64-bit mixer (SplitMix64's finaliser): the cache key's Zobrist keys come from it.
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

struct Fingerprint {
  std::uint64_t lo = 0, hi = 0;
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};

// Everything the exact cache compares (the fingerprint is a hash of exactly these).
struct ExactKey {
  std::vector<std::uint64_t> placed, done;      // bit sets over the search's items
  std::shared_ptr<const model::State> state;    // relabelled by the objects' keys (model::relabel)
  std::vector<std::uint64_t> keys;              // the keys, sorted, per kind
  std::uint64_t console = 0;                    // console lines so far (when the states leave them out)
  // The lines since the last observation by writer (the call that writes each), in each writer's
  // order: what the next observation's console is judged by (Search::pending_).
  std::vector<std::pair<std::uint32_t, std::string>> pending;
};

class Memo {
 public:
  explicit Memo(bool exact) : exact_(exact) {}
  bool exact() const { return exact_; }
  // True when the node is new (and now remembered). Fingerprint mode:
  bool insert(const Fingerprint& fp);
  // Exact mode (`fp` is the hash of `key`):
  bool insert(const Fingerprint& fp, ExactKey&& key);
  std::size_t size() const { return exact_ ? exact_size_ : seen_.size(); }
  std::size_t bytes() const { return bytes_; }
  // Forgets every node (the search committed to a prefix: nodes below it are never met again).
  void clear() {
    seen_ = {};
    keys_ = {};
    exact_size_ = 0;
    bytes_ = 0;
  }

 private:
  struct FpHash {
    std::size_t operator()(const Fingerprint& f) const { return f.lo; }
  };
  bool exact_;
  std::unordered_set<Fingerprint, FpHash> seen_;
  std::unordered_multimap<std::uint64_t, ExactKey> keys_;
  std::size_t exact_size_ = 0, bytes_ = 0;
};

}  // namespace lockstep::checker::lin::detail
