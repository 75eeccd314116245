#!/usr/bin/env bash
# The whole test suite: every test in the default build, then again under
# ASan+UBSan, then the impl's and the checker's tests (labels `impl`, `checker`; the build
# preset builds only their target `impl_and_checker_tests`) under ThreadSanitizer.
# Before them, each libFuzzer target of tests/fuzz runs for 7 s under ASan+UBSan.
# Exits non-zero if any build or any test fails. On a fresh Debian 12 machine it first installs the
# Debian packages (.ci/install-deps, run only when one is missing: a dpkg-query of a few ms otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps --if-missing
# The parsers of untrusted input, fuzzed briefly (about 30 s; tests/fuzz/README.md): first, so that
# the last lines are the presets' ctest summaries.
echo "=== fuzz (tests/fuzz/run.sh --seconds 7)"
bash tests/fuzz/run.sh --seconds 7
for preset in default asan tsan; do
  echo "=== preset ${preset}"
  cmake --preset "${preset}" >/dev/null
  cmake --build --preset "${preset}" -j "$(nproc)"
  ctest --preset "${preset}"
done
echo "=== all presets passed"
