// One program in lockstep on a plug-in SUT (see sut_lockstep.hpp and SUT.md).
//
// Per step: resolve the op against the model; run the model step (an op that allocates a pid waits
// for the SUT's answer first, so that the model binds the pid the SUT chose); send the call; collect
// what the SUT says until every answer the model predicts has come (each within the watchdog), and,
// when the call blocks in the model, for the block window more; then judge. An answer the model did not
// predict is explained only one way: a timed wait that the SUT timed out earlier than the model's clock
// says — allowed once real time since the call covers timo - 1 ticks — and then the step is judged
// again with the model's clock advanced to that deadline first. Anything else is a divergence.
#include "checker/sut_lockstep.hpp"
#include "checker/sut_calls.hpp"
#include "checker/sut_state.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <regex>
#include <set>
#include <utility>

#include "checker/observation.hpp"

#include <fmt/format.h>

#include "model/op_traits.hpp"

namespace lockstep::checker::sut {

using namespace lockstep::model;

namespace {

using ms = std::chrono::milliseconds;

// The timeout of a blocking call in ticks (0: none).
std::int64_t timo_of(const OpBody& b) {
  if (const auto* s = std::get_if<op::Suspend>(&b)) return s->timo;
  if (const auto* w = std::get_if<op::WaitExit>(&b)) return w->timo;
  if (std::holds_alternative<op::KprocShutdown>(b)) return 60 * kHz;
  return 0;
}

// The console lines in what the SUT wrote: K7's lines, which FreeBSD prints as "Waiting ... to
// stop..." and the verdict on one line, and the premature-exit line; other output is not the console.
std::vector<std::string> console_lines(const std::string& out) {
  static const std::string waiting = "Waiting (max 60 seconds) for system process";
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < out.size()) {
    std::size_t nl = out.find('\n', pos);
    if (nl == std::string::npos) nl = out.size();
    std::string line = out.substr(pos, nl - pos);
    pos = nl + 1;
    // A "Waiting ..." entry ends with "...": what follows on the line is the next entry.
    while (!line.empty()) {
      std::string entry = line;
      line.clear();
      if (entry.rfind(waiting, 0) == 0) {
        const std::size_t dots = entry.find("...");
        if (dots != std::string::npos && dots + 3 < entry.size()) {
          line = entry.substr(dots + 3);
          entry.resize(dots + 3);
        }
      }
      if (entry.rfind(waiting, 0) == 0 || entry == "stopped" || entry == "timed out" ||
          (entry.rfind("Kernel thread \"", 0) == 0 && entry.find("exited prematurely.") != std::string::npos))
        lines.push_back(entry);
    }
  }
  return lines;
}


class SutRun {
 public:
  SutRun(const SutRunConfig& c, SutProcess& p, std::uint32_t next_slot, std::vector<std::uint32_t> free_slots)
      : c_(c), p_(p), m_(Config{c.program.maxproc, true, c.program.pid_max}) {
    next_slot_ = next_slot;
    free_slots_ = std::move(free_slots);
    stderr_from_ = p.stderr_text().size();
    tick_ns_ = p.tick_ns() > 0 ? p.tick_ns() : c.tick_ns;
    introspect_ = c.introspect && has_introspection(p.capabilities());
    reaper_ = static_cast<std::uint16_t>(c.program.chooser.hosts);
  }

  SutRunResult run(const Program& prog) {
    const auto t0 = Clock::now();
    r_.spawn_seconds = p_.spawn_seconds();
    if (start()) {
      for (std::size_t i = 0; i < prog.steps.size() && !failed(); ++i) {
        const ChosenStep st = resolve_step(m_.state(), c_.program, prog.steps[i]);
        r_.program_steps = i + 1;
        if (!catch_up()) break;
        if (arms_timed_wait(st.op) && !align_clock_for_timed_wait()) break;
        if (std::holds_alternative<op::Tick>(st.op.body)) tick(std::get<op::Tick>(st.op.body).n);
        else step(st.op, false);
        if (!failed() && m_.state().fatal != Fatal::None) break;  // the instance is dead: the program ends
        if (!failed() && c_.probe) probe();
        if (!failed() && introspect_) compare_state();
      }
      if (!failed() && m_.state().fatal == Fatal::None) finish();
    }
    r_.output = p_.output();
    r_.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return std::move(r_);
  }

 private:
  struct Pending {
    Actor actor;
    Op op;
    Clock::time_point sent;
    std::optional<Tick> armed;  // a timed wait's timeout in the model: its deadline less the clock at the request
    Clock::time_point seen_blocked;  // when lockstep judged it blocked: the SUT's call had begun by then
  };

  bool failed() const { return r_.verdict != SutVerdict::Agree; }
  // What the SUT wrote to stderr during this program (a child reset between programs keeps its file).
  std::string own_stderr() const {
    std::string s = p_.stderr_text();
    return s.size() > stderr_from_ ? s.substr(stderr_from_) : std::string();
  }
  void fail(SutVerdict v, Rule rule, std::string text) {
    if (failed()) return;
    r_.verdict = v;
    r_.rule = rule;
    r_.failure = std::move(text);
  }

  // --- the child ------------------------------------------------------------------------------

  bool start() {
    Request q;
    q.seq = ++seq_;
    q.call = Call::RumpInit;
    t_init_sent_ = Clock::now();
    if (!send(q)) return false;
    std::optional<Reply> r = await(q.seq, Clock::now() + c_.watchdog);
    if (!r) {
      if (!failed()) fail(SutVerdict::Deadlock, Rule::P0, fmt::format("rump_init() did not return within {} ms", c_.watchdog.count()));
      return false;
    }
    answered({q.seq});
    t_init_ = Clock::now();
    // The child's own readings around the call narrow the interval (same clock: CLOCK_MONOTONIC),
    // when they are inside the round trip as they must be.
    const Clock::time_point began{std::chrono::nanoseconds(r->began_ns)}, ended{std::chrono::nanoseconds(r->ended_ns)};
    if (t_init_sent_ <= began && began <= ended && ended <= t_init_) t_init_sent_ = began, t_init_ = ended;
    return true;
  }

  bool send(Request q) {
    ++r_.calls;
    if (p_.send(q)) return true;
    gone("while lockstep sent it a call");
    return false;
  }

  // The child died or exited: a verdict of its own unless the model expected a FATAL.
  void gone(const std::string& when) {
    fail(SutVerdict::Divergence, Rule::P0,
         fmt::format("the SUT's process ended {} ({}){}", when, p_.termination(), output_tail()));
  }
  std::string output_tail() const {
    std::string out = p_.output();
    if (out.empty()) return "";
    if (out.size() > 600) out = "..." + out.substr(out.size() - 600);
    return fmt::format("; its last output:\n{}", out);
  }

  // Reads one reply into got_ (or handles a Forked / Exited one). false: nothing by `until`, or the
  // child is gone (gone_ set).
  bool receive(Clock::time_point until) {
    Reply r;
    switch (p_.next(r, until)) {
      case SutProcess::Event::Timeout: return false;
      case SutProcess::Event::Gone: gone_ = true; return false;
      case SutProcess::Event::Reply: break;
    }
    if (r.kind == ReplyKind::Forked) {
      fail(SutVerdict::Untrusted, Rule::P0, fmt::format("the SUT called fork() (the copy is pid {}); its results are not trusted", r.pid));
      return false;
    }
    if (r.kind == ReplyKind::Exited) {
      if (r.ret != 0) {  // exit with a failure status: a death, as a FATAL may be (judged like a crash)
        gone_ = true;
        return false;
      }
      fail(SutVerdict::Untrusted, Rule::P0, "the SUT called exit(0); its results are not trusted");
      return false;
    }
    if (got_.count(r.seq) != 0 || answered_.count(r.seq) != 0) {
      fail(SutVerdict::Divergence, Rule::P0, fmt::format("a call answered twice ({})", r.text[0] ? r.text : "a second reply"));
      return false;
    }
    got_[r.seq] = r;
    arrived_[r.seq] = Clock::now();
    return true;
  }

  // Waits for the reply to `seq` (others that come meanwhile are kept in got_).
  std::optional<Reply> await(std::uint32_t seq, Clock::time_point until) {
    while (got_.count(seq) == 0) {
      if (!receive(until)) {
        if (gone_) gone("");
        return std::nullopt;
      }
    }
    return got_.at(seq);
  }

  // --- bindings ----------------------------------------------------------------------------------

  std::uint64_t lwp_handle(LwpId l) const {
    if (l == kNoLwp) return 0;
    if (l < lwp_h_.size() && lwp_h_[l] != 0) return lwp_h_[l];
    return 0xdead0000ULL + 16ULL * l;  // never issued: the SUT must tell it from its own (L3-stale)
  }
  std::uint64_t proc_handle(ProcId p) const {
    auto it = proc_h_.find(p);
    return it != proc_h_.end() ? it->second : 0xbeef0000ULL + 16ULL * p;
  }
  std::optional<LwpId> lwp_symbol(std::uint64_t h) const {
    auto it = lwp_id_.find(h);
    if (it == lwp_id_.end()) return std::nullopt;
    return it->second;
  }
  void bind_lwp(LwpId l, std::uint64_t h) {
    if (lwp_h_.size() <= l) lwp_h_.resize(l + 1, 0);
    lwp_h_[l] = h;
    lwp_id_[h] = l;  // a value the SUT reuses names its newest lwp; the old symbol keeps the value (R2)
  }

  // The request that carries `op` (its actor's OS thread, its arguments as handles).
  Request request(const Op& op) {
    Request q;
    q.seq = ++seq_;
    switch (op.actor.kind) {
      case Actor::Kind::Host: q.runner = Runner::Host; q.index = static_cast<std::uint16_t>(op.actor.index); break;
      case Actor::Kind::Reaper: q.runner = Runner::Host; q.index = reaper_; break;
      case Actor::Kind::Kthread: {
        q.runner = Runner::Kthread;
        auto it = slot_of_.find(op.actor.index);
        q.index = static_cast<std::uint16_t>(it != slot_of_.end() ? it->second : kMaxSlots);
        break;
      }
      case Actor::Kind::Clock: break;
    }
    fill_arguments(q, op.body, [&](LwpId l) { return lwp_handle(l); }, [&](ProcId p) { return proc_handle(p); });
    if (std::holds_alternative<op::KthreadCreate>(op.body) || std::holds_alternative<op::KprocStart>(op.body))
      q.slot = take_slot(next_slot_, free_slots_);
    return q;
  }


  // --- comparing -----------------------------------------------------------------------------------

  std::string render_reply(const Reply& r, const OpBody& b) const {
    std::string lwp = "NULL";
    if (r.lwp != 0) {
      const auto l = lwp_symbol(r.lwp);
      lwp = l ? lwp_name(*l) : fmt::format("an lwp no earlier call made ({:#x})", r.lwp);
    }
    return render_returned(b, r.ret, r.err, r.b, lwp);
  }
  bool same(const Outcome& m, const Reply& r, const OpBody& b) const {
    switch (traits(b).returns) {
      case Returns::Nothing: return true;
      case Returns::Lwp: {
        if (r.lwp == 0) return m.lwp == kNoLwp;
        const auto l = lwp_symbol(r.lwp);
        return l && *l == m.lwp;
      }
      case Returns::Errno:
      case Returns::Value: return r.ret == m.ret;
      case Returns::Syscall: return r.ret == m.ret && (m.ret != -1 || r.err == m.err);
      case Returns::Stat: return r.ret == m.ret && (m.ret != 0 ? m.ret != -1 || r.err == m.err : r.b == m.st_size);
    }
    return false;
  }
  TraceOutcome observed(const Reply& r, const OpBody& b) const {
    TraceOutcome t;
    t.ret = r.ret;
    t.err = r.err;
    t.st_size = r.b;
    if (traits(b).returns == Returns::Lwp && r.lwp != 0) {
      const auto l = lwp_symbol(r.lwp);
      t.lwp = l.value_or(kNoLwp);
      t.lwp_unnamed = !l;
    }
    return t;
  }

  // --- one step ------------------------------------------------------------------------------------

  // Runs `op` (nullopt request: a step of the model's clock alone) in lockstep and judges it. With
  // `prior`, a reply already in got_ that the step must explain (an early timeout).
  void step(const Op& op, bool is_probe) {
    const bool clock = op.actor.kind == Actor::Kind::Clock;
    const bool allocates = traits(op.body).creates == Creates::ProcessAndLwp || traits(op.body).creates == Creates::Kthread;
    std::optional<Request> q;
    // Before the write: the call's interval must start no later than the SUT sees it (a parent that
    // is descheduled after the write would otherwise excuse nothing, and blame early timeouts).
    const auto sent = Clock::now();
    if (!clock) {
      q = request(op);
      if ((q->runner == Runner::Kthread && q->index >= kMaxSlots) ||
          ((q->call == Call::KthreadCreate || q->call == Call::KprocStart) && q->slot >= kMaxSlots)) {
        fail(SutVerdict::Divergence, Rule::P0, fmt::format("more than {} kthreads alive at once in one program: lockstep's limit", kMaxSlots));
        return;
      }
      if (!send(*q)) return;
    }
    Choice choice;
    if (allocates && q) {
      // The pid is the SUT's choice (SPEC P1/K1 allow any free one): the model binds what it says.
      // A death meanwhile is judged by the model step (K6's FATAL is one).
      while (got_.count(q->seq) == 0 && !gone_ && !failed() && receive(sent + c_.watchdog)) {}
      const std::optional<Reply> r = got_.count(q->seq) ? std::optional<Reply>(got_.at(q->seq)) : std::nullopt;
      if (!r && !gone_) {
        if (!failed()) {
          record(op, m_.apply(op), is_probe, fmt::format("still running after {} ms", c_.watchdog.count()));
          fail(SutVerdict::Deadlock, traits(op.body).creates == Creates::Kthread ? Rule::K1 : Rule::P1,
               fmt::format("{} did not return within {} ms", to_string(op), c_.watchdog.count()));
        }
        return;
      }
      if (r && r->ret == 0 && r->new_pid > 0) choice.pid = static_cast<Pid>(r->new_pid);
      else if (r && r->ret == 0 && r->proc != 0 && traits(op.body).creates == Creates::Kthread) {
        choice.pid = learn_kthread_pid(op);
        if (failed()) return;
      }
    }
    const State before = m_.state();
    // The ticks to let pass before the step: the model's clock catching up with a timeout the SUT
    // showed; raised until every answer is explained, or a divergence.
    Tick advance = 0;
    for (int attempt = 0;; ++attempt) {
      m_ = Model::from_state(before);
      std::vector<Completion> woke;
      advanced_.reset();
      // A step of the clock itself is not put after the advance but stretched to it: the timeout
      // the SUT showed says its clock reached that deadline, not that deadline plus the step (which
      // could carry the model's clock past a later wait the SUT has not ended yet).
      const Op attempt_op = clock && advance > 0 ? Op{Actor::clock(), op::Tick{std::max(std::get<op::Tick>(op.body).n, advance)}} : op;
      if (advance > 0 && !clock) {
        advanced_ = m_.apply(Op{Actor::clock(), op::Tick{advance}});
        advanced_by_ = advance;
        woke = advanced_->completions;
      }
      lwps_before_ = m_.state().lwps.size();
      procs_before_ = m_.state().procs.size();
      const StepResult res = m_.apply(attempt_op, choice);
      if (!is_probe) last_rule_ = res.outcome.rule;
      if (res.outcome.kind == OutcomeKind::NotRunnable) {
        // The pid the SUT chose is one the SPEC does not allow (R5: it is in the table).
        record(op, res, is_probe, fmt::format("chose pid {}", choice.pid.value_or(0)));
        fail(SutVerdict::Divergence, Rule::R5, fmt::format("{}: the SUT chose pid {}, which the SPEC does not allow (in the table, or outside 2..{})",
                                                          to_string(op), choice.pid.value_or(0), c_.program.pid_max));
        return;
      }
      woke.insert(woke.end(), res.completions.begin(), res.completions.end());
      const std::optional<Tick> more = judge(attempt_op, q, sent, res, woke, attempt, is_probe, before, advance);
      if (failed() || !more) return;
      advance = *more;
    }
  }

  // Judges one attempt: collects what the model predicts, then compares. nullopt: judged (agreed,
  // or failed); a tick count: try again with the clock advanced that far first.
  std::optional<Tick> judge(const Op& op, const std::optional<Request>& q, Clock::time_point sent, const StepResult& res,
                            const std::vector<Completion>& woke, int attempt, bool is_probe, const State& before, Tick advance) {
    const Tick base_now = before.now;
    const Outcome& out = res.outcome;
    const bool clock_op = op.actor.kind == Actor::Kind::Clock;
    // Which replies must come: the call's own unless it blocks, and every wake-up's.
    std::vector<std::uint32_t> expect;
    if (q && !out.blocked()) expect.push_back(q->seq);
    std::map<std::uint32_t, const Completion*> woken;
    for (const Completion& w : woke) {
      auto seq = pending_seq(w.actor);
      if (!seq) continue;  // a wait the SUT never had (cannot happen unless a wait began in this step)
      woken[*seq] = &w;
      expect.push_back(*seq);
    }
    const auto deadline = Clock::now() + c_.watchdog;
    for (std::uint32_t s : expect) {
      if (out.is_fatal() && q && s == q->seq) continue;
      while (got_.count(s) == 0 && !failed() && receive(deadline)) {}
    }
    if (failed()) return std::nullopt;
    if (out.is_fatal() && q) {
      // FATAL: the SUT must die (abort, a signal, a non-zero exit), and say the same rule if it names one.
      while (!gone_ && got_.count(q->seq) == 0 && !failed() && receive(deadline)) {}
      if (failed()) return std::nullopt;
      if (got_.count(q->seq) != 0) {
        record(op, res, is_probe, render_reply(got_.at(q->seq), op.body));
        fail(SutVerdict::Divergence, out.rule, fmt::format("{}: the model says {}, the SUT returned {}", to_string(op), out.label, render_reply(got_.at(q->seq), op.body)));
        return std::nullopt;
      }
      if (!gone_) {
        record(op, res, is_probe, "still running");
        fail(SutVerdict::Deadlock, out.rule, fmt::format("{}: the model says {}; the SUT neither returned nor died within {} ms", to_string(op), out.label, c_.watchdog.count()));
        return std::nullopt;
      }
      const std::string how = p_.termination();
      const std::string out_text = own_stderr();
      const std::optional<std::string> said = panic_rule(out_text);
      const bool clean_exit = how == "exited with status 0";
      if (clean_exit || (said && *said != fatal_name(out.fatal))) {
        record(op, res, is_probe, said ? fmt::format("panic {} ({})", *said, how) : how);
        fail(SutVerdict::Divergence, out.rule,
             fmt::format("{}: the model says {}, the SUT {}{}", to_string(op), out.label,
                         said ? fmt::format("panicked with {}", *said) : how, output_tail()));
        return std::nullopt;
      }
      r_.fatal_how = said ? fmt::format("panic: {} ({})", *said, how) : fmt::format("{} (no panic line)", how);
      record(op, res, is_probe, "");
      answered(expect);
      return std::nullopt;
    }
    // The call blocks in the model: it must not return within the block window.
    if (q && out.blocked()) {
      const auto t0 = Clock::now();
      const auto window = std::max(t0, sent + c_.block_window);
      while (got_.count(q->seq) == 0 && !failed() && receive(window)) {}
      r_.block_window_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
      if (failed()) return std::nullopt;
    }
    if (gone_) {
      record(op, res, is_probe, "the process ended");
      gone(fmt::format("during {}", to_string(op)));
      return std::nullopt;
    }
    if (q && !out.blocked() && got_.count(q->seq) == 0) {
      record(op, res, is_probe, fmt::format("still running after {} ms", c_.watchdog.count()));
      fail(SutVerdict::Deadlock, out.rule, fmt::format("{} did not return within {} ms; the model says it returns {}", to_string(op),
                                                       c_.watchdog.count(), render_model(out, op.body)));
      return std::nullopt;
    }
    // Every reply now in hand must be one the model predicts. A call that returned though the model
    // has it blocked is explained by a timeout the model's clock has not reached yet, once real time
    // since the call covers timo - 1 ticks. The call's own, by the clock stepping to its deadline
    // after it. An earlier call's that came after this one was sent: first by a clock step after this
    // one (deferred_to), and only if that order does not explain the step, by judging it again with
    // the clock at that deadline first (need_first). Both orders are real-time orders; the first
    // keeps the step at the clock's reading when it was sent, the second is the only one when the
    // step's answer depends on the timeout (put first always, it made a wait that this step's own
    // acknowledgement ended in the SUT time out in the model, when its deadline was the same).
    bool own_timed_out = false;
    Tick deferred_to = 0, need_first = 0;
    auto or_other_order = [&]() -> std::optional<Tick> {
      if (deferred_to > 0) return need_first;
      return std::nullopt;
    };
    for (const auto& [seq, reply] : got_) {
      const bool own = q && seq == q->seq;
      if (own && !out.blocked()) continue;
      if (woken.count(seq) != 0) continue;
      const Pending* pd = own ? nullptr : pending_of(seq);
      if (!own && pd == nullptr) continue;  // judged by catch_up before the next step
      const Op& blocked_op = own ? op : pd->op;
      const Actor who = own ? op.actor : pd->actor;
      const Wait* w = who.kind == Actor::Kind::Host ? m_.state().wait_of(static_cast<HostId>(who.index)) : nullptr;
      if (explained_timeout(blocked_op, reply, own ? sent : pd->sent, w) && attempt < 8) {
        if (own) {
          own_timed_out = true;
          continue;
        }
        const Tick need = *w->deadline - base_now;
        const auto arrived = arrived_.find(seq);
        if (advance == 0 && !clock_op && arrived != arrived_.end() && arrived->second >= sent) {
          deferred_to = std::max(deferred_to, *w->deadline);
          need_first = std::max(need_first, need);
          continue;
        }
        if (need > advance) return need;
      }
      record(op, res, is_probe, own ? render_reply(reply, op.body) : "");
      fail(SutVerdict::Divergence, own ? out.rule : wake_rule(blocked_op.body),
           own ? fmt::format("{} returned {} within {} ms; the model says it blocks", to_string(op), render_reply(reply, op.body),
                             c_.block_window.count())
               : fmt::format("{} (blocked earlier) returned {} during {}; the model says it is still blocked", to_string(blocked_op),
                             render_reply(reply, blocked_op.body), to_string(op)));
      return std::nullopt;
    }
    // Compare the call's own answer and every wake-up.
    std::string differs;
    Rule rule = out.rule;
    if (q && !out.blocked()) {
      const Reply& r = got_.at(q->seq);
      if (r.finding != Finding::None) {
        record(op, res, is_probe, render_reply(r, op.body), &r);
        fail(SutVerdict::Divergence, Rule::K1, fmt::format("{}: the SUT returned {}, but {}", to_string(op), render_reply(r, op.body), r.text));
        return std::nullopt;
      }
      if (!same(out, r, op.body)) {
        if (auto other = or_other_order()) return other;
        differs = fmt::format("{}: the model says {}, the SUT returned {}", to_string(op), render_model(out, op.body), render_reply(r, op.body));
        record(op, res, is_probe, render_reply(r, op.body), &r);
        fail(SutVerdict::Divergence, rule, differs);
        return std::nullopt;
      }
    }
    for (const auto& [seq, w] : woken) {
      auto it = got_.find(seq);
      if (it == got_.end()) {
        if (auto other = or_other_order()) return other;
        const Pending* pd = pending_of(seq);
        record(op, res, is_probe, "");
        fail(SutVerdict::Divergence, wake_rule(pd->op.body),
             fmt::format("after {}, the model says {} returns {}; the SUT's call is still blocked after {} ms", to_string(op),
                         to_string(pd->op), render_model(w->outcome, pd->op.body), c_.watchdog.count()));
        return std::nullopt;
      }
      const Pending* pd = pending_of(seq);
      if (!same(w->outcome, it->second, pd->op.body)) {
        // Woken by this step in the model, timed out in the SUT: the same-instant race of SPEC §5 when
        // real time allows the timeout; judged again with the clock at its deadline before the step.
        const Wait* was = pd->actor.kind == Actor::Kind::Host ? before.wait_of(static_cast<HostId>(pd->actor.index)) : nullptr;
        if (was != nullptr && was->deadline && explained_timeout(pd->op, it->second, pd->sent, was) && attempt < 8) {
          const Tick need = *was->deadline - base_now;
          if (need > advance) return need;
        }
        if (auto other = or_other_order()) return other;
        record(op, res, is_probe, "");
        fail(SutVerdict::Divergence, wake_rule(pd->op.body),
             fmt::format("after {}, {} returned {} in the SUT; the model says {}", to_string(op), to_string(pd->op),
                         render_reply(it->second, pd->op.body), render_model(w->outcome, pd->op.body)));
        return std::nullopt;
      }
    }
    // Agreed: bind what the call created, track what now waits, forget what was answered.
    if (q && !out.blocked()) {
      const Reply& r = got_.at(q->seq);
      bind_created(op, out, r, q->slot);
    }
    record(op, res, is_probe, "");
    answered(expect);
    for (const auto& [seq, w] : woken) pending_.erase(seq);
    if (q && out.blocked()) {
      const Wait* w = op.actor.kind == Actor::Kind::Host ? m_.state().wait_of(static_cast<HostId>(op.actor.index)) : nullptr;
      std::optional<Tick> armed;
      if (w != nullptr && w->deadline) armed = *w->deadline - m_.state().now;
      pending_[q->seq] = Pending{op.actor, op, sent, armed, Clock::now()};
    }
    if (deferred_to > m_.state().now) advance_clock(deferred_to - m_.state().now);
    if (own_timed_out && !failed())
      if (const Wait* w = m_.state().wait_of(static_cast<HostId>(op.actor.index)); w != nullptr && w->deadline)
        advance_clock(*w->deadline - m_.state().now);
    return std::nullopt;
  }

  // Whether a blocked call's answer is a timeout that real time allows: the SUT's clock may have
  // reached the deadline before the model's (which lags it by up to two ticks), never sooner than
  // timo - 1 whole ticks after the call began.
  bool explained_timeout(const Op& blocked, const Reply& reply, Clock::time_point began, const Wait* w) const {
    const std::int64_t timo = timo_of(blocked.body);
    if (timo <= 0 || w == nullptr || !w->deadline) return false;
    const bool says_timeout = traits(blocked.body).returns != Returns::Errno || reply.ret == EWOULDBLOCK;
    // Up to the answer's arrival (a bound on when the SUT decided), not up to now.
    auto it = arrived_.find(reply.seq);
    const Clock::time_point at = it != arrived_.end() ? it->second : Clock::now();
    const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(at - began).count();
    return says_timeout && elapsed >= (timo - 1) * tick_ns_;
  }

  void answered(const std::vector<std::uint32_t>& seqs) {
    for (std::uint32_t s : seqs) {
      got_.erase(s);
      arrived_.erase(s);
      answered_.insert(s);
    }
  }

  void bind_created(const Op& op, const Outcome& out, const Reply& r, std::uint32_t slot) {
    const Creates c = traits(op.body).creates;
    if ((c == Creates::ProcessAndLwp || c == Creates::Lwp) && out.ret == 0) {
      const LwpId l = m_.state().curlwp(static_cast<HostId>(op.actor.index));
      if (l != kNoLwp) bind_lwp(l, r.lwp);
    }
    if (c == Creates::Kthread && out.proc != kNoProc) {
      proc_h_[out.proc] = r.proc;
      slot_of_[out.proc] = slot;
    } else if (c == Creates::Kthread) {
      free_slots_.push_back(slot);  // no body started
    }
    if (std::holds_alternative<op::KthreadExit>(op.body)) {
      // The answer came when the body's thread ended (sut_host.cpp): its slot is free again.
      auto it = slot_of_.find(op.actor.index);
      if (it != slot_of_.end()) {
        free_slots_.push_back(it->second);
        slot_of_.erase(it);
      }
    }
  }

  std::optional<std::uint32_t> pending_seq(const Actor& a) const {
    for (const auto& [seq, p] : pending_)
      if (p.actor == a) return seq;
    return std::nullopt;
  }
  const Pending* pending_of(std::uint32_t seq) const {
    auto it = pending_.find(seq);
    return it == pending_.end() ? nullptr : &it->second;
  }

  // Records the step (after the clock step a retry put before it, if any) as the trace's event and
  // the listing's line.
  void record(const Op& op, const StepResult& res, bool is_probe, const std::string& sut, const Reply* r = nullptr) {
    if (advanced_) {
      const StepResult t = *std::exchange(advanced_, std::nullopt);
      const std::size_t l = lwps_before_, p = procs_before_;
      lwps_before_ = procs_before_ = SIZE_MAX;
      record(Op{Actor::clock(), op::Tick{advanced_by_}}, t, true, "");
      lwps_before_ = l;
      procs_before_ = p;
    }
    r_.coverage.count(res.outcome);
    for (const Completion& w : res.completions) r_.coverage.count(w.outcome);
    TraceEvent e;
    e.step = r_.events.size();
    e.op = op;
    e.outcome = to_trace(res.outcome);
    for (const Completion& w : res.completions) e.woke.push_back(TraceCompletion{w.actor, to_trace(w.outcome)});
    if (r != nullptr) e.observed = observed(*r, op.body);
    const State& st = m_.state();
    for (std::size_t p = procs_before_; p < st.procs.size(); ++p)
      e.bound.push_back(Binding{Binding::Kind::Proc, static_cast<std::uint32_t>(p), st.procs[p].pid});
    for (std::size_t l = lwps_before_; l < st.lwps.size(); ++l)
      e.bound.push_back(Binding{Binding::Kind::Lwp, static_cast<std::uint32_t>(l), st.procs[st.lwps[l].proc].pid});
    if (r == nullptr && sut.empty() && st.fatal == Fatal::None && lwps_before_ != SIZE_MAX) e.digest = state_digest(st, c_.program.chooser.hosts);
    r_.events.push_back(std::move(e));
    std::string model = render_model(res.outcome, op.body);
    for (const Completion& w : res.completions) model += fmt::format(", wakes {}", actor_name(w.actor));
    r_.listing.push_back(SutStepRecord{to_string(op), model, sut, is_probe});
  }

  // --- time ----------------------------------------------------------------------------------------

  // Ticks the SUT's clock has read since rump_init by now, counted from when rump_init returned (its
  // clock started before that, SPEC §1), plus the ticks that program steps added while nothing waited,
  // so that no wait could tell (offset_). `margin` ticks are taken off: 1 for the model's clock as real
  // time moves it (the SUT's clock may have started later than its reading says, and a tick thread
  // may lag), 0 for align_clock_for_timed_wait's reading in the middle of a tick.
  Tick real_time_target(Tick margin) const {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t_init_).count();
    return std::max<Tick>(0, ns / tick_ns_ - margin) + offset_;
  }

  // Where real time may move the model's clock to: real_time_target(margin), but short of the
  // deadline of any timed wait the SUT may not have reached yet. A wait the model's clock ends early
  // would be judged a timeout in the model while the SUT, its clock still short of the deadline, may
  // take an acknowledgement in time (a false S2). A wait's deadline is certainly past in the SUT
  // once the ticks surely counted since rump_init returned reach the most the SUT's clock can have
  // read when the call began (counted from when rump_init was sent) plus its timeout; before that the
  // model waits for the SUT's own answer, and a timeout it gives is explained as one (judge()).
  Tick model_clock_target(Tick margin = 1) const {
    Tick target = real_time_target(margin);
    const Clock::time_point now = Clock::now();
    auto ticks = [&](Clock::time_point from, Clock::time_point to) {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count() / tick_ns_;
    };
    const Tick surely_counted = ticks(t_init_, now) - 1;
    for (const auto& [seq, p] : pending_) {
      if (!p.armed || p.actor.kind != Actor::Kind::Host) continue;
      const Wait* w = m_.state().wait_of(static_cast<HostId>(p.actor.index));
      if (w == nullptr || !w->deadline) continue;
      if (surely_counted >= ticks(t_init_sent_, p.seen_blocked) + timo_of(p.op.body)) continue;
      target = std::min(target, std::max(m_.state().now, *w->deadline - 1));
    }
    return target;
  }

  // The model's clock advanced `n` by the runner (not a program step): a clock event, judged. It
  // may run ahead of real_time_target() after an explained timeout; real time then moves it on only
  // once it has caught up (so offset_ stays the ticks program steps added, nothing else).
  void advance_clock(Tick n) {
    if (n <= 0 || failed()) return;
    step(Op{Actor::clock(), op::Tick{n}}, true);
  }

  // A host call that may arm a timed wait: its deadline is the clock's reading when it begins plus
  // its timeout (SPEC §5).
  static bool arms_timed_wait(const Op& op) {
    return op.actor.kind == Actor::Kind::Host && timo_of(op.body) > 0;
  }

  // Before a call that may arm a timed wait, the model's clock must read what the SUT's will when the
  // call begins. Lagging (as real time moves it, by up to two ticks) it would set the wait's deadline
  // early: another wait's explained timeout can then carry the model's clock past it while the SUT's
  // wait still runs, and an acknowledgement the SUT takes in time is judged a timeout (a false S2;
  // found with an independently written SUT, tests/checker/sut/fine_grained_sut.c). So the call is sent
  // in the middle of a tick, where every start the SUT's clock can have had (between rump_init's
  // request and its answer) gives one reading, a quarter tick of slack on either side for the call to
  // reach the SUT and for a tick thread to run late; and the model's clock is set to that reading.
  // When rump_init's round trip leaves no such window, or the model's clock is ahead already, the
  // call goes as before. False: the program ended meanwhile (a failure, or the child gone).
  bool align_clock_for_timed_wait() {
    const std::int64_t tick = tick_ns_;
    const std::int64_t unsure = std::chrono::duration_cast<std::chrono::nanoseconds>(t_init_ - t_init_sent_).count();
    const std::int64_t from = tick / 4, to = tick - tick / 4 - unsure;
    if (to <= from) return true;
    auto phase = [&] { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t_init_).count() % tick; };
    auto inside = [&] { const std::int64_t p = phase(); return p >= from && p <= to; };
    for (int waits = 0; waits < 8 && !inside(); ++waits) {
      const std::int64_t p = phase();
      const Clock::time_point until = Clock::now() + std::chrono::nanoseconds(p < from ? from - p : tick - p + from);
      while (!failed() && !gone_ && receive(until)) {}
      if (!catch_up()) return false;
    }
    if (!inside()) return true;  // the window kept being missed (a busy machine): the call goes as before
    const Tick target = model_clock_target(0);
    if (target > m_.state().now) advance_clock(target - m_.state().now);
    return !failed();
  }

  // Before each step: the model's clock catches up with real time, and anything the SUT answered
  // meanwhile is explained (an early timeout) or a divergence.
  bool catch_up() {
    while (!failed() && receive(Clock::now())) {}
    if (failed()) return false;
    if (gone_) {
      gone("between steps");
      return false;
    }
    const Tick target = model_clock_target();
    if (target > m_.state().now) advance_clock(target - m_.state().now);
    // Answers that came with no step: each must be a timeout (judged as a clock step to its deadline).
    while (!failed() && !got_.empty()) {
      const auto [seq, reply] = *got_.begin();
      const Pending* pd = pending_of(seq);
      const Wait* w = pd && pd->actor.kind == Actor::Kind::Host ? m_.state().wait_of(static_cast<HostId>(pd->actor.index)) : nullptr;
      if (pd == nullptr || w == nullptr || !explained_timeout(pd->op, reply, pd->sent, w) || *w->deadline <= m_.state().now) {
        fail(SutVerdict::Divergence, pd ? wake_rule(pd->op.body) : Rule::P0,
             pd ? fmt::format("{} (blocked earlier) returned {} with no step to wake it; the model says it is still blocked "
                              "(a timeout needs timo - 1 ticks of real time at least)",
                              to_string(pd->op), render_reply(reply, pd->op.body))
                : fmt::format("an answer to a call lockstep did not make (seq {})", seq));
        return false;
      }
      advance_clock(*w->deadline - m_.state().now);  // judged: the SUT timed out early unless real time allows it
    }
    return !failed();
  }

  // A program's tick: real time passes until every wait it ends has ended in the SUT (at most
  // max_tick_wait); the rest of the tick passes at once, since nothing waits to see it.
  void tick(Tick n) {
    const Tick end = m_.state().now + n;
    const Tick cap = m_.state().now + std::max<Tick>(1, c_.max_tick_wait.count() * 1'000'000 / tick_ns_);
    Tick due = -1;
    for (const Wait& w : m_.state().waits)
      if (w.deadline && *w.deadline <= std::min(end, cap)) due = std::max(due, *w.deadline);
    const auto waited_from = Clock::now();
    struct Count {
      double& total;
      Clock::time_point from;
      ~Count() { total += std::chrono::duration<double>(Clock::now() - from).count(); }
    } count{r_.tick_wait_seconds, waited_from};
    while (!failed() && due >= 0 && m_.state().now < due) {
      const Tick target = model_clock_target();
      if (target > m_.state().now) {
        advance_clock(std::min(target, due) - m_.state().now);
        continue;
      }
      receive(Clock::now() + ms(1));
      if (!catch_up()) return;
    }
    if (failed()) return;
    // The rest of the tick passes at once only if no timed wait is left to see it: the model's clock
    // may run ahead of the SUT's only while nothing is timing out (a wait too long for max_tick_wait
    // cuts the tick short, and then real time alone moves the clock on).
    for (const Wait& w : m_.state().waits)
      if (w.deadline) return;
    if (end > m_.state().now) {
      const Tick rest = end - m_.state().now;
      step(Op{Actor::clock(), op::Tick{rest}}, false);
      offset_ += rest;
    }
  }

  // The pid of a kthread just made, for a SUT that does not say it (no lockstep_proc_pid). SPEC K1
  // allows any free pid, and the model must hold the one the SUT took, or a later rfork or newlwp
  // naming it diverges over a choice the SPEC allows. newlwp asks without changing anything: a
  // kthread's pid answers EBUSY, a free one ESRCH (P2). The reference allocator's pid is asked first,
  // then the other pids the model has free, lowest first (the two allocators SUTs mostly use), as
  // scans the host runs (sut_wire.hpp): a random allocator costs one reply per run of free pids, not
  // one per pid. nullopt: no free host to ask from, or no free pid answered EBUSY (the model's own pick
  // then stands, and the SUT's answers to later calls are judged against it).
  std::optional<Pid> learn_kthread_pid(const Op& op) {
    std::optional<HostId> via;
    if (op.actor.kind == Actor::Kind::Host) via = static_cast<HostId>(op.actor.index);
    for (HostId h = 0; !via && h < static_cast<HostId>(c_.program.chooser.hosts); ++h)
      if (m_.state().wait_of(h) == nullptr) via = h;
    if (!via) return std::nullopt;
    const State& s = m_.state();
    const Pid first = Model::reference_pid_of(s);
    // What to ask, in order: [lo, hi] runs of free pids, at most kScan pids each so that a scan
    // answers within the watchdog even in a slow SUT.
    constexpr Pid kScan = 4096;
    std::vector<std::pair<Pid, Pid>> runs;
    if (first != 0) runs.emplace_back(first, first);
    for (Pid lo = 2; lo <= s.pid_max;) {
      while (lo <= s.pid_max && (lo == first || s.table.contains(lo))) ++lo;
      Pid hi = lo;
      while (hi < s.pid_max && hi + 1 != first && !s.table.contains(hi + 1) && hi + 1 - lo < kScan) ++hi;
      if (lo <= s.pid_max) runs.emplace_back(lo, hi);
      lo = hi + 1;
    }
    ++r_.kthread_pids_asked;
    for (const auto& [lo, hi] : runs) {
      Request q;
      q.seq = ++seq_;
      q.runner = Runner::Host;
      q.index = static_cast<std::uint16_t>(*via);
      q.call = Call::Newlwp;
      q.a = lo;
      q.b = hi > lo ? hi : 0;
      ++r_.pid_probes;
      if (!send(q)) return std::nullopt;
      const std::optional<Reply> r = await(q.seq, Clock::now() + c_.watchdog);
      if (!r) {
        if (!failed())
          fail(SutVerdict::Deadlock, Rule::P2, fmt::format("rump_pub_lwproc_newlwp on pids {}..{}, asked to learn the pid of the kthread {} made, did not return within {} ms",
                                                           lo, hi, to_string(op), c_.watchdog.count()));
        return std::nullopt;
      }
      answered({q.seq});
      const Pid pid = hi > lo ? static_cast<Pid>(r->new_pid) : lo;
      if (r->ret == EBUSY) return pid;
      if (r->ret != ESRCH) {
        fail(SutVerdict::Divergence, Rule::P2,
             fmt::format("rump_pub_lwproc_newlwp({}), asked after {} to learn the new kthread's pid, returned {}: the model has no process {}, "
                         "and no call made one (SPEC P2: ESRCH, or EBUSY for the new kthread's pid)",
                         pid, to_string(op), r->ret, pid));
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  // What every free host sees: curlwp, and pid, ppid and uid where the SUT exports them.
  void probe() {
    for (HostId h = 0; h < static_cast<HostId>(c_.program.chooser.hosts) && !failed(); ++h) {
      if (m_.state().wait_of(h) != nullptr) continue;
      for (const OpBody& b : {OpBody{op::Curlwp{}}, OpBody{op::Getpid{}}, OpBody{op::Getppid{}}, OpBody{op::Getuid{}}}) {
        if (failed() || !c_.program.chooser.supports(b.index())) continue;
        step(Op{Actor::host(h), b}, true);
      }
    }
  }

  // The SUT's whole §7 state (lockstep_sut_state) against the model's, after a step and its probes.
  // Skipped while a timed wait is pending: its deadline may pass in the SUT between the step and the
  // state, which the model's clock only learns at the next step. Then only the timeouts the SUT's
  // blocked callers armed are compared (when it reports them): a deadline armed late (timo + 1, or a
  // wrong hz) is otherwise seen only as latency on a real clock, or never within a program.
  void compare_state() {
    if (m_.state().fatal != Fatal::None) return;
    const bool timed = std::any_of(m_.state().waits.begin(), m_.state().waits.end(), [](const Wait& w) { return w.deadline.has_value(); });
    if (timed) ++r_.states_skipped;
    Request q;
    q.seq = ++seq_;
    q.call = Call::State;
    if (!send(q)) return;
    const std::optional<Reply> r = await(q.seq, Clock::now() + c_.watchdog);
    if (!r) {
      if (!failed()) fail(SutVerdict::Deadlock, Rule::P0, fmt::format("lockstep_sut_state() did not return within {} ms", c_.watchdog.count()));
      return;
    }
    answered({q.seq});
    std::string error;
    std::map<int, std::int64_t> armed;
    const std::optional<Observation> observed = read_state(p_, *r, c_.program.chooser.hosts, error, &armed);
    if (!observed) return fail(SutVerdict::Divergence, Rule::P0, error);
    if (timed) return compare_armed(armed);
    ++r_.states_compared;
    const Observation expected = observe(m_.state(), c_.program.chooser.hosts);
    if (auto d = first_difference(expected, *observed, last_rule_))
      fail(SutVerdict::Divergence, d->rule, fmt::format("the §7 state (lockstep_sut_state) after the step: {}", d->text));
  }

  // Each call blocked in a timed wait in both, whose timeout the SUT reports: the SUT's armed timeout
  // must be the model's (K3, K7's 60 * hz, K8). A wait that already ended in the SUT is not listed.
  void compare_armed(const std::map<int, std::int64_t>& sut_armed) {
    bool compared = false;
    for (const auto& [seq, pd] : pending_) {
      if (!pd.armed || pd.actor.kind != Actor::Kind::Host) continue;
      const auto it = sut_armed.find(static_cast<int>(pd.actor.index));
      if (it == sut_armed.end()) continue;
      compared = true;
      if (it->second != *pd.armed)
        return fail(SutVerdict::Divergence, armed_rule(pd.op.body),
                    fmt::format("{}'s timed wait (lockstep_sut_state after the step): the SUT armed a timeout of {} ticks, the model's is {} ticks",
                                to_string(pd.op), it->second, *pd.armed));
    }
    if (compared) ++r_.armed_compared;
  }
  static Rule armed_rule(const OpBody& b) {
    if (std::holds_alternative<op::KprocShutdown>(b)) return Rule::K7;
    if (std::holds_alternative<op::WaitExit>(b)) return Rule::K8;
    return Rule::K3;
  }

  // The end of the program: late answers (a call that returned though blocked), then the console.
  void finish() {
    const auto until = Clock::now() + c_.block_window;
    while (!failed() && receive(until)) {}
    if (failed() || !catch_up()) return;
    const std::vector<std::string> sut = console_lines(own_stderr());
    const std::vector<std::string>& model = m_.state().console;
    if (sut != model) {
      std::size_t i = 0;
      while (i < sut.size() && i < model.size() && sut[i] == model[i]) ++i;
      fail(SutVerdict::Divergence, Rule::K7,
           fmt::format("the console differs at line {}: the model wrote {}, the SUT wrote {}", i + 1,
                       i < model.size() ? fmt::format("'{}'", model[i]) : "nothing more",
                       i < sut.size() ? fmt::format("'{}'", sut[i]) : "nothing more"));
    }
  }

  const SutRunConfig& c_;
  SutProcess& p_;
  Model m_;
  bool introspect_ = false;
  std::size_t stderr_from_ = 0;  // this program's part of the child's stderr starts here

 public:
  // Whether the child may run another program after a reset: it agreed, the instance lives, no call
  // is in flight (nothing blocked, no answer outstanding), and slots are left.
  bool reusable() const {
    return !failed() && m_.state().fatal == Fatal::None && pending_.empty() && m_.state().waits.empty() && !parked_body() &&
           next_slot_ + 64 < kMaxSlots;
  }
  bool parked_body() const {
    for (const auto& p : m_.state().procs)
      if (p.kind == ProcKind::Kthread && p.kt.state == KState::Parked) return true;
    return false;
  }
  std::uint32_t next_slot() const { return next_slot_; }
  const std::vector<std::uint32_t>& free_slots() const { return free_slots_; }

 private:
  Rule last_rule_ = Rule::P0;  // the rule of the last step's outcome (a difference in what it set: its rule)
  SutRunResult r_;
  std::int64_t tick_ns_ = 10'000'000;
  std::uint16_t reaper_ = 0;
  std::uint32_t seq_ = 0;
  std::uint32_t next_slot_ = 0;
  std::vector<std::uint32_t> free_slots_;
  Clock::time_point t_init_;
  Clock::time_point t_init_sent_;  // when rump_init was sent: the SUT's clock started after it
  Tick offset_ = 0;
  bool gone_ = false;
  std::optional<StepResult> advanced_;  // the clock step a retry put before the step being judged
  Tick advanced_by_ = 0;
  std::size_t lwps_before_ = SIZE_MAX, procs_before_ = SIZE_MAX;  // the model's sizes before the step: what it created
  std::map<std::uint32_t, Reply> got_;        // replies received and not yet judged
  std::map<std::uint32_t, Clock::time_point> arrived_;  // when each of them was read
  std::set<std::uint32_t> answered_;          // replies judged
  std::map<std::uint32_t, Pending> pending_;  // calls blocked in both, by seq
  std::vector<std::uint64_t> lwp_h_;          // LwpId -> the SUT's handle (0: none)
  std::map<std::uint64_t, LwpId> lwp_id_;
  std::map<ProcId, std::uint64_t> proc_h_;
  std::map<ProcId, std::uint32_t> slot_of_;
};

}  // namespace

std::string_view to_string(SutVerdict v) {
  switch (v) {
    case SutVerdict::Agree: return "agree";
    case SutVerdict::Divergence: return "divergence";
    case SutVerdict::Deadlock: return "deadlock";
    case SutVerdict::Untrusted: return "untrusted";
    case SutVerdict::Error: return "error";
  }
  return "?";
}

std::optional<SutNames> probe_names(const SpawnOptions& o, std::string& error) {
  std::unique_ptr<SutProcess> p = SutProcess::start(o, error);
  if (!p) return std::nullopt;
  SutNames n;
  n.mask = p->capabilities();
  n.tick_ns = p->tick_ns();
  n.spawn_seconds = p->spawn_seconds();
  for (std::size_t i = 0; i < kCallCount; ++i) {
    const bool has = (n.mask >> i) & 1u;
    if (has) n.present.emplace_back(kCallNames[i]);
    else if (i < kRequiredCalls) n.missing_required.emplace_back(kCallNames[i]);
  }
  return n;
}

void restrict_to(ProgramConfig& p, const SutNames& n) {
  std::uint32_t supported = 0;
  for (std::size_t k = 0; k < kOpKindCount; ++k) {
    const OpBody b = default_op(k);
    const Call c = call_of(b);
    if (c == Call::Count || ((n.mask >> static_cast<unsigned>(c)) & 1u)) supported |= 1u << k;
  }
  p.chooser.supported = supported;
  p.chooser.user_proc_handles = false;  // the C API hands out handles only for the kthreads it makes
  p.pid_max = kPidMax;                  // a foreign allocator's space is the SPEC's
}

std::vector<std::string> generated_ops(const SutNames& n) {
  ProgramConfig p;
  restrict_to(p, n);
  std::vector<std::string> ops;
  for (std::size_t k = 0; k < kOpKindCount; ++k)
    if (p.chooser.supports(k)) ops.emplace_back(kOpTraits[k].name);
  return ops;
}

SutRunResult run_sut_program(const Program& prog, const SutRunConfig& c, SutChild* child) {
  ::signal(SIGPIPE, SIG_IGN);  // a child that died must be a verdict, not the end of lockstep
  SutChild fresh;
  SutChild& k = child != nullptr ? *child : fresh;
  const bool reused = k.process != nullptr;
  if (!reused) {
    SpawnOptions so = c.spawn;
    so.threads = c.program.chooser.hosts + 1;  // the hosts and the reaper
    std::string error;
    k.process = SutProcess::start(so, error);
    k.next_slot = 0;
    k.free_slots.clear();
    if (!k.process) {
      SutRunResult r;
      r.verdict = SutVerdict::Error;
      r.failure = fmt::format("the SUT could not be started: {}", error);
      return r;
    }
  }
  SutRun run(c, *k.process, k.next_slot, k.free_slots);
  SutRunResult r = run.run(prog);
  r.reused_process = reused;
  if (reused) r.spawn_seconds = 0;
  // Kept for the next program only through lockstep_sut_reset, and only from a quiescent end.
  bool keep = child != nullptr && c.reuse && (k.process->capabilities() & bit(Call::Reset)) != 0 && run.reusable();
  if (keep) {
    Request q;
    q.seq = 0xfffffff0u;
    q.call = Call::Reset;
    Reply rep;
    keep = k.process->send(q) && k.process->next(rep, Clock::now() + c.watchdog) == SutProcess::Event::Reply &&
           rep.kind == ReplyKind::Returned && rep.seq == q.seq && rep.ret == 0 && rep.text[0] == '\0';
  }
  if (keep) {
    k.next_slot = run.next_slot();
    k.free_slots = run.free_slots();
    ++k.programs;
  } else {
    k.process.reset();  // killed and reaped
  }
  return r;
}

}  // namespace lockstep::checker::sut
