// Whether a model outcome explains what the impl answered, by what the op's C call returns
// (op_traits' Returns): only what the caller can see is compared (a void call's return, an errno,
// -1 and errno, fstat's size, curlwp's lwp through the symbol bindings, the FATAL id). Rendered alike
// on both sides for the verdict.
#pragma once
#include <cstdint>
#include <string>

#include "checker/trace.hpp"
#include "model/op.hpp"
#include "model/outcome.hpp"
#include "model/rules.hpp"

namespace lockstep::checker::lin::detail {

// `impl_lwp` is the model id curlwp's answer is bound to now (kNoLwp for NULL; Symbols::kUnbound
// when its symbol names an object not created yet in this order).
bool explains(const model::Outcome& m, const TraceOutcome& impl, const model::OpBody& b, std::uint32_t impl_lwp);

std::string render_model(const model::Outcome& m, const model::OpBody& b);
std::string render_impl(const TraceOutcome& impl, const model::OpBody& b);

// The SPEC rule a wake-up of a call blocked in this op is about (S2 for a suspend or shutdown, S5 for
// a wait for exit, S3 for a parked suspend_check).
model::Rule wake_rule(const model::OpBody& b);

}  // namespace lockstep::checker::lin::detail
