/// @file
/// @brief Everything a server stage's main() does around its IO model.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/net.hpp"

namespace common {

/// @brief The options every server stage takes: `[--bind ADDR] [--port PORT] [--help]`.
struct ServerOptions {
  /// Departure [E02.11]: loopback, safer than the book's any-address; `--bind ::` opens up.
  std::string bind = "127.0.0.1";
  std::uint16_t port = 40713;  ///< the book's port; `--port 0` lets the kernel pick one
};

/// @brief The body of a stage: serve on @p listener until a stop is requested.
/// May throw std::exception on a fatal error; the message is logged and the program exits 1.
using RunFunction = void (*)(Listener& listener);

/// @brief An option of one stage's own that takes a count, such as 02c's `--threads N`.
struct CountOption {
  std::string_view name;  ///< as typed, e.g. `--threads`
  std::string_view help;  ///< what it sets, for `--help`, e.g. `worker threads in the pool`
  unsigned value;         ///< the default; server_main() passes the command line's value to run
  unsigned max;           ///< the largest value accepted; the smallest is 1
};

/// @brief The body of a stage with a CountOption: serve on @p listener with @p count.
using RunWithCountFunction = void (*)(Listener& listener, unsigned count);

/// @brief Parses the command line, sets up signals and the listening socket, announces
/// `listening on ADDR:PORT` on stdout, then calls @p run.
///
/// Exit status: 0 after a requested stop (SIGINT, SIGTERM) or `--help`; 1 when start-up fails
/// (e.g. `bind 127.0.0.1:40713: Address already in use`) or @p run throws; 2 for a bad command
/// line, with the usage on stderr.
/// @param argc,argv main()'s arguments.
/// @param summary one line on what the stage teaches, shown by `--help`.
/// @param run the stage's IO loop.
[[nodiscard]] int server_main(int argc, char** argv, std::string_view summary, RunFunction run);

/// @brief server_main() for a stage with one option of its own, @p option, whose value (the
/// default, or `NAME N` / `NAME=N` from the command line, 1 to @p option.max) goes to @p run.
[[nodiscard]] int server_main(int argc, char** argv, std::string_view summary,
                              RunWithCountFunction run, CountOption option);

}  // namespace common
