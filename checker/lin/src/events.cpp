#include "events.hpp"

#include <algorithm>
#include <numeric>

namespace lockstep::checker::lin::detail {

std::vector<std::uint32_t> EventList::build(const std::vector<Spec>& events) {
  std::vector<std::uint32_t> order(events.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    if (events[a].position != events[b].position) return events[a].position < events[b].position;
    return events[a].rank < events[b].rank;
  });
  ev_.assign(events.size() + 1, Event{});
  std::vector<std::uint32_t> id(events.size());
  returns_left_ = returns_total_ = 0;
  std::uint32_t prev = 0;
  for (std::uint32_t k = 0; k < order.size(); ++k) {
    const std::uint32_t e = k + 1;
    const Spec& s = events[order[k]];
    id[order[k]] = e;
    ev_[e] = Event{s.item, s.is_return, prev, kNone};
    ev_[prev].next = e;
    prev = e;
    returns_total_ += s.is_return;
  }
  returns_left_ = returns_total_;
  return id;
}

void EventList::lift(std::uint32_t e) {
  Event& x = ev_[e];
  ev_[x.prev].next = x.next;
  if (x.next != kNone) ev_[x.next].prev = x.prev;
  returns_left_ -= x.is_return;
}

void EventList::unlift(std::uint32_t e) {
  Event& x = ev_[e];
  ev_[x.prev].next = e;
  if (x.next != kNone) ev_[x.next].prev = e;
  returns_left_ += x.is_return;
}

}  // namespace lockstep::checker::lin::detail
