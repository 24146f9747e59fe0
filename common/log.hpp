/// @file
/// @brief Log lines and errors in one form: `program: what: strerror`.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>

namespace common {

/// @brief Sets the program name that starts every log line, from main()'s argv[0].
/// @param argv0 the program's path as started; only its last component is kept.
void set_program_name(const char* argv0);

/// @brief The name set by set_program_name(), e.g. `02-fork-server`.
[[nodiscard]] const std::string& program_name() noexcept;

/// @brief Writes `program: message` and a newline to stderr.
void log(std::string_view message);

/// @brief Writes `program: what: strerror(err)` to stderr, e.g. `02-fork-server: fork: ...`.
/// @param what the call that failed and, where it helps, on what.
/// @param err the error number; by default the current errno.
void log_errno(std::string_view what, int err = errno);

/// @brief Throws std::system_error for @p err; its what() reads `what: strerror(err)`.
[[noreturn]] void throw_errno(const std::string& what, int err = errno);

}  // namespace common
