// rot13_char and rot13_inplace: the book's locale-independent rule, for all 256 byte values.
#include "common/rot13.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/reference/protocol_reference.hpp"

namespace {

TEST(Rot13, RotatesLowercaseAndUppercaseLettersByThirteen) {
  EXPECT_EQ(common::rot13_char('a'), 'n');
  EXPECT_EQ(common::rot13_char('m'), 'z');
  EXPECT_EQ(common::rot13_char('n'), 'a');
  EXPECT_EQ(common::rot13_char('z'), 'm');
  EXPECT_EQ(common::rot13_char('A'), 'N');
  EXPECT_EQ(common::rot13_char('M'), 'Z');
  EXPECT_EQ(common::rot13_char('N'), 'A');
  EXPECT_EQ(common::rot13_char('Z'), 'M');
}

TEST(Rot13, LeavesTheNeighboursOfTheAlphabetUnchanged) {
  for (char c : std::string("@[`{0918 \r\n\t"))
    EXPECT_EQ(common::rot13_char(c), c) << int(c);
}

TEST(Rot13, AgreesWithTheReferenceOnAll256ByteValues) {
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    EXPECT_EQ(common::rot13_char(c), reference::rot13(c)) << "byte " << i;
  }
}

TEST(Rot13, NeverTouchesBytesAbove0x7FWhateverTheLocale) {
  for (int i = 0x80; i < 0x100; ++i) {
    EXPECT_EQ(common::rot13_char(static_cast<char>(i)), static_cast<char>(i)) << "byte " << i;
  }
}

TEST(Rot13, AppliedTwiceGivesBackTheInput) {
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    EXPECT_EQ(common::rot13_char(common::rot13_char(c)), c);
  }
}

TEST(Rot13, InplaceTransformsEveryByteOfTheSpan) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  std::string transformed = all;
  common::rot13_inplace(transformed);  // a span: the size cannot change
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(transformed[i], common::rot13_char(all[i])) << "byte " << i;
  }
}

TEST(Rot13, InplaceAcceptsAnEmptySpan) {
  std::string empty;
  common::rot13_inplace(empty);
  EXPECT_TRUE(empty.empty());
}

}  // namespace
