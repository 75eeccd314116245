#include "checker/program.hpp"

#include <cctype>

#include <fmt/format.h>

namespace lockstep::checker {

model::Op resolve(const model::State& s, const ProgramConfig& c, const std::vector<std::uint32_t>& step) {
  return resolve_step(s, c, step).op;
}

ChosenStep resolve_step(const model::State& s, const ProgramConfig& c, const std::vector<std::uint32_t>& step) {
  ChoiceSource src(step);
  return choose_step(s, c.chooser, src);
}

Program random_program(Source& src, std::size_t steps, std::size_t choices, std::uint32_t bound) {
  Program p;
  p.steps.resize(steps);
  for (auto& st : p.steps) {
    st.resize(choices);
    for (auto& x : st) x = src.below(bound);
  }
  return p;
}

namespace {
std::string base36(std::uint64_t v) {
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  do {
    out.insert(out.begin(), digits[v % 36]);
    v /= 36;
  } while (v != 0);
  return out;
}
}  // namespace

std::string encode(const Program& p) {
  std::string out;
  if (!p.plan.empty()) {
    out += 'R';  // never a base-36 digit: a program without a plan cannot start with it
    for (std::size_t i = 0; i < p.plan.size(); ++i) {
      const PlannedRound& r = p.plan[i];
      out += fmt::format("{}{}.{}.{}.{}", i ? "/" : "", base36(r.size), base36(r.focused), base36(r.rng), base36(r.key));
    }
    out += '|';
  }
  for (std::size_t i = 0; i < p.steps.size(); ++i) {
    if (i) out += '/';
    // Trailing zeros are what a missing choice reads as anyway; a step of zeros only is "0" (as
    // nothing, a one-step program would be the empty text, which decodes as no step at all).
    std::size_t n = p.steps[i].size();
    while (n > 1 && p.steps[i][n - 1] == 0) --n;
    if (n == 0) out += '0';
    for (std::size_t j = 0; j < n; ++j) out += (j ? "." : "") + base36(p.steps[i][j]);
  }
  return out;
}

namespace {
// The plan part of encode()'s form, between the leading 'R' and the '|'.
bool decode_plan(const std::string& text, std::vector<PlannedRound>& out, std::string& error) {
  std::size_t pos = 1;  // past the 'R'
  auto number = [&](std::uint64_t& v, std::uint64_t max, const char* what) {
    const std::size_t start = pos;
    v = 0;
    while (pos < text.size() && (std::isdigit(static_cast<unsigned char>(text[pos])) || (text[pos] >= 'a' && text[pos] <= 'z'))) {
      const int d = std::isdigit(static_cast<unsigned char>(text[pos])) ? text[pos] - '0' : text[pos] - 'a' + 10;
      if (v > (max - static_cast<std::uint64_t>(d)) / 36) {
        error = fmt::format("program text, column {}: a round's {} is too large", start + 1, what);
        return false;
      }
      v = v * 36 + static_cast<std::uint64_t>(d);
      ++pos;
    }
    if (pos == start) {
      error = fmt::format("program text, column {}: expected a round's {} (base 36)", start + 1, what);
      return false;
    }
    return true;
  };
  auto sep = [&](char want) {
    if (pos < text.size() && text[pos] == want) return ++pos, true;
    error = fmt::format("program text, column {}: expected '{}' in the round plan", pos + 1, want);
    return false;
  };
  for (;;) {
    std::uint64_t size = 0, focused = 0;
    PlannedRound r;
    if (!number(size, 0xffffffffULL, "size") || !sep('.') || !number(focused, 0xffffffffULL, "focus mask") || !sep('.') ||
        !number(r.rng, ~std::uint64_t{0}, "random state") || !sep('.') || !number(r.key, ~std::uint64_t{0}, "policy key"))
      return false;
    if (size == 0) {
      error = fmt::format("program text, column {}: a round of 0 steps", pos);
      return false;
    }
    r.size = static_cast<std::uint32_t>(size);
    r.focused = static_cast<std::uint32_t>(focused);
    out.push_back(r);
    if (pos == text.size()) return true;
    if (!sep('/')) return false;
  }
}
}  // namespace

bool decode(const std::string& text, Program& out, std::string& error) {
  out.plan.clear();
  if (!text.empty() && text.front() == 'R') {
    const std::size_t bar = text.find('|');
    if (bar == std::string::npos) {
      error = "program text: a round plan ('R...') must end with '|' before the steps";
      return false;
    }
    std::vector<PlannedRound> plan;
    if (!decode_plan(text.substr(0, bar), plan, error)) return false;
    std::string steps_error;
    if (!decode(text.substr(bar + 1), out, steps_error)) {
      error = fmt::format("{} (columns counted after the round plan's '|' at column {})", steps_error, bar + 1);
      return false;
    }
    std::size_t planned = 0;
    for (const PlannedRound& r : plan) planned += r.size;
    if (planned != out.steps.size()) {
      error = fmt::format("program text: the round plan holds {} steps, the program has {}", planned, out.steps.size());
      return false;
    }
    out.plan = std::move(plan);
    return true;
  }
  out.steps.clear();
  std::vector<std::uint32_t> step;
  std::string num;
  auto flush_num = [&](std::size_t pos) {
    if (num.empty()) return true;
    std::uint64_t v = 0;
    for (char ch : num) {
      const int d = std::isdigit(static_cast<unsigned char>(ch)) ? ch - '0' : ch - 'a' + 10;
      v = v * 36 + static_cast<std::uint64_t>(d);
      if (v > 0xffffffffULL) {
        error = fmt::format("program text, column {}: choice '{}' is larger than 32 bits", pos + 1, num);
        return false;
      }
    }
    step.push_back(static_cast<std::uint32_t>(v));
    num.clear();
    return true;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (std::isdigit(static_cast<unsigned char>(ch)) || (ch >= 'a' && ch <= 'z')) {
      num += ch;
    } else if (ch == '.' || ch == '/') {
      if (!flush_num(i)) return false;
      if (ch == '/') {
        out.steps.push_back(std::move(step));
        step.clear();
      }
    } else {
      // A byte that is not printable ASCII is named by its value: the error is one printable line.
      const auto byte = static_cast<unsigned char>(ch);
      error = byte >= 0x20 && byte < 0x7f
                  ? fmt::format("program text, column {}: expected a base-36 digit, '.' or '/', found '{}'", i + 1, ch)
                  : fmt::format("program text, column {}: expected a base-36 digit, '.' or '/', found the byte 0x{:02x}", i + 1, byte);
      return false;
    }
  }
  if (!flush_num(text.size())) return false;
  if (!text.empty()) out.steps.push_back(std::move(step));
  return true;
}

}  // namespace lockstep::checker
