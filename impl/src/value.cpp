// Placeholder so the library builds; the implementation follows in the next commits.
#include "mpc/value.hpp"
#include "mpc/pickle.hpp"
