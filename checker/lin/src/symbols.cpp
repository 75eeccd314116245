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

void Symbols::bind(Kind k, std::int32_t index, std::uint32_t model_id) { ids_[slot(k)][static_cast<std::size_t>(index)] = model_id; }

void Symbols::unbind(Kind k, std::int32_t index) { ids_[slot(k)][static_cast<std::size_t>(index)] = kUnbound; }

}  // namespace lockstep::checker::lin::detail
