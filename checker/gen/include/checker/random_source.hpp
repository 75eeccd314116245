// Where random choices come from. The op chooser asks a Source, never a concrete
// RNG, so the same choosing code serves the fast model-only runs (SplitMix64) and
// RapidCheck (whose generators make choices shrinkable).
#pragma once
#include <cstdint>

namespace lockstep::checker {

class Source {
 public:
  virtual ~Source() = default;
  // A uniform choice in [0, n); n > 0.
  virtual std::uint32_t below(std::uint32_t n) = 0;
  bool percent(std::uint32_t p) { return below(100) < p; }
};

// SplitMix64: small, fast, and fully determined by its seed.
class SplitMix final : public Source {
 public:
  explicit SplitMix(std::uint64_t seed) : x_(seed) {}
  // Where the sequence stands: SplitMix(state()) draws what this one draws next.
  std::uint64_t state() const { return x_; }
  std::uint64_t next() {
    std::uint64_t z = (x_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint32_t below(std::uint32_t n) override {
    return static_cast<std::uint32_t>((static_cast<unsigned __int128>(next() & 0xffffffffULL) * n) >> 32);
  }

 private:
  std::uint64_t x_;
};

}  // namespace lockstep::checker
