// Fuzz target: the trace reader (checker/trace/src/trace_read.cpp, traces/FORMAT.md), every format
// version it reads (1.0, 1.1, 1.2: header, events, observed*, order, after).
// The input is a whole trace file. Properties, beyond "no crash, no UB, no leak, no hang":
//  * bad input is a TraceFormatError whose message is one printable UTF-8 line "FILE:LINE: what"
//    with LINE a line of the file (or the one after its end, for a truncated file);
//  * whatever the reader accepts, the writer (checker/trace/src/trace_write.cpp) writes as a trace the
//    reader accepts again, identical up to what the format defines as normalisation (the version
//    string, defaults left out), and writing that again gives the same text.
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "checker/trace_io.hpp"
#include "fuzz_util.hpp"

using namespace lockstep;
using namespace lockstep::checker;

namespace {

void check_message(const std::string& msg, const std::string& path, const std::uint8_t* data, std::size_t size) {
  if (!fuzz::one_printable_line(msg)) fuzz::fail("the error is not one printable line: " + msg);
  const std::string prefix = path + ":";
  if (msg.compare(0, prefix.size(), prefix) != 0) fuzz::fail("the error does not start with FILE: " + msg);
  std::size_t i = prefix.size(), line = 0;
  while (i < msg.size() && msg[i] >= '0' && msg[i] <= '9' && i - prefix.size() < 12) line = line * 10 + static_cast<std::size_t>(msg[i++] - '0');
  if (i == prefix.size() || msg.compare(i, 2, ": ") != 0 || i + 2 == msg.size()) fuzz::fail("the error is not FILE:LINE: what: " + msg);
  std::size_t lines = 0;
  for (std::size_t k = 0; k < size; ++k) lines += data[k] == '\n';
  if (size > 0 && data[size - 1] != '\n') ++lines;  // a last line without its newline
  if (line < 1 || line > lines + 1) fuzz::fail(fmt::format("the error names line {} of a file of {} lines: {}", line, lines, msg));
}

// What the writer may change: it writes its own version, leaves out what the format defaults or
// ignores for the case at hand (expect's fields beyond the verdict; `ret` of an outcome that did not
// return).
void normalise(TraceOutcome& o) {
  if (o.kind != model::OutcomeKind::Returned) o.ret = 0;
}
void normalise(Trace& t) {
  t.header.major = kTraceMajor;
  t.header.minor = kTraceMinor;
  TraceExpect& x = t.header.expect;
  if (x.verdict == Verdict::Agree) x.step = 0;
  if (x.verdict != Verdict::Diverge) {
    x.rule = TraceExpect{}.rule;
    x.what.clear(), x.expected.clear(), x.observed.clear();
  }
  for (TraceEvent& e : t.events) {
    normalise(e.outcome);
    for (TraceCompletion& c : e.woke) normalise(c.outcome);
    if (e.observed) normalise(*e.observed);
    if (e.observed_woke)
      for (TraceCompletion& c : *e.observed_woke) normalise(c.outcome);
  }
}

std::string first_difference(const Trace& a, const Trace& b) {
  if (!(a.header == b.header)) return "the header";
  if (a.events.size() != b.events.size()) return fmt::format("{} events, then {}", a.events.size(), b.events.size());
  for (std::size_t i = 0; i < a.events.size(); ++i)
    if (!(a.events[i] == b.events[i])) return fmt::format("event {}: {}\nthen: {}", i, event_line(a.events[i]), event_line(b.events[i]));
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::MemFile in, again;
  const std::string& path = in.write(data, size);
  Trace t;
  try {
    t = read_trace(path);
  } catch (const TraceFormatError& e) {
    check_message(e.what(), path, data, size);
    return 0;
  }
  // Written and read back: the same trace, up to normalisation.
  const std::string text = trace_text(t.header, t.events);
  Trace back;
  try {
    back = read_trace(again.write(text));
  } catch (const TraceFormatError& e) {
    fuzz::fail(fmt::format("the reader refuses what the writer wrote of a trace it accepted: {}\n{}", e.what(), text));
  }
  normalise(t);
  if (const std::string d = first_difference(t, back); !d.empty()) fuzz::fail("read, written and read again, the trace differs at " + d + "\n" + text);
  if (trace_text(back.header, back.events) != text) fuzz::fail("writing is not a fixpoint:\n" + text);
  return 0;
}
