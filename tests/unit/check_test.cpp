// common/check.hpp: COMMON_ASSERT checks in every build type. The unit tests are built with the
// build's own flags, and RelWithDebInfo and Release define NDEBUG: there, assert() would be gone.
#include "common/check.hpp"

#include <gtest/gtest.h>

namespace {

TEST(CommonAssert, PassesSilentlyAndEvaluatesItsConditionOnce) {
  int evaluations = 0;
  COMMON_ASSERT(++evaluations == 1, "evaluated once");
  EXPECT_EQ(evaluations, 1);
}

TEST(CommonAssertDeathTest, AbortsWithFileLineMessageAndConditionWhateverTheBuildType) {
  const int in_flight = 2;
  EXPECT_DEATH(COMMON_ASSERT(in_flight == 0, "torn down with operations in flight"),
               "unit/check_test\\.cpp:[0-9]+: torn down with operations in flight "
               "\\(check failed: in_flight == 0\\)");
}

}  // namespace
