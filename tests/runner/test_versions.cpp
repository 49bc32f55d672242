#include <gtest/gtest.h>

#include "versions.hpp"

using namespace mpconform;

TEST(Versions, ParseKeepsTheMicroLevelWhereGiven) {
  EXPECT_EQ(parse_version("3.12.1"), (Version{3, 12, 1}));
  EXPECT_EQ(parse_version("3.8"), (Version{3, 8, 0}));
  EXPECT_THROW(parse_version("3.12.1.4"), std::invalid_argument);
  EXPECT_THROW(parse_version("3"), std::invalid_argument);
  EXPECT_THROW(parse_version("3.x"), std::invalid_argument);
}

TEST(Versions, SpecifierClausesAllHold) {
  auto spec = VersionSpec::parse(">=3.9, <3.13");
  EXPECT_FALSE(spec.matches({3, 8}));
  EXPECT_TRUE(spec.matches({3, 9}));
  EXPECT_TRUE(spec.matches({3, 12}));
  EXPECT_FALSE(spec.matches({3, 13}));
}

TEST(Versions, EveryOperatorWorks) {
  EXPECT_TRUE(VersionSpec::parse("==3.10").matches({3, 10}));
  EXPECT_TRUE(VersionSpec::parse("!=3.10").matches({3, 11}));
  EXPECT_TRUE(VersionSpec::parse("<=3.10").matches({3, 10}));
  EXPECT_TRUE(VersionSpec::parse(">3.10").matches({3, 11}));
  EXPECT_FALSE(VersionSpec::parse(">3.10").matches({3, 10}));
  EXPECT_TRUE(VersionSpec::parse("<3.10").matches({3, 9}));
}

TEST(Versions, BadSpecifiersAreRejected) {
  EXPECT_THROW(VersionSpec::parse("~3.9"), std::invalid_argument);
  EXPECT_THROW(VersionSpec::parse(">=3.9,"), std::invalid_argument);
}

TEST(Versions, AClauseWithAMicroLevelComparesTheFullVersion) {
  auto old = VersionSpec::parse("<3.11.5"), fixed = VersionSpec::parse(">=3.11.5");
  EXPECT_TRUE(old.matches({3, 11, 2}));  // Debian's python3
  EXPECT_FALSE(fixed.matches({3, 11, 2}));
  EXPECT_FALSE(old.matches({3, 11, 7}));  // pyenv's 3.11.7
  EXPECT_TRUE(fixed.matches({3, 11, 7}));
  EXPECT_TRUE(old.matches({3, 10, 13}));
  EXPECT_TRUE(fixed.matches({3, 12, 1}));
  EXPECT_TRUE(VersionSpec::parse(">=3.11.5, <3.12").matches({3, 11, 9}));
  EXPECT_TRUE(VersionSpec::parse("==3.11.2").matches({3, 11, 2}));
  EXPECT_FALSE(VersionSpec::parse("==3.11.2").matches({3, 11, 3}));
}

TEST(Versions, AClauseOfTwoPartsComparesMajorMinorOnly) {
  // ==3.12 and <=3.12 hold for every 3.12.x, >3.12 for none of them.
  EXPECT_TRUE(VersionSpec::parse("==3.12").matches({3, 12, 1}));
  EXPECT_TRUE(VersionSpec::parse("<=3.12").matches({3, 12, 1}));
  EXPECT_FALSE(VersionSpec::parse(">3.12").matches({3, 12, 1}));
  EXPECT_FALSE(VersionSpec::parse("<3.12").matches({3, 12, 0}));
}

TEST(Versions, TheFullVersionTakesTheMicroOfAPythonImplementationOnly) {
  EXPECT_EQ(full_version({3, 11}, "python", "3.11.2"), (Version{3, 11, 2}));
  EXPECT_EQ(full_version({3, 9}, "python", "3.9.16"), (Version{3, 9, 16}));  // PyPy: its Python version
  EXPECT_EQ(full_version({3, 13}, "python", "3.13.0rc1"), (Version{3, 13, 0}));
  // A semantics version it is judged by, not its own (older=run): nothing of its own version.
  EXPECT_EQ(full_version({3, 8}, "python", "3.7.16"), (Version{3, 8, 0}));
  // The C++ reference: semantics 3.12 is 3.12.0.
  EXPECT_EQ(full_version({3, 12}, "c++", "3.12.4"), (Version{3, 12, 0}));
  EXPECT_EQ(full_version({3, 11}, "python", "3.11"), (Version{3, 11, 0}));
  EXPECT_EQ(full_version({3, 11}, "python", "3.110.2"), (Version{3, 11, 0}));
}
