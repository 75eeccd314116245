// The search phase (explore.hpp). Workers take program indices from one counter, in increasing
// order; a finished program waits in `finished` until every earlier one is committed. A failure
// committed (or a program cut short by the deadline, or the time budget seen at an index) lowers
// `stop`, past which no worker starts a program. Programs below it were all taken before it fell,
// so every one of them finishes and is committed: the report is the sequential one.
#include "explore.hpp"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "checker/model_run.hpp"
#include "impl/spare_thread.hpp"

namespace lockstep::checker {

namespace {

using Clock = std::chrono::steady_clock;

// A program's run as the report needs it; the whole run only for a failure (an agreeing one may wait
// behind a slow earlier program, so what it keeps is small).
struct Finished {
  std::uint64_t seed = 0;
  bool budget_over = false;  // not run: the time budget was over when its worker took it
  bool cut_short = false;    // the deadline fell inside it: no verdict
  std::uint64_t steps = 0;
  Verdict verdict = Verdict::Agree;
  std::string summary;
  Coverage coverage;
  double seconds = 0;
  std::optional<FoundFailure> failure;  // its index, program, schedule and run, when it failed
};

// Workers still running. Shared with them, so that the last one's done() may still touch it while
// the caller, woken, has already gone on.
class Countdown {
 public:
  void add() {
    std::lock_guard lk(m_);
    ++n_;
  }
  void done() {
    std::lock_guard lk(m_);
    if (--n_ == 0) cv_.notify_all();
  }
  void wait() {
    std::unique_lock lk(m_);
    cv_.wait(lk, [this] { return n_ == 0; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  unsigned n_ = 0;
};

class Exploration {
 public:
  Exploration(const CampaignConfig& c, const LockstepConfig& search, const std::function<Program(std::uint64_t)>& generate,
              Clock::time_point t0, CampaignReport& rep, const std::function<void(const CampaignProgress&)>& progress)
      : c_(c), search_(search), generate_(generate), t0_(t0), rep_(rep), progress_(progress) {
    first_ = c.program.value_or(c.shard.index);
    const std::uint64_t end = c.program ? *c.program + 1 : c.programs;
    stride_ = c.program ? 1 : c.shard.total;
    count_ = end > first_ ? (end - first_ + stride_ - 1) / stride_ : 0;
    stop_ = count_;
  }

  std::optional<FoundFailure> run() {
    const unsigned jobs = std::max(1u, c_.jobs);
    // The helpers are pooled threads (impl::SpareThread), detached and counted down, not joined: a
    // program whose thread never yields keeps the OS thread its worker ran on, and the watchdog's
    // thread carries the worker on (impl/DESIGN.md "Fiber mode"). So a worker must neither be joined
    // (its first OS thread may never end) nor end its thread (it may not be on its own stack); a
    // pool thread goes back to waiting for jobs.
    auto left = std::make_shared<Countdown>();
    for (unsigned w = 1; w < jobs && w < count_; ++w) {
      left->add();
      impl::SpareThread([this, left] {
        work();
        left->done();  // the last use of `this`
      }).detach();
    }
    work();  // the caller is a worker too
    left->wait();
    if (error_) std::rethrow_exception(error_);
    return std::move(failure_);
  }

 private:
  void work() {
    LockstepConfig lc = search_;  // each worker its own: the schedule is set per program
    try {
      for (;;) {
        const std::uint64_t k = next_.fetch_add(1);
        if (k >= stop_.load()) return;
        Finished f;
        const std::uint64_t i = first_ + k * stride_;
        if (Clock::now() - t0_ > c_.time_budget) {
          f.budget_over = true;
        } else {
          f.seed = program_seed(c_.seed, i);
          Program p = generate_(f.seed);
          // The interleaving is the program's too: its seed and index pick the schedule, so
          // `--program I` (and shrinking, which keeps it) reproduce it.
          lc.schedule = schedule_for(c_, i, f.seed);
          const auto started = Clock::now();
          LockstepResult r = run_lockstep(p, lc);
          f.seconds = std::chrono::duration<double>(Clock::now() - started).count();
          f.cut_short = r.cut_short;
          f.steps = r.events.size();
          f.verdict = r.verdict;
          f.summary = r.summary();
          f.coverage = std::move(r.coverage);
          if (!r.cut_short && r.verdict != Verdict::Agree) {
            r.coverage = f.coverage;
            f.failure = FoundFailure{i, f.seed, lc.schedule, std::move(p), std::move(r), 0};
          }
        }
        commit(k, std::move(f));
      }
    } catch (...) {
      std::lock_guard lk(m_);
      if (!error_) error_ = std::current_exception();
      stop_.store(0);
    }
  }

  // Files program k and commits every program from the next uncommitted one that has finished.
  void commit(std::uint64_t k, Finished f) {
    std::lock_guard lk(m_);
    finished_.emplace(k, std::move(f));
    for (auto it = finished_.find(committed_); it != finished_.end() && committed_ < stop_.load(); it = finished_.find(committed_)) {
      Finished& d = it->second;
      const std::uint64_t index = first_ + committed_ * stride_;
      if (d.budget_over || d.cut_short) {  // the budget ran out before or inside it: no verdict
        rep_.budget_exhausted = true;
        lower_stop(committed_);
        break;
      }
      ++rep_.programs;
      rep_.records.push_back(ProgramRecord{index, d.seed, d.steps, d.verdict, std::move(d.summary), d.seconds});
      rep_.steps += d.steps;
      rep_.coverage.merge(d.coverage);
      if (progress_) progress_(CampaignProgress{rep_.programs, rep_.steps, false});
      if (d.failure) {
        failure_ = std::move(d.failure);
        failure_->seconds_since_start = std::chrono::duration<double>(Clock::now() - t0_).count();
        lower_stop(committed_ + 1);
        finished_.erase(it);
        ++committed_;
        break;
      }
      finished_.erase(it);
      ++committed_;
    }
    // Programs at or past the stop are not part of the report (a worker may have finished one first).
    for (auto it = finished_.lower_bound(stop_.load()); it != finished_.end();) it = finished_.erase(it);
  }

  void lower_stop(std::uint64_t k) {
    std::uint64_t cur = stop_.load();
    while (k < cur && !stop_.compare_exchange_weak(cur, k)) {
    }
  }

  const CampaignConfig& c_;
  const LockstepConfig& search_;
  const std::function<Program(std::uint64_t)>& generate_;
  const Clock::time_point t0_;
  CampaignReport& rep_;
  const std::function<void(const CampaignProgress&)>& progress_;
  std::uint64_t first_ = 0, stride_ = 1, count_ = 0;
  std::atomic<std::uint64_t> next_{0};  // the next program (as a count from first_) a worker takes
  std::atomic<std::uint64_t> stop_{0};  // no program from here on is started or committed
  std::mutex m_;                        // guards everything below, and rep_
  std::map<std::uint64_t, Finished> finished_;  // finished, not yet committed (an earlier one still runs)
  std::uint64_t committed_ = 0;
  std::optional<FoundFailure> failure_;
  std::exception_ptr error_;
};

}  // namespace

std::optional<FoundFailure> explore(const CampaignConfig& c, const LockstepConfig& search,
                                    const std::function<Program(std::uint64_t seed)>& generate, Clock::time_point t0,
                                    CampaignReport& rep, const std::function<void(const CampaignProgress&)>& progress) {
  return Exploration(c, search, generate, t0, rep, progress).run();
}

}  // namespace lockstep::checker
