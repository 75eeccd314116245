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
std::string base36(std::uint32_t v) {
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

bool decode(const std::string& text, Program& out, std::string& error) {
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
