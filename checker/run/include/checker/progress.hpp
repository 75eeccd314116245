// A progress line on a terminal (redrawn in place), plain periodic lines otherwise.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace lockstep::checker {

class Progress {
 public:
  // With a time budget the bar fills with whichever is further along: the count or the time.
  Progress(std::string what, std::uint64_t total, std::FILE* out = stderr);
  Progress(std::string what, std::uint64_t total, std::chrono::milliseconds budget, std::FILE* out = stderr);
  void update(std::uint64_t done, const std::string& detail = {});
  void finish();

 private:
  std::string what_;
  std::uint64_t total_;
  std::FILE* out_;
  bool tty_;
  std::chrono::milliseconds budget_{0};  // 0: none
  std::chrono::steady_clock::time_point start_, last_;
  std::uint64_t last_done_ = 0;
};

}  // namespace lockstep::checker
