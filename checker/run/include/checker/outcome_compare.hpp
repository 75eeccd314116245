// render_model, render_returned and wake_rule live in checker/trace.hpp (the plug-in path uses them too).
// The comparison of one step's outcome: what the model said against what the impl's call ended in,
// and both rendered alike ("0", "-1 EBADF", "lwp#3", "BLOCKED", "FATAL(L3-stale)") for listings.
#pragma once
#include <optional>
#include <string>

#include "checker/impl_result.hpp"
#include "checker/lockstep.hpp"
#include "checker/trace.hpp"
#include "checker/impl_symbols.hpp"
#include "model/op.hpp"
#include "model/outcome.hpp"
#include "model/rules.hpp"

namespace lockstep::checker {

std::string render_impl(const ImplResult& r, const model::OpBody& b, const ImplSymbols& sym);
// nullopt when the impl's result (nullopt: the call is still blocked) is the model's outcome; else
// a note on how they differ (may be empty when the rendered values say it all).
std::optional<std::string> compare(const model::Outcome& m, const std::optional<ImplResult>& r, const model::OpBody& b,
                                   const ImplSymbols& sym);
// The impl's result in the trace's terms (handles mapped back to symbols; a handle no symbol names is
// `lwp_unnamed`). nullopt: the call is still blocked. An impl FATAL id the SPEC does not name, or an
// exception, has no model counterpart: it is kind "dead" with the text as its label.
TraceOutcome impl_outcome(const std::optional<ImplResult>& r, const ImplSymbols& sym);
// A recorded outcome (the model's, or the impl's from impl_outcome) rendered as render_model and
// render_impl render them, for listings.
std::string render_outcome(const TraceOutcome& o, const model::OpBody& b);

}  // namespace lockstep::checker
