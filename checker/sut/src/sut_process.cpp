// The child process of a plug-in SUT (see sut_process.hpp).
#include "checker/sut_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <thread>

#include <fmt/format.h>

extern char** environ;

namespace lockstep::checker::sut {

namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string signal_name(int sig) {
  const char* a = sigabbrev_np(sig);
  const char* d = sigdescr_np(sig);
  return fmt::format("SIG{} ({})", a != nullptr ? a : std::to_string(sig), d != nullptr ? d : "?");
}

}  // namespace

std::string default_host_path() {
  if (const char* env = std::getenv("LOCKSTEP_SUT_HOST"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "lockstep-sut-host";
  return (self.parent_path() / "lockstep-sut-host").string();
}

std::unique_ptr<SutProcess> SutProcess::start(const SpawnOptions& o, std::string& error) {
  const auto t0 = Clock::now();
  std::unique_ptr<SutProcess> p(new SutProcess());
  int req[2], rep[2];
  if (pipe2(req, O_CLOEXEC) != 0) {
    error = fmt::format("pipe: {}", std::strerror(errno));
    return nullptr;
  }
  if (pipe2(rep, O_CLOEXEC) != 0) {
    ::close(req[0]);
    ::close(req[1]);
    error = fmt::format("pipe: {}", std::strerror(errno));
    return nullptr;
  }
  p->request_fd_ = req[1];
  p->reply_fd_ = rep[0];
  p->stdout_fd_ = memfd_create("lockstep-sut-stdout", MFD_CLOEXEC);
  p->stderr_fd_ = memfd_create("lockstep-sut-stderr", MFD_CLOEXEC);
  p->state_fd_ = memfd_create("lockstep-sut-state", MFD_CLOEXEC);
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (p->stdout_fd_ < 0 || p->stderr_fd_ < 0 || p->state_fd_ < 0 || devnull < 0) {
    error = fmt::format("memfd / /dev/null: {}", std::strerror(errno));
    ::close(req[0]);
    ::close(rep[1]);
    if (devnull >= 0) ::close(devnull);
    return nullptr;
  }

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, devnull, 0);
  posix_spawn_file_actions_adddup2(&fa, p->stdout_fd_, 1);
  posix_spawn_file_actions_adddup2(&fa, p->stderr_fd_, 2);
  posix_spawn_file_actions_adddup2(&fa, req[0], kRequestFd);
  posix_spawn_file_actions_adddup2(&fa, rep[1], kReplyFd);
  posix_spawn_file_actions_adddup2(&fa, p->state_fd_, kStateFd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);  // a group of its own: kill() reaches every process the SUT makes
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view kv(*e);
    bool overridden = false;
    for (const auto& [k, v] : o.env) overridden = overridden || (kv.size() > k.size() && kv.substr(0, k.size()) == k && kv[k.size()] == '=');
    if (!overridden) env_store.emplace_back(kv);
  }
  for (const auto& [k, v] : o.env) env_store.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string threads = std::to_string(o.threads);
  std::string host = o.host, lib = o.library;
  char* argv[] = {host.data(), lib.data(), threads.data(), nullptr};

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, host.c_str(), &fa, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(req[0]);
  ::close(rep[1]);
  ::close(devnull);
  if (rc != 0) {
    error = fmt::format("cannot start {}: {}", host, std::strerror(rc));
    return nullptr;
  }
  p->pid_ = pid;

  Reply hello;
  const Event ev = p->next(hello, Clock::now() + o.hello_timeout);
  if (ev == Event::Timeout) {
    error = fmt::format("{} did not load within {} ms", o.library, o.hello_timeout.count());
    return nullptr;
  }
  if (ev == Event::Gone) {
    error = fmt::format("the process loading {} ended before it said anything ({})", o.library, p->termination());
    const std::string out = p->output();
    if (!out.empty()) error += fmt::format("; it wrote: {}", out.substr(0, 400));
    return nullptr;
  }
  if (hello.kind == ReplyKind::LoadError) {
    error = fmt::format("{} is not a loadable library: {}", o.library, hello.text);
    return nullptr;
  }
  if (hello.kind != ReplyKind::Hello) {
    error = "the SUT host answered out of protocol";
    return nullptr;
  }
  p->caps_ = static_cast<std::uint64_t>(hello.ret);
  p->tick_ns_ = hello.b;
  p->spawn_seconds_ = std::chrono::duration<double>(Clock::now() - t0).count();
  return p;
}

SutProcess::~SutProcess() {
  kill();
  close_fd(request_fd_);
  close_fd(reply_fd_);
  close_fd(stdout_fd_);
  close_fd(stderr_fd_);
  close_fd(state_fd_);
}

std::optional<std::string> SutProcess::state_text(std::size_t length) const {
  if (state_fd_ < 0 || length > kMaxStateBytes) return std::nullopt;
  std::string s(length, '\0');
  std::size_t got = 0;
  while (got < length) {
    const ssize_t n = pread(state_fd_, s.data() + got, length - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    got += static_cast<std::size_t>(n);
  }
  return s;
}

bool SutProcess::send(const Request& q) {
  if (request_fd_ < 0) return false;
  const char* b = reinterpret_cast<const char*>(&q);
  std::size_t left = sizeof q;
  while (left > 0) {
    const ssize_t n = ::write(request_fd_, b, left);  // SIGPIPE: ignored by the caller (see sut_lockstep.cpp)
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    b += n;
    left -= static_cast<std::size_t>(n);
  }
  return true;
}

SutProcess::Event SutProcess::next(Reply& out, Clock::time_point until) {
  while (buffered_.size() < sizeof(Reply)) {
    if (reply_fd_ < 0) return Event::Gone;
    const auto left = std::max<long long>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(until - Clock::now()).count());
    pollfd pfd{reply_fd_, POLLIN, 0};
    const timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
    const int r = ::ppoll(&pfd, 1, &ts, nullptr);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return Event::Timeout;
    char buf[sizeof(Reply) * 4];
    const ssize_t n = ::read(reply_fd_, buf, sizeof(Reply) - buffered_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close_fd(reply_fd_);
      return Event::Gone;
    }
    buffered_.append(buf, static_cast<std::size_t>(n));
  }
  std::memcpy(&out, buffered_.data(), sizeof out);
  buffered_.erase(0, sizeof out);
  return Event::Reply;
}

namespace {
std::string read_all(int fd) {
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) return {};
  std::string s(static_cast<std::size_t>(st.st_size), '\0');
  const ssize_t n = pread(fd, s.data(), s.size(), 0);
  s.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return s;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> noise_environment(double delay, double spurious, std::chrono::microseconds max_delay,
                                                                   std::uint64_t seed) {
  return {{"LOCKSTEP_SUT_DELAY_PROB", fmt::format("{}", delay < 1 ? delay : 0.999)},
          {"LOCKSTEP_SUT_SPURIOUS_PROB", fmt::format("{}", spurious < 1 ? spurious : 0.999)},
          {"LOCKSTEP_SUT_MAX_DELAY_US", std::to_string(std::clamp<long long>(max_delay.count(), 1, 1'000'000))},
          {"LOCKSTEP_DELAY_SEED", std::to_string(seed == 0 ? 1 : seed)}};
}

std::vector<std::pair<std::string, std::string>> schedule_environment(const std::string& schedule) {
  return {{"LOCKSTEP_SUT_SCHEDULE", schedule}};
}

// The first "SUMMARY: <Name>Sanitizer: ..." line of a sanitizer's report, without "SUMMARY: ".
std::string sanitizer_summary(const std::string& err) {
  static const std::regex re(R"(SUMMARY: ([A-Za-z]+Sanitizer: [^\n]*))");
  std::smatch m;
  return std::regex_search(err, m, re) ? m[1].str() : std::string();
}

std::string SutProcess::stderr_text() const { return read_all(stderr_fd_); }
std::string SutProcess::stdout_text() const { return read_all(stdout_fd_); }
std::string SutProcess::output() const {
  std::string s = stderr_text();
  const std::string out = stdout_text();
  if (!out.empty()) s += (s.empty() || s.back() == '\n' ? "" : "\n") + std::string("[stdout]\n") + out;
  return s;
}

// Waits (bounded) for the child to end, then kills what is left of its group while the leader is a
// zombie (so its pid, the group's id, cannot have been reused), then reaps it.
void SutProcess::reap(std::chrono::milliseconds wait) {
  if (reaped_ || pid_ < 0) return;
  const auto until = Clock::now() + wait;
  for (;;) {
    siginfo_t info{};
    const int r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    if (r == 0 && info.si_pid == pid_) break;
    if (r < 0 && errno != EINTR) {
      reaped_ = true;
      return;
    }
    if (Clock::now() >= until) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::kill(-pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
  reaped_ = true;
  if (WIFSIGNALED(status)) term_signal_ = WTERMSIG(status);
  else if (WIFEXITED(status)) exit_status_ = WEXITSTATUS(status);
}

std::string SutProcess::termination() {
  reap(std::chrono::milliseconds(2000));
  if (!reaped_) {
    kill();
    return "did not end when its output closed: killed";
  }
  // A sanitizer built into the SUT ends it with a status of its own (ThreadSanitizer's 66): its
  // summary line says what it found, where the status alone says nothing.
  const std::string report = sanitizer_summary(stderr_text());
  const std::string after = report.empty() ? std::string() : fmt::format(" after a report: {}", report);
  if (term_signal_ != 0) return fmt::format("killed by {}{}", signal_name(term_signal_), after);
  return fmt::format("exited with status {}{}", exit_status_, after);
}

void SutProcess::kill() {
  if (pid_ < 0) return;
  if (!reaped_) {
    ::kill(-pid_, SIGKILL);  // the group: the child, and any copy the SUT forked
    reap(std::chrono::milliseconds(5000));  // SIGKILL ends it unless it is stuck in the kernel
  }
  close_fd(request_fd_);
}

}  // namespace lockstep::checker::sut
