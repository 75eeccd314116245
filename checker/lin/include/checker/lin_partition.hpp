// P-compositionality (Horn & Kroening, "Faster linearizability checking via P-compositionality",
// 2015): when the model is a product of independent parts and every operation touches one part, a
// history is linearizable iff each part's sub-history is, and the search is exponential only in the
// size of the largest part. A Partitioner says how to split; an unsound split (two parts that do
// interact) can turn a violation into agreement, so a partitioner must be conservative.
//
// Which splits SPEC allows. One kernel instance is not a product of independent parts in general:
//   - every host op reads its host's curlwp, so all of one host's ops are in one part;
//   - a host in the IMPLICIT context acts in process 1 (its fd table, uid and pid: P6-P8, and it is
//     the parent of an rfork), and every host starts there; newlwp(0|1) and kthread_create (which
//     copies process 0's fd table) touch processes 0 and 1 too;
//   - the process table is global: a pid is allowed only if no process holds it (P1, R5), the
//     reference allocator's cursor moves with every creation, and K1's EAGAIN reads nprocs, which
//     every creation and free changes;
//   - the file namespace is global (P7: open/O_CREAT by path, sizes shared through descriptions);
//   - the clock is global (§5: a tick ends every expired wait), the console is one log (K7), the
//     reaper is one actor for all kthreads, and a free reparents children to process 1 (R6);
//   - a §7 observation shows all of it at once.
// So a split of one instance's hosts into groups is sound only when all of these hold: no
// observation; no tick, no kthread op and no K1/K6; every creation binds its pid and the groups'
// pids are disjoint; no group ever acts in process 0 or 1 (no op in the IMPLICIT context, which
// every host starts in, and no newlwp(0|1)); the groups share no process, lwp, fd table or path.
// The second-to-last condition already excludes every history that starts from rump_init's state,
// because each host's first op then runs in process 1. So within one instance the only split the
// SPEC allows for the histories lockstep records is the trivial one, `whole`; histories of separate
// kernel instances (e.g. a stress run of several instances) are the sound non-trivial case, and
// their recorder can hand them over as separate Parts.
#pragma once
#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "checker/lin_history.hpp"
#include "checker/lin_judge.hpp"

namespace lockstep::checker::lin {

// A sub-history and where its operations and observations come from in the whole.
struct Part {
  History history;
  std::vector<std::size_t> ops;           // History::ops index in the whole, per op of the part
  std::vector<std::size_t> observations;  // likewise for the observations
};

using Partitioner = std::function<std::vector<Part>(const History&)>;

// The trivial partition: the whole history as one part (always sound).
std::vector<Part> whole(const History& h);

struct PartsJudgement {
  // Violation if any part has one; else Unknown if any part ran out of budget; else Agree.
  Verdict verdict = Verdict::Agree;
  std::vector<Judgement> parts;
  std::optional<std::size_t> deciding;  // the part that made a Violation or Unknown verdict
};

// Judges each part with `options` (each part gets the whole budget).
PartsJudgement judge_parts(const History& h, const Partitioner& split, const Options& options = {});

}  // namespace lockstep::checker::lin
