#include "common/rot13.hpp"

#include <array>
#include <cstddef>

namespace common {
namespace {

// A 256-entry table built at compile time from rot13_char(): one load per byte, no branches.
constexpr std::array<char, 256> make_table() {
  std::array<char, 256> table{};
  for (std::size_t i = 0; i < table.size(); ++i) {
    table[i] = rot13_char(static_cast<char>(i));
  }
  return table;
}

constexpr std::array<char, 256> kTable = make_table();

}  // namespace

void rot13_inplace(std::span<char> bytes) noexcept {
  for (char& c : bytes) {
    c = kTable[static_cast<unsigned char>(c)];
  }
}

}  // namespace common
