// A deliberately plain model of docs/protocol.md, written independently of common/ so that the
// unit tests and the fuzzer compare two implementations instead of one with itself.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace reference {

inline constexpr std::size_t kMaxLine = 16384;

// ROT13 by alphabet lookup: a different rule of thumb from common::rot13_char's ranges.
inline char rot13(char c) {
  constexpr std::string_view lower = "abcdefghijklmnopqrstuvwxyz";
  constexpr std::string_view upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (auto i = lower.find(c); i != std::string_view::npos) return lower[(i + 13) % 26];
  if (auto i = upper.find(c); i != std::string_view::npos) return upper[(i + 13) % 26];
  return c;
}

// Everything the server sends for the whole input; `ended` says whether the input was closed.
inline std::string answer(std::string_view input, bool ended) {
  std::string out;
  std::string line;
  for (char c : input) {
    if (c == '\n') {
      out += line + '\n';
      line.clear();
      continue;
    }
    line += rot13(c);
    if (line.size() == kMaxLine) {
      out += line + '\n';
      line.clear();
    }
  }
  if (ended) out += line;
  return out;
}

}  // namespace reference
