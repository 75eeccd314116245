// The history's events (invocations and responses) on their global order, as a doubly linked list
// from which the search lifts the events of placed operations and puts them back, last out first
// in, when it backtracks (Porcupine's lift/unlift; Knuth's dancing links). What is left is what
// the search still has to explain: the calls before the first remaining response are exactly the
// operations that may take effect next (Lowe's just-in-time linearisation).
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace lockstep::checker::lin::detail {

inline constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

class EventList {
 public:
  struct Spec {
    std::uint64_t position;  // on the global order
    std::uint8_t rank;       // ties at one position: smaller rank first
    std::uint32_t item;
    bool is_return;
  };

  // Sorts the events (stable: equal keys keep their order in `events`). Returns, per input index,
  // the event's id for lift/unlift.
  std::vector<std::uint32_t> build(const std::vector<Spec>& events);

  std::uint32_t first() const { return ev_[0].next; }  // kNone when empty
  std::uint32_t next(std::uint32_t e) const { return ev_[e].next; }
  std::uint32_t item(std::uint32_t e) const { return ev_[e].item; }
  bool is_return(std::uint32_t e) const { return ev_[e].is_return; }
  std::size_t returns_left() const { return returns_left_; }
  std::size_t returns_total() const { return returns_total_; }

  void lift(std::uint32_t e);
  void unlift(std::uint32_t e);  // only in the reverse order of the lifts

 private:
  struct Event {
    std::uint32_t item = kNone;
    bool is_return = false;
    std::uint32_t prev = kNone, next = kNone;
  };
  std::vector<Event> ev_;  // ev_[0] is the head sentinel
  std::size_t returns_left_ = 0, returns_total_ = 0;
};

}  // namespace lockstep::checker::lin::detail
