#include "checker/progress.hpp"

#include <unistd.h>

#include <algorithm>

namespace lockstep::checker {

Progress::Progress(std::string what, std::uint64_t total, std::FILE* out)
    : what_(std::move(what)), total_(total), out_(out), tty_(isatty(fileno(out)) != 0),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

Progress::Progress(std::string what, std::uint64_t total, std::chrono::milliseconds budget, std::FILE* out)
    : Progress(std::move(what), total, out) {
  budget_ = budget;
}

void Progress::update(std::uint64_t done, const std::string& detail) {
  const auto now = std::chrono::steady_clock::now();
  // A terminal is redrawn ~10 times a second; a log gets a line every 10 seconds at most.
  const auto every = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(10000);
  // The final count is always shown, once: later updates at the total (shrinking) are throttled too.
  if (now - last_ < every && (done != total_ || last_done_ == done)) return;
  last_ = now;
  last_done_ = done;
  const int width = 30;
  double along = total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
  if (budget_.count() > 0) along = std::max(along, std::chrono::duration<double>(now - start_) / budget_);
  const int filled = static_cast<int>(width * std::min(along, 1.0));
  if (tty_) {
    std::fprintf(out_, "\r%s [%.*s%*s] %llu/%llu %s\x1b[K", what_.c_str(), filled,
                 "##############################", width - filled, "", static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total_), detail.c_str());
  } else {
    std::fprintf(out_, "%s: %llu/%llu %s\n", what_.c_str(), static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total_), detail.c_str());
  }
  std::fflush(out_);
}

void Progress::finish() {
  if (tty_) std::fprintf(out_, "\r\x1b[K");
  std::fflush(out_);
}

}  // namespace lockstep::checker
