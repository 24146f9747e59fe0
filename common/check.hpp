/// @file
/// @brief COMMON_ASSERT: an invariant checked in every build, release builds included.
///
/// `assert()` from `<cassert>` compiles to nothing when `NDEBUG` is defined, as it is in
/// release builds: the check vanishes exactly where nobody watches (the flaw of eliben's
/// servers, where such an assert hid a real bug, and of the book's `assert(state); /*XXX err*/`).
/// A broken invariant is a bug in the program, not an error to handle: COMMON_ASSERT says where
/// and why on stderr and aborts, whatever the build type. Use it where a comment states an
/// invariant ("freed only when nothing of it is in flight"), so that the code states it too.
/// (common::LineProtocol checks its contract the same way, with a function of its own: its
/// sources are compiled alone into the protocol fuzzer, tests/fuzz.)
#pragma once

namespace common {

/// @brief Reports a failed COMMON_ASSERT and aborts: writes
/// `program: file:line: message (check failed: condition)` to stderr, then calls std::abort().
/// @param file,line where the check is, from `__FILE__` and `__LINE__`; only the file's last
/// two path components are printed (`common/uring.cpp`).
/// @param condition the condition that was false, as written in the code.
/// @param message what the broken invariant means, e.g. `a completion for a connection already
/// freed`.
[[noreturn]] void check_failed(const char* file, int line, const char* condition,
                               const char* message) noexcept;

}  // namespace common

/// @brief Aborts with common::check_failed() if @p condition is false, in every build type
/// (never compiled away under `NDEBUG`, unlike `assert()`).
/// @param condition an expression that must hold; evaluated exactly once.
/// @param message a string literal saying what is broken when it does not.
#define COMMON_ASSERT(condition, message) \
  ((condition) ? static_cast<void>(0)     \
               : ::common::check_failed(__FILE__, __LINE__, #condition, message))
