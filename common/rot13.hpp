/// @file
/// @brief ROT13, the transformation every server stage applies to its input.
///
/// The chapter's rot13_char() deliberately avoids isalpha(): a program that sets a locale could
/// make isalpha() accept bytes beyond ASCII, and the server's answer must not depend on that.
#pragma once

#include <span>

namespace common {

/// @brief ROT13 of one byte.
/// @param c any byte, including NUL and bytes 0x80 to 0xFF.
/// @return c rotated by 13 places if it is an ASCII letter (`a` to `z`, `A` to `Z`); otherwise c.
constexpr char rot13_char(char c) noexcept {
  if ((c >= 'a' && c <= 'm') || (c >= 'A' && c <= 'M')) return static_cast<char>(c + 13);
  if ((c >= 'n' && c <= 'z') || (c >= 'N' && c <= 'Z')) return static_cast<char>(c - 13);
  return c;
}

/// @brief Replaces every byte of @p bytes by its rot13_char(), in place.
/// @param bytes the bytes to transform; may be empty.
void rot13_inplace(std::span<char> bytes) noexcept;

}  // namespace common
