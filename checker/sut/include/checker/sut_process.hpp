// One child process hosting a plug-in SUT (lockstep-sut-host, checker/sut/host): started with
// posix_spawn in a process group of its own, spoken to over two pipes (sut_wire.hpp), its stdout and
// stderr kept in two memory files. Destroying it kills the whole group (the SUT's threads, and any copy a
// fork made) and reaps the child: nothing leaks, no zombie is left, whatever the SUT did.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "checker/sut_wire.hpp"

namespace lockstep::checker::sut {

using Clock = std::chrono::steady_clock;

struct SpawnOptions {
  std::string host;      // the lockstep-sut-host executable
  std::string library;   // the SUT
  int threads = 4;       // OS threads the child runs requests on (hosts and the reaper)
  std::vector<std::pair<std::string, std::string>> env;  // set in the child's environment (LOCKSTEP_FAULT, ...)
  std::chrono::milliseconds hello_timeout{10000};        // dlopen and the SUT's constructors
};

class SutProcess {
 public:
  // Starts the child and waits for its Hello. nullptr with `error` set when the library cannot be
  // loaded, the host cannot be started, or the child dies or says nothing within hello_timeout.
  static std::unique_ptr<SutProcess> start(const SpawnOptions& o, std::string& error);
  ~SutProcess();
  SutProcess(const SutProcess&) = delete;
  SutProcess& operator=(const SutProcess&) = delete;

  std::uint64_t capabilities() const { return caps_; }
  std::int64_t tick_ns() const { return tick_ns_; }  // 0: the SUT does not say
  double spawn_seconds() const { return spawn_seconds_; }  // posix_spawn to Hello: exec, dlopen, constructors

  // false: the child is gone (it can no longer read).
  bool send(const Request& q);

  enum class Event { Reply, Timeout, Gone };
  // The next reply, waiting until `until` at most. Gone: every writer closed the pipe (the child
  // died or exited); termination() then says how.
  Event next(Reply& out, Clock::time_point until);

  // What the SUT wrote to stderr (where the console and panic lines go) and to stdout, so far.
  std::string stderr_text() const;
  std::string stdout_text() const;
  // What the child wrote to the state file (kStateFd) for a State reply of `length` bytes; nullopt
  // when it cannot be read or is longer than kMaxStateBytes.
  std::optional<std::string> state_text(std::size_t length) const;
  // Both, for a person: stderr, then stdout after a "[stdout]" line when there is any.
  std::string output() const;
  // How the child ended ("killed by SIGABRT", "exited with status 1"); waits for it (bounded, then
  // kills it). Empty while it runs.
  std::string termination();
  bool ended_by_signal() const { return term_signal_ != 0; }
  bool ended() const { return reaped_; }
  // Kills the process group and reaps the child (idempotent).
  void kill();

 private:
  SutProcess() = default;
  void reap(std::chrono::milliseconds wait);

  int pid_ = -1;
  int request_fd_ = -1;
  int reply_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  int state_fd_ = -1;
  std::uint64_t caps_ = 0;
  std::int64_t tick_ns_ = 0;
  double spawn_seconds_ = 0;
  bool reaped_ = false;
  int term_signal_ = 0;
  int exit_status_ = 0;
  std::string buffered_;  // a reply read in part
};

// The lockstep-sut-host next to the running lockstep (or $LOCKSTEP_SUT_HOST).
std::string default_host_path();

// The environment that turns on lockstep-sut-host's noise in the SUT's pthread calls
// (checker/sut/host/noise.hpp): delays at `delay` of their sync points, spurious wake-ups at
// `spurious` of their condition waits, sleeps up to `max_delay`, from `seed`.
std::vector<std::pair<std::string, std::string>> noise_environment(double delay, double spurious, std::chrono::microseconds max_delay,
                                                                   std::uint64_t seed);

// The environment that chooses how lockstep-sut-host schedules the SUT's calls
// (checker/sut/host/serial.hpp): `serial` (one call at a time, switched at the SUT's own sync points,
// with windows opened for new calls after an unlock), `free` (the OS schedules them) or `mixed`
// (phases of each).
std::vector<std::pair<std::string, std::string>> schedule_environment(const std::string& schedule);

// The first "SUMMARY: <Name>Sanitizer: ..." line of a sanitizer's report in `err` (without
// "SUMMARY: "), or empty.
std::string sanitizer_summary(const std::string& err);

}  // namespace lockstep::checker::sut
