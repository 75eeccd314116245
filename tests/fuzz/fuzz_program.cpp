// Fuzz target: the `lockstep run --replay PROGRAM` text (checker/gen/src/program.cpp: decode, encode),
// and what a replay does with the decoded choices on the model side: each step resolved by the op
// chooser against the model's state (checker/gen/src/op_chooser.cpp) and applied to the model, with
// every SPEC §6 invariant checked after it (model/src/invariants.cpp). The impl side of a replay
// (threads, a scheduler) is the conformance runs' business, not a parser's.
// The input is the program text. Properties, beyond "no crash, no UB, no leak, no hang":
//  * bad text is refused with one printable line saying where and why;
//  * encode(decode(text)) decodes to the same program (up to trailing zero choices, which a step
//    reads as 0 anyway) and is a fixpoint of decode+encode;
//  * the model keeps every invariant on every step of the program (it is the reference).
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "checker/program.hpp"
#include "fuzz_util.hpp"
#include "model/invariants.hpp"
#include "model/model.hpp"

using namespace lockstep;
using namespace lockstep::checker;

namespace {

// A replay of a program from a failing run is at most `lockstep run --steps` long (100000); the
// model's side of the first steps is what the decoded choices can steer.
constexpr std::size_t kMaxSteps = 256;

Program without_trailing_zeros(Program p) {
  for (auto& s : p.steps)
    while (!s.empty() && s.back() == 0) s.pop_back();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Program p;
  std::string error;
  if (!decode(text, p, error)) {
    if (error.empty() || !fuzz::one_printable_line(error)) fuzz::fail("decode's error is not one printable line: " + error);
    return 0;
  }
  const std::string enc = encode(p);
  Program q;
  if (!decode(enc, q, error)) fuzz::fail(fmt::format("decode refuses encode's text '{}': {}", enc, error));
  if (!(without_trailing_zeros(q) == without_trailing_zeros(p))) fuzz::fail(fmt::format("decode(encode(decode(text))) differs: '{}'", enc));
  if (encode(q) != enc) fuzz::fail(fmt::format("encode is not a fixpoint of decode: '{}' -> '{}'", enc, encode(q)));

  // The model's side of the replay, in the configuration `lockstep run` uses by default.
  const ProgramConfig c;
  model::Model m(model::Config{c.maxproc, true, c.pid_max});
  for (std::size_t i = 0; i < p.steps.size() && i < kMaxSteps; ++i) {
    const model::Op op = resolve(m.state(), c, p.steps[i]);
    const model::State before = m.state();
    const model::StepResult r = m.apply(op);
    std::vector<model::Violation> v = model::check_step(before, op, r, m.state());
    for (model::Violation& x : model::check_state(m.state())) v.push_back(std::move(x));
    if (!v.empty()) fuzz::fail(fmt::format("step {} of '{}': {}", i, enc, model::to_string(v.front())));
    if (r.outcome.is_fatal()) break;  // SPEC §2: the instance is dead, the program ends
  }
  return 0;
}
