#include "symbols.hpp"

namespace lockstep::checker::lin::detail {

std::int32_t Symbols::intern(Kind k, std::uint32_t symbol, bool created) {
  const std::size_t s = slot(k);
  auto [it, fresh] = index_[s].emplace(symbol, static_cast<std::int32_t>(symbols_[s].size()));
  if (fresh) {
    symbols_[s].push_back(symbol);
    const bool existing = symbol < before_[s];
    ids_[s].push_back(existing ? symbol : created ? kUnbound : kNeverIssued);
    created_[s].push_back(created && !existing);
  }
  return it->second;
}

void Symbols::bind(Kind k, std::int32_t index, std::uint32_t model_id) {
  ids_[slot(k)][static_cast<std::size_t>(index)] = model_id;
  toggle(k, index, model_id);
}

void Symbols::unbind(Kind k, std::int32_t index) {
  toggle(k, index, ids_[slot(k)][static_cast<std::size_t>(index)]);
  ids_[slot(k)][static_cast<std::size_t>(index)] = kUnbound;
}

void Symbols::toggle(Kind k, std::int32_t index, std::uint32_t model_id) {
  const std::uint64_t key = static_cast<std::uint64_t>(slot(k)) << 63 ^ static_cast<std::uint64_t>(index) << 32 ^ model_id;
  lo_ ^= mix64(key ^ 0x6c62272e07bb0142ULL);
  hi_ ^= mix64(key + 0x9e3779b97f4a7c15ULL);
}

}  // namespace lockstep::checker::lin::detail
