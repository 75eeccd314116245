// Random op programs on the model alone, with the invariants of SPEC §6 checked
// after every step: the model's self-check, and the engine of `lockstep model-run`.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "checker/coverage.hpp"
#include "checker/op_chooser.hpp"
#include "model/invariants.hpp"
#include "model/op.hpp"

namespace lockstep::checker {

struct ModelRunConfig {
  std::uint64_t seed = 1;
  std::uint64_t programs = 1000;
  std::uint32_t steps = 200;      // per program (a FATAL ends a program early)
  int maxproc = 12;               // small, so that EAGAIN and K6-panic are reached
  bool invariants = true;
  std::uint32_t uninit_percent = 2;  // programs that start before rump_init()
  ChooserConfig chooser;
};

struct InvariantFailure {
  std::uint64_t program_index = 0;
  std::vector<model::Op> program;  // up to and including the failing step
  model::Violation violation;
};

struct ModelRunReport {
  std::uint64_t programs = 0;
  std::uint64_t steps = 0;
  Coverage coverage;
  std::optional<InvariantFailure> failure;  // the first one; the run stops there
};

// The seed of program `index` of a run, so that one program can be replayed alone.
std::uint64_t program_seed(std::uint64_t run_seed, std::uint64_t index);

// Runs one program; returns the number of steps applied.
std::uint64_t run_one_program(const ModelRunConfig& c, std::uint64_t index, Coverage& cov,
                              std::optional<InvariantFailure>& failure);

ModelRunReport run_model_programs(const ModelRunConfig& c,
                                  const std::function<void(std::uint64_t done)>& on_program = {});

}  // namespace lockstep::checker
