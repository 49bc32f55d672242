// The main() of mpc_impl_tests: a spawned child (test_spawn.cpp) is a fresh exec of this binary,
// so mpc gets control first, as mpc/spawn.hpp asks of every program that spawns.
#include <gtest/gtest.h>

#include "mpc/spawn.hpp"

int main(int argc, char** argv) {
  if (auto code = mpc::spawn_main(argc, argv)) return *code;
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
