// A planted violation for tests/layering: the Z3 judge may not see the runner.
#include "checker/lockstep.hpp"
