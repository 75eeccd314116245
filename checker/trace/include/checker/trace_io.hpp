// Reading and writing traces (traces/FORMAT.md): JSON Lines, one header line, then one
// line per event. The writer is atomic; the reader streams, validates every field and
// every symbol reference, and reports the first problem as `FILE:LINE: what was expected`.
#pragma once
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "checker/trace.hpp"

namespace lockstep::checker {

// A line longer than this is refused (a trace line is a few hundred bytes).
inline constexpr std::size_t kMaxTraceLine = 1u << 20;

// Bad input: what() is the whole message, "FILE:LINE: what was expected".
class TraceFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string header_line(const TraceHeader& h, std::size_t events);  // without the newline
std::string event_line(const TraceEvent& e);

// The whole trace as the text of a file (lines with their newlines), as write_trace writes it.
std::string trace_text(const TraceHeader& h, const std::vector<TraceEvent>& events);

// Writes the whole trace to a temporary file beside `path`, flushes it to disk and renames it
// into place: a reader sees the previous file or the complete new one, never half of one.
// Returns an empty string on success, else what went wrong.
std::string write_trace(const std::string& path, const TraceHeader& h, const std::vector<TraceEvent>& events);

// What a reader accepts beyond the format. The trace library knows no implementation: a caller
// that will run the trace passes the fault names its implementation has (see cli/load_trace.cpp).
struct ReadOptions {
  std::optional<std::vector<std::string>> known_faults;  // nullopt: any name is accepted
  // Empty when a schedule's strategy name is one the caller can run, else what was expected.
  std::function<std::string(std::string_view)> check_strategy;
};

// Streams a trace. Every method that reads throws TraceFormatError on bad input.
class TraceReader {
 public:
  explicit TraceReader(std::string path, ReadOptions options = {});
  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  const TraceHeader& header() const { return header_; }
  // The next event, or nullopt at the end of the file (after checking the promised event count).
  std::optional<TraceEvent> next();
  std::size_t line() const { return line_; }          // the line last read (1 = header)
  std::size_t event_line(std::size_t step) const;     // the line an event came from
  std::string where(std::size_t line) const;          // "FILE:LINE"

 private:
  bool read_line(std::string& out);
  void check_depth(std::string_view text) const;  // fails on JSON nested too deep to handle safely
  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  ReadOptions options_;
  // Closed by the destructor, and also when the constructor throws (a bad header).
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> f_;
  std::vector<char> buf_;
  std::size_t pos_ = 0, end_ = 0;
  std::size_t line_ = 0;
  TraceHeader header_;
  std::optional<std::size_t> promised_;
  std::size_t events_ = 0;
  std::size_t first_event_line_ = 2;
  struct Symbols;
  std::unique_ptr<Symbols> sym_;
};

struct Trace {
  TraceHeader header;
  std::vector<TraceEvent> events;
};
Trace read_trace(const std::string& path, const ReadOptions& options = {});

// One §7 observation as JSON text in the form of an event's `observed_state` (a plug-in SUT's
// lockstep_sut_state answers in it); throws TraceFormatError naming `where` and the field.
Observation parse_observation_json(std::string_view text, const std::string& where);

}  // namespace lockstep::checker
