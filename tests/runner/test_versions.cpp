#include <gtest/gtest.h>

#include "versions.hpp"

using namespace mpconform;

TEST(Versions, ParseIgnoresThePatchLevel) {
  EXPECT_EQ(parse_version("3.12.1"), (Version{3, 12}));
  EXPECT_EQ(parse_version("3.8"), (Version{3, 8}));
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
