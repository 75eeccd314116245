// What `lockstep stress` prints and writes: the summaries, the JUnit report, and the files of a run
//   NAME.history.jsonl   the recorded history as the judge read it (always, when files are written):
//                        one line per call with its interval, so an UNKNOWN or a DEADLOCK keeps it
//   NAME.trace.jsonl     the judged order as a trace with real-time `after` edges (stress_trace.hpp);
//                        on a violation, the shrunk witness's prefix and culprit
//   NAME.svg             the witness drawn: one lane per thread, each call's interval, the
//                        linearizable prefix in order, and the call no order explains
// All are written atomically.
#pragma once
#include <string>
#include <vector>

#include "checker/stress.hpp"
#include "checker/stress_verdict.hpp"

namespace lockstep::checker::stress {

std::string recording_summary(const StressRecording& rec, const StressConfig& c);
std::string verdict_summary(const StressRecording& rec, const StressVerdict& v);
std::string stress_junit(const StressRecording& rec, const StressVerdict& v, const StressConfig& c);

// One line per op: {"op": ..., "call_ns": ..., "ret_ns": ..., "answer": ...}, after a header line.
std::string history_text(const lin::History& h, const std::vector<std::int64_t>& call_ns, const std::vector<std::int64_t>& ret_ns);
// The SVG drawing of a (witness) history and its judgement.
std::string history_svg(const lin::History& h, const lin::Judgement& j, const std::string& title);

struct StressFiles {
  std::vector<std::string> written;
  std::string error;  // the first write that failed
};
StressFiles write_stress_files(const std::string& dir, const std::string& name, const StressRecording& rec, const StressVerdict& v,
                               std::uint64_t seed, const std::vector<std::string>& faults);

}  // namespace lockstep::checker::stress
