#include "common/server_main.hpp"

#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include "common/log.hpp"
#include "common/signals.hpp"

namespace common {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Best effort: the exit status already says if the command line was bad.
void print_usage(std::FILE* to, std::string_view summary) {
  (void)std::fprintf(
      to,
      "usage: %s [--bind ADDR] [--port PORT] [--help]\n"
      "%.*s\n"
      "  --bind ADDR  address to listen on (default 127.0.0.1; :: or 0.0.0.0 for all)\n"
      "  --port PORT  TCP port, 0 to 65535 (default 40713; 0 picks a free port)\n"
      "Prints 'listening on ADDR:PORT' when ready; SIGINT or SIGTERM stops it.\n",
      program_name().c_str(), static_cast<int>(summary.size()), summary.data());
}

// Accepts `--name value` and `--name=value`; returns the value, or nothing if @p arg is not
// @p name (a missing value is reported through @p error).
std::optional<std::string> option_value(std::string_view name, int argc, char** argv, int& i,
                                        std::string& error) {
  const std::string_view arg = argv[i];
  if (arg == name) {
    if (i + 1 >= argc) {
      error = std::string(name) + " needs a value";
      return std::nullopt;
    }
    return std::string(argv[++i]);
  }
  if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=') {
    return std::string(arg.substr(name.size() + 1));
  }
  return std::nullopt;
}

// Returns an error message, or an empty string if the command line is good.
std::string parse(int argc, char** argv, ServerOptions& options, bool& help) {
  std::string error;
  for (int i = 1; i < argc && error.empty(); ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
    } else if (auto bind = option_value("--bind", argc, argv, i, error)) {
      if (bind->empty()) error = "--bind needs an address";
      options.bind = *bind;
    } else if (auto port = option_value("--port", argc, argv, i, error)) {
      if (!parse_port(*port, options.port)) error = "bad port '" + *port + "' (0 to 65535)";
    } else if (error.empty()) {
      error = "unknown argument '" + std::string(arg) + "'";
    }
  }
  return error;
}

}  // namespace

int server_main(int argc, char** argv, std::string_view summary, RunFunction run) {
  set_program_name(argc > 0 ? argv[0] : nullptr);
  ServerOptions options;
  bool help = false;
  if (const std::string error = parse(argc, argv, options, help); !error.empty()) {
    log(error);
    print_usage(stderr, summary);
    return kExitUsage;
  }
  if (help) {
    print_usage(stdout, summary);
    return 0;
  }
  try {
    install_signal_handlers();
    Listener listener(options.bind, options.port);
    // The one line a script (or the test harness) waits for; flushed because stdout is a pipe.
    std::printf("listening on %s\n", listener.address().c_str());
    if (std::fflush(stdout) != 0) log_errno("write stdout");  // say why nobody saw the line
    run(listener);
    return 0;
  } catch (const std::exception& e) {
    log(e.what());  // departure [E02.10]: the book prints perror() and exits 0
    return kExitFailure;
  }
}

}  // namespace common
