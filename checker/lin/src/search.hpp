// The search (LIN.md): depth first over placements of operations, each level one model step.
// A level holds the state after its step, the candidates to try from it (the calls before the first
// remaining response, earliest response first; one candidate per pid a process-creating call may
// take when the history leaves it open), and the undo log that takes its step back. The states of
// deep levels are dropped as the path grows (all but the last kRecent levels and a thinning set of
// checkpoints; Options::recent_states) and rebuilt by replaying the levels' steps when the search
// backtracks to them, so the stack holds O(path) small records plus a bounded number of states.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checker/lin_judge.hpp"
#include "items.hpp"
#include "memo.hpp"
#include "model/compact.hpp"
#include "model/state_hash.hpp"
#include "state_pool.hpp"

namespace lockstep::checker::lin::detail {

enum class Status : std::uint8_t { Open, Requested, Done };

// One step of a path, enough to replay it.
struct PathStep {
  std::uint32_t item = kNone;
  bool observation = false;
  std::size_t index = 0;  // into History::ops or History::observations
  model::Op op;
  model::Choice choice;
};

// Why a placement failed, kept for the node that got furthest (the violation's explanation).
struct Failure {
  std::uint32_t item = kNone;
  model::Rule rule = model::Rule::P0;
  std::string what, expected, observed;
};

struct SearchResult {
  Verdict verdict = Verdict::Unknown;
  std::vector<PathStep> path;    // Agree: the order; Violation: the longest prefix found
  std::size_t committed = 0;     // Violation/Unknown: leading steps of `path` below the last commit
  bool ended_by_fatal = false;
  std::uint32_t culprit = kNone;  // Violation: the item whose response the prefix could not pass
  bool culprit_requested = false; // ... whose request the prefix placed (it waits for a wake-up)
  std::vector<Failure> failures;  // Violation: what was tried from the prefix and why it failed
  std::string budget_exhausted;
  Stats stats;
};

class Search {
 public:
  Search(const History& h, const Options& o);
  SearchResult run();

 private:
  struct Cand {
    std::uint32_t item;
    model::Pid pid;  // 0: the pid the history binds (or none)
  };
  struct Action {
    enum Kind : std::uint8_t { SetStatus, Lift, Bind, ReqAdd, ReqErase, Console, Flush, Observed, Keys } kind;
    std::uint32_t a = 0, b = 0;
    std::uint64_t c = 0;
  };
  struct Requested {
    std::uint32_t item;
    model::Actor actor;  // the model's actor, as its completions name it
  };
  struct Level {
    PathStep step;                                   // how this level was reached (none at the root)
    std::shared_ptr<const model::Model> state;       // the state after it; may be dropped, see above
    model::StateHash hash;       // of the state (up to renaming: id_keys), without the pid cursor
    model::ObjectsHash objects;  // its objects' part, carried from level to level
    std::vector<Cand> cands;
    std::uint32_t next = 0;
    bool expanded = false;
    bool fatal_end = false;
    std::vector<Action> undo;
  };

  // The loop's parts.
  bool over_budget();
  std::uint64_t try_key(std::uint32_t item) const;
  void expand(Level& l);
  void attempt(const Cand& c);
  void pop();
  void push(Level&& l);
  void commit();
  // How many leading steps of the reported path are the committed levels (0 when the path left them).
  std::size_t committed_prefix() const;
  // Compaction at a commit (LIN.md, "Compaction"): the floor's state loses the tombstones no
  // remaining operation can name, so that copying a state costs what is alive, not what ever lived.
  void compact_floor();
  model::Pins pins();
  // The op as the uncompacted model names its objects (what the path reports and judge() replays).
  model::Op original(const model::Op& op) const;
  std::uint32_t original_id(int kind, std::uint32_t id) const;  // kind 0: procs, 1: lwps
  PathStep original_step(std::size_t depth) const;
  const model::Model& state_at(std::size_t depth);
  void thin_states();

  // One placement's parts (search_step.cpp); each returns false when the placement fails.
  bool place_observation(const Item& it, const model::Model& m);
  bool place_operation(const Item& it, const Cand& c, Level& child);
  bool own_outcome(const Item& it, std::uint32_t item, const model::Op& op, const model::StepResult& r, Level& child);
  bool bind_created(const Item& it, std::uint32_t item, const model::State& before, const model::State& after, std::vector<Action>& undo);
  bool completions(const model::StepResult& r, std::vector<Action>& undo);
  std::vector<std::uint32_t> line_writers(std::uint32_t item, const model::Op& op, const model::StepResult& r, std::size_t lines) const;
  bool console_lines(std::uint32_t item, std::vector<std::string> lines, const std::vector<std::uint32_t>& writers, std::vector<Action>& undo);
  bool console_at_observation(std::uint32_t item, const ObservationPoint& pt);
  std::vector<std::pair<std::uint32_t, std::string>> pending_by_writer() const;
  bool translate(const Item& it, model::Op& out) const;

  // Undoable changes.
  void set_status(std::uint32_t item, Status s, std::vector<Action>& undo);
  void apply_status(std::uint32_t item, Status from, Status to);
  void lift(std::uint32_t ev, std::vector<Action>& undo);
  void bind(Binding::Kind k, std::int32_t sym, std::uint32_t id, std::vector<Action>& undo);
  void rollback(std::vector<Action>& undo);

  // Every object of the current state is keyed by the placement that created it (its item and its
  // rank among that step's new objects of its kind; objects of `before` by their ids), so that the
  // cache sees states that differ only in which serial ids concurrent creations got as one (and the
  // symbol bindings follow from the keys: a created symbol is (item, rank) by construction).
  static constexpr std::uint64_t kCreated = std::uint64_t{1} << 62;
  model::IdKeys id_keys() const;
  void key_new_objects(std::uint32_t item, const model::State& before, const model::State& after, std::vector<Action>& undo);
  Fingerprint fingerprint(const Level& l) const;
  bool remember(const Level& l);
  // Records why a placement failed, when the search stands at the best node (the strings are made
  // only then: `make` returns a Failure).
  template <class F>
  void note(F&& make) {
    if (at_best() && res_.failures.size() < kMaxFailures) res_.failures.push_back(make());
  }
  static constexpr std::size_t kMaxFailures = 64;
  bool at_best() const { return best_on_stack_ && levels_.size() - 1 == best_depth_; }
  void consider_best();
  void snapshot_best();

  const History& h_;
  Options o_;
  StatePool& pool_ = StatePool::of_this_thread();  // outlives every state the search holds
  Prepared p_;
  bool strip_console_;
  // Whether objects get keys (keys_): only the cache's hashes and compaction read them, so a search
  // with neither (a round's quick search) skips a pass over every object of `before`.
  bool keyed_;
  Memo memo_;
  std::vector<Status> status_;
  std::vector<std::uint64_t> keys_[5];  // per kind (procs, lwps, fd tables, descriptions, files), per serial id
  std::vector<std::uint64_t> placed_bits_, done_bits_;
  std::uint64_t zlo_ = 0, zhi_ = 0;  // Zobrist hash of (placed, done)
  std::uint64_t pushes_ = 0;
  std::vector<Requested> requested_;
  std::vector<Requested> erased_;    // ReqErase's undo data, last out first in
  std::uint64_t console_ = 0;        // console lines so far (the states hold none when stripped)
  // The console lines written since the last observation placed, each with the call that writes it
  // in the impl (SPEC K7: a kproc_shutdown's caller writes its banner and its result line itself,
  // between its invocation and its response), judged at the next observation: overlapping calls'
  // lines may reach the console in any interleaving that keeps each call's own order and real time.
  struct Line {
    std::uint32_t writer;
    std::string text;
    std::uint64_t term;  // its part of pending_hash_: (writer, its rank among the writer's lines, text)
  };
  std::vector<Line> pending_;
  std::uint64_t pending_hash_ = 0;             // sum of the pending lines' terms: the same for any order of writers
  std::vector<std::uint32_t> writer_lines_;    // per item: its lines in pending_
  std::vector<std::vector<Line>> flushed_;  // Flush's undo data, last out first in
  std::size_t observed_ = 0;         // observations placed
  std::size_t floor_ = 0;            // the level of the last committed observation: never popped
  std::vector<Level> levels_;
  std::size_t recent_ = 0;           // levels whose states are kept: the last recent_
  std::size_t stride_ = 0;           // levels kept as checkpoints: multiples of stride_
  SearchResult res_;
  // The node that got furthest: most responses explained, then deepest.
  std::size_t best_progress_ = 0, best_depth_ = 0;
  bool have_best_ = false, best_on_stack_ = false;
  std::size_t path_valid_ = 0;  // res_.path's first entries that are still the steps of levels 1.. (snapshot_best)
  std::chrono::steady_clock::time_point start_;
  // Compaction's bookkeeping, for procs (0) and lwps (1), the kinds an op names. An id below
  // survivors_[k].size() is a survivor of the last compaction, whose uncompacted id that vector
  // gives; any later id is the uncompacted one less dropped_[k].
  std::vector<std::uint32_t> survivors_[2];
  std::uint32_t dropped_[2] = {0, 0};
  std::size_t converted_ = 0;  // the levels up to here hold their steps in uncompacted ids
  // Per symbol (lwps 0, procs 1): the items that name it, in order, and how many of them are done
  // for good (placed below the floor); a symbol some item still to come names pins its object.
  std::vector<std::vector<std::uint32_t>> sym_items_[2];
  std::vector<std::uint32_t> sym_done_[2];
  std::vector<std::int32_t> sym_live_[2];  // symbols with an item not yet done, as of the last commit
  bool sym_indexed_ = false;
};

}  // namespace lockstep::checker::lin::detail
