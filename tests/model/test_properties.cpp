// RapidCheck properties over random programs (program_gen.hpp):
//  (a) SPEC §6 invariants hold after every step of every generated program;
//  (b) the model never throws or crashes on any op sequence, misuse included, and a step
//      that does not reach the kernel (NotRunnable, Dead) changes nothing;
//  (c) the model is a deterministic function of the program.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <ostream>

#include "helpers.hpp"
#include "program_gen.hpp"
#include "situations.hpp"

namespace lockstep::model::testing {

// Counterexamples print as the program they resolve to, one op per line.
inline void showValue(const ProgramSeed& p, std::ostream& os) {
  os << "maxproc=" << p.maxproc << " initialized=" << p.initialized << " chaos=" << p.chaos << "\n";
  run_program(p, [&](const State&, const Op& op, const Choice& c, const StepResult& r, const State&) {
    os << "  " << to_string(op);
    if (c.pid) os << " [pid " << *c.pid << "]";
    os << " -> " << r.outcome.label << " " << r.outcome.ret << "\n";
  });
}

namespace {

rc::Gen<ProgramSeed> programs(bool allow_chaos) {
  return rc::gen::build<ProgramSeed>(
      rc::gen::set(&ProgramSeed::maxproc, rc::gen::element(3, 4, 5, 8, kDefaultMaxproc)),
      rc::gen::set(&ProgramSeed::initialized, rc::gen::weightedElement<bool>({{19, true}, {1, false}})),
      rc::gen::set(&ProgramSeed::chaos, allow_chaos ? rc::gen::element(false, true) : rc::gen::just(false)),
      rc::gen::set(&ProgramSeed::steps,
                   rc::gen::scale(2.0, rc::gen::container<std::vector<std::uint64_t>>(rc::gen::arbitrary<std::uint64_t>()))));
}

// (a)
RC_GTEST_PROP(Properties, InvariantsHoldOnRandomPrograms, ()) {
  const ProgramSeed p = *programs(false);
  SituationTracker tracker;
  std::set<Situation> seen;
  Fatal died = Fatal::None;
  run_program(p, [&](const State& before, const Op& op, const Choice&, const StepResult& res, const State& after) {
    const auto vs = check_state(after);
    if (!vs.empty()) RC_FAIL("check_state after " + to_string(op) + ":\n" + describe(vs));
    const auto ss = check_step(before, op, res, after);
    if (!ss.empty()) RC_FAIL("check_step of " + to_string(op) + ":\n" + describe(ss));
    for (Situation s : tracker.observe(before, op, res, after)) seen.insert(s);
    if (res.outcome.is_fatal()) died = res.outcome.fatal;
  });
  for (std::size_t s = 0; s < kSituationNames.size(); ++s)
    RC_CLASSIFY(seen.count(static_cast<Situation>(s)) > 0, std::string(kSituationNames[s]));
  RC_TAG(died == Fatal::None ? std::string("survived") : "FATAL(" + std::string(fatal_name(died)) + ")");
}

// Fully arbitrary ops, not resolved against the state at all: any actor, any argument.
Op wild_op(Rng& r) {
  static const std::vector<int> ints = {0, 1, 2, 3, -1, 4, 1 << 12, 1 << 2, std::numeric_limits<int>::max(),
                                        std::numeric_limits<int>::min()};
  const auto i = [&] { return r.percent(50) ? r.pick(ints) : static_cast<int>(r.next()); };
  const auto u = [&] { return static_cast<std::uint32_t>(r.percent(50) ? r.below(8) : r.next()); };
  Actor a;
  switch (r.below(4)) {
    case 0: a = Actor::host(static_cast<HostId>(r.percent(80) ? r.below(4) : r.next())); break;
    case 1: a = Actor::kthread(u()); break;
    case 2: a = Actor::clock(); break;
    default: a = Actor::reaper(); break;
  }
  if (r.percent(5)) a.index = static_cast<std::uint32_t>(r.next());  // beyond any HostId
  const bool fit = r.percent(70);  // most wild ops are performed by the right kind of actor
  const std::int64_t big = r.percent(50) ? static_cast<std::int64_t>(r.below(50)) : static_cast<std::int64_t>(r.next());
  const std::size_t kind = r.below(kOpKindCount);
  if (fit) {
    if (kind == kTick) a = Actor::clock();
    else if (kind == kReap) a = Actor::reaper();
    else if (kind == kWork || kind == kKthreadExit || kind == kSuspendCheck) a = Actor::kthread(u());
    else a = Actor::host(static_cast<HostId>(r.below(4)));
  }
  switch (kind) {
    case kInit: return {a, op::Init{}};
    case kRfork: return {a, op::Rfork{i()}};
    case kNewlwp: return {a, op::Newlwp{i()}};
    case kSwitch: return {a, op::Switch{r.percent(20) ? kNoLwp : u()}};
    case kRelease: return {a, op::Release{}};
    case kCurlwp: return {a, op::Curlwp{}};
    case kGetpid: return {a, op::Getpid{}};
    case kGetppid: return {a, op::Getppid{}};
    case kOpen: return {a, op::Open{std::string(r.below(4), 'p'), r.percent(50)}};
    case kWrite: return {a, op::Write{i(), big}};
    case kFstat: return {a, op::Fstat{i()}};
    case kClose: return {a, op::Close{i()}};
    case kDup: return {a, op::Dup{i()}};
    case kGetuid: return {a, op::Getuid{}};
    case kSetuid: return {a, op::Setuid{u()}};
    case kKthreadCreate: return {a, op::KthreadCreate{i(), std::string(r.below(30), 'n')}};
    case kKthreadExit: return {a, op::KthreadExit{i()}};
    case kSuspend: return {a, op::Suspend{u(), i()}};
    case kResume: return {a, op::Resume{u()}};
    case kSuspendCheck: return {a, op::SuspendCheck{u()}};
    case kWork: return {a, op::Work{}};
    case kKprocStart: return {a, op::KprocStart{std::string(r.below(30), 's')}};
    case kKprocShutdown: return {a, op::KprocShutdown{u()}};
    case kWaitExit: return {a, op::WaitExit{u(), i()}};
    case kReap: return {a, op::Reap{u()}};
    default: return {a, op::Tick{big}};
  }
}

// Applies `op` and checks the contracts every step has, whatever the op: no exception,
// no state change when the kernel was not reached, Dead forever after a FATAL.
void apply_checked(Model& m, const Op& op, const Choice& c) {
  const State before = m.state();
  StepResult res;
  try {
    res = m.apply(op, c);
  } catch (const std::exception& e) {
    RC_FAIL("apply threw on " + to_string(op) + ": " + e.what());
  } catch (...) {
    RC_FAIL("apply threw on " + to_string(op));
  }
  const Outcome& o = res.outcome;
  if (before.fatal != Fatal::None) RC_ASSERT(o.kind == OutcomeKind::Dead);
  if (o.kind == OutcomeKind::NotRunnable || o.kind == OutcomeKind::Dead) {
    RC_ASSERT(m.state() == before);
    RC_ASSERT(res.completions.empty());
  }
  if (o.kind == OutcomeKind::Fatal) {
    RC_ASSERT(o.fatal != Fatal::None);
    RC_ASSERT(m.state().fatal == o.fatal);
  } else {
    RC_ASSERT(m.state().fatal == before.fatal);
  }
  if (o.kind == OutcomeKind::Blocked && op.actor.kind == Actor::Kind::Host)
    RC_ASSERT(m.state().wait_of(static_cast<HostId>(op.actor.index)) != nullptr);
}

// (b) with the stateful generator, chaos included (overflowing ticks and sizes, odd hosts).
RC_GTEST_PROP(Properties, NeverThrowsOnGeneratedPrograms, ()) {
  const ProgramSeed p = *programs(true);
  Model m(Config{.maxproc = p.maxproc, .initialized = p.initialized});
  ProgramBuilder b(m, p.chaos);
  for (std::size_t i = 0; i < p.steps.size(); ++i) {
    Rng r(p.steps[i] ^ (0x632be59bd9b4e019ull * (i + 1)));
    Choice c;
    const Op op = b.next(r, c);
    apply_checked(m, op, c);
  }
  RC_TAG(m.state().fatal == Fatal::None ? std::string("alive") : "FATAL(" + std::string(fatal_name(m.state().fatal)) + ")");
}

// (b) with ops that ignore the state entirely.
RC_GTEST_PROP(Properties, NeverThrowsOnArbitraryOps, ()) {
  const auto seeds = *rc::gen::scale(2.0, rc::gen::container<std::vector<std::uint64_t>>(rc::gen::arbitrary<std::uint64_t>()));
  const bool initialized = *rc::gen::weightedElement<bool>({{9, true}, {1, false}});
  const int maxproc = *rc::gen::element(0, 2, 3, 64, -1);
  Model m(Config{.maxproc = maxproc, .initialized = initialized});
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    Rng r(seeds[i] ^ (0x9e3779b97f4a7c15ull * (i + 1)));
    Choice c;
    if (r.percent(10)) c.pid = static_cast<Pid>(r.percent(50) ? r.below(10) : r.next());
    apply_checked(m, wild_op(r), c);
  }
  RC_TAG(m.state().fatal == Fatal::None ? std::string("alive") : "FATAL(" + std::string(fatal_name(m.state().fatal)) + ")");
}

// (c) the model is pure: replaying a program gives the same outcomes and state.
RC_GTEST_PROP(Properties, ReplayIsDeterministic, ()) {
  const ProgramSeed p = *programs(false);
  std::vector<std::string> first, second;
  const auto record = [](std::vector<std::string>& into) {
    return [&into](const State&, const Op& op, const Choice&, const StepResult& r, const State&) {
      into.push_back(to_string(op) + " -> " + std::string(r.outcome.label) + " " + std::to_string(r.outcome.ret) + " " +
                     std::to_string(r.completions.size()));
    };
  };
  const Model a = run_program(p, record(first));
  const Model b = run_program(p, record(second));
  RC_ASSERT(first == second);
  RC_ASSERT(a.state() == b.state());
}

}  // namespace
}  // namespace lockstep::model::testing
