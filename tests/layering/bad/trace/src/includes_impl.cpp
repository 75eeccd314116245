// A planted violation for tests/layering: the trace library may not see the implementation.
#include "impl/faults.hpp"
