// Shared by the model tests: terse op builders (`host(0, op::Rfork{})`) and a Model
// wrapper that checks every SPEC §6 invariant after every step it applies, so each
// hand-written scenario is also an invariant test on the states it reaches.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "model/invariants.hpp"
#include "model/model.hpp"

namespace lockstep::model::testing {

inline Op host(HostId h, OpBody b) { return Op{Actor::host(h), std::move(b)}; }
inline Op kthr(ProcId p, OpBody b) { return Op{Actor::kthread(p), std::move(b)}; }
inline Op tick(std::int64_t n) { return Op{Actor::clock(), op::Tick{n}}; }
inline Op reap(ProcId p) { return Op{Actor::reaper(), op::Reap{p}}; }

inline bool has_rule(const std::vector<Violation>& vs, Rule r) {
  return std::any_of(vs.begin(), vs.end(), [&](const Violation& v) { return v.rule == r; });
}

inline std::string describe(const std::vector<Violation>& vs) {
  std::string s;
  for (const Violation& v : vs) s += to_string(v) + "\n";
  return s;
}

// A Model whose every step is judged by check_state and check_step.
class Checked {
 public:
  explicit Checked(Config c = {}) : m_(c) {}

  StepResult apply(const Op& op, const Choice& choice = {}) {
    const State before = m_.state();
    StepResult r = m_.apply(op, choice);
    const auto vs = check_state(m_.state());
    EXPECT_TRUE(vs.empty()) << "check_state after " << to_string(op) << ":\n" << describe(vs);
    const auto ss = check_step(before, op, r, m_.state());
    EXPECT_TRUE(ss.empty()) << "check_step of " << to_string(op) << ":\n" << describe(ss);
    return r;
  }
  Outcome operator()(const Op& op, const Choice& choice = {}) { return apply(op, choice).outcome; }

  const State& state() const { return m_.state(); }
  const Model& model() const { return m_; }

  // The process holding `pid` in the table (the test fails if there is none).
  const Process& pid(Pid p) const {
    const Process* proc = m_.state().by_pid(p);
    EXPECT_NE(proc, nullptr) << "pid " << p << " is not in the table";
    static const Process none{};
    return proc ? *proc : none;
  }
  const Process& proc(ProcId id) const { return m_.state().procs.at(id); }

  // kthread_create by host `h`, asserting success; returns the new kthread's handle.
  ProcId kthread(const std::string& name, HostId h = 0) {
    const Outcome o = (*this)(host(h, op::KthreadCreate{0, name}));
    EXPECT_TRUE(o.returned());
    EXPECT_EQ(o.ret, 0) << o.label;
    return o.proc;
  }

  // H `h` rforks with `flags`, asserting success; returns the new process's pid.
  Pid rfork(HostId h, int flags = kRumpRffdShare) {
    const Outcome o = (*this)(host(h, op::Rfork{flags}));
    EXPECT_TRUE(o.returned());
    EXPECT_EQ(o.ret, 0) << o.label;
    return m_.state().procs[m_.state().current_proc(h)].pid;
  }

  // The result of rump_sys_getpid() for host `h`.
  std::int64_t getpid(HostId h) { return (*this)(host(h, op::Getpid{})).ret; }

 private:
  Model m_;
};

}  // namespace lockstep::model::testing
