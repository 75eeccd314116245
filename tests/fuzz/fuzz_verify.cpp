// Fuzz target: the input side of `lockstep verify --partial-order` — from trace text to the
// partial-order problem: the reader, to_vtrace (checker/verify/src/verify_input.cpp), the happens-before
// graph (checker/verify/src/happens_before.cpp) and the Z3 encoding of the history (the first pass and the
// problem of checker/verify/src/verify_partial.cpp, through checker/verify/src/verify_encode.cpp and
// verify_checks.cpp). Z3 gets a resource limit so small that no check can settle anything: the
// problem is built in full, the solving (seconds per input) is not fuzzed.
// The input is a whole trace file. Properties, beyond "no crash, no UB, no leak, no hang":
//  * bad input is std::invalid_argument with one printable line (verify exits 2 with it); any other
//    exception is what `lockstep` reports as an internal error (exit 4), so here it is a crash;
//  * the happens-before graph only points forward in the file: the file order is a linearisation,
//    `before` is a strict order within it, and the edge and pair counts agree with it;
//  * a violating order the report gives (Z3 settles trivial problems even at that limit) is a
//    linearisation of the graph.
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "checker/happens_before.hpp"
#include "checker/trace_io.hpp"
#include "checker/verify.hpp"
#include "checker/verify_partial.hpp"
#include "fuzz_util.hpp"

using namespace lockstep;
using namespace lockstep::checker;

namespace {

void check_graph(const VTrace& t, const HappensBefore& hb) {
  const std::size_t n = t.events.size();
  if (hb.size() != n) fuzz::fail(fmt::format("the graph has {} vertices for {} events", hb.size(), n));
  std::vector<std::size_t> file_order(n);
  std::iota(file_order.begin(), file_order.end(), 0);
  if (!hb.is_linearisation(file_order)) fuzz::fail("the file order is not a linearisation of the happens-before graph");
  std::size_t ordered = 0;
  for (std::size_t a = 0; a < n; ++a)
    for (std::size_t b = 0; b < n; ++b)
      if (hb.before(a, b)) {
        if (a >= b) fuzz::fail(fmt::format("event {} before event {}, against the file order", a, b));
        ++ordered;
      }
  if (hb.concurrent_pairs() != n * (n - (n ? 1 : 0)) / 2 - ordered) fuzz::fail("concurrent_pairs disagrees with before()");
  std::size_t by_why = 0;
  for (std::size_t k : hb.edges_by_why()) by_why += k;
  if (by_why != hb.edges()) fuzz::fail("edges_by_why does not add up to edges()");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::MemFile in;
  Trace tr;
  try {
    tr = read_trace(in.write(data, size));
  } catch (const TraceFormatError&) {
    return 0;  // the reader's own target checks its errors
  }
  const VTrace t = to_vtrace(tr.header, tr.events);
  try {
    const HappensBefore hb(t);
    check_graph(t, hb);
    // rlimit 1: every solver check stops at once, after the whole problem was built and asserted.
    const PartialOrderReport rep = verify_partial_order(t, PartialOrderOptions{.rlimit = 1});
    if (rep.events != t.events.size() || rep.edges != hb.edges()) fuzz::fail("the report's counts differ from the graph's");
    for (const PartialOrderVerdict& v : rep.verdicts)
      if (!v.holds && !hb.is_linearisation(v.order)) fuzz::fail(fmt::format("{}'s violating order is not a linearisation", model::rule_name(v.rule)));
  } catch (const std::invalid_argument& e) {
    if (!fuzz::one_printable_line(e.what()) || std::string(e.what()).empty()) fuzz::fail(std::string("bad input's message is not one printable line: ") + e.what());
  }
  return 0;
}
