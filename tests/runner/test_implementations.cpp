#include <gtest/gtest.h>

#include "implementations.hpp"

using namespace mpconform;

namespace {
const AdapterPaths kPaths{"/src/harness/adapters/cpython/adapter.py", "/build/cpp-adapter"};
}

TEST(Implementations, CpythonDefaultsToTheSystemInterpreter) {
  Implementation i = parse_implementation("cpython", kPaths);
  EXPECT_EQ(i.label, "cpython");
  ASSERT_EQ(i.command.size(), 2u);
  EXPECT_EQ(i.command[1], kPaths.cpython_adapter);
}

TEST(Implementations, CpythonTakesInterpreterModuleAndStartMethod) {
  Implementation i = parse_implementation("cpython:/root/.pyenv/versions/3.8.18/bin/python,module=billiard,start=spawn", kPaths);
  EXPECT_EQ(i.label, "cpython_3_8_billiard_spawn");
  EXPECT_EQ(i.command, (std::vector<std::string>{"/root/.pyenv/versions/3.8.18/bin/python", kPaths.cpython_adapter, "--module",
                                                 "billiard", "--start-method", "spawn"}));
}

TEST(Implementations, LabelsCanBeChosen) {
  EXPECT_EQ(parse_implementation("cpython:/usr/bin/pypy3,label=PyPy", kPaths).label, "pypy");
  EXPECT_EQ(parse_implementation("cpython:/usr/bin/pypy3", kPaths).label, "cpython_pypy3");
}

TEST(Implementations, CppAndCommandAdapters) {
  EXPECT_EQ(parse_implementation("cpp", kPaths).command, (std::vector<std::string>{"/build/cpp-adapter"}));
  Implementation c = parse_implementation("cmd:mine=/opt/adapter --fast", kPaths);
  EXPECT_EQ(c.label, "mine");
  EXPECT_EQ(c.command, (std::vector<std::string>{"/opt/adapter", "--fast"}));
}

TEST(Implementations, MistakesAreExplained) {
  EXPECT_THROW(parse_implementation("jython", kPaths), std::invalid_argument);
  EXPECT_THROW(parse_implementation("cpython,start=vfork", kPaths), std::invalid_argument);
  EXPECT_THROW(parse_implementation("cpython,colour=red", kPaths), std::invalid_argument);
  EXPECT_THROW(parse_implementation("cmd:/no/label", kPaths), std::invalid_argument);
}
