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
void print_usage(std::FILE* to, std::string_view summary, const CountOption* extra) {
  std::string usage = "[--bind ADDR] [--port PORT]";
  std::string extra_help;
  if (extra) {
    usage += " [" + std::string(extra->name) + " N]";
    extra_help = "  " + std::string(extra->name) + " N  " + std::string(extra->help) + ", 1 to " +
                 std::to_string(extra->max) + " (default " + std::to_string(extra->value) + ")\n";
  }
  (void)std::fprintf(
      to,
      "usage: %s %s [--help]\n"
      "%.*s\n"
      "  --bind ADDR  address to listen on (default 127.0.0.1; :: or 0.0.0.0 for all)\n"
      "  --port PORT  TCP port, 0 to 65535 (default 40713; 0 picks a free port)\n"
      "%s"
      "Prints 'listening on ADDR:PORT' when ready; SIGINT or SIGTERM stops it.\n",
      program_name().c_str(), usage.c_str(), static_cast<int>(summary.size()), summary.data(),
      extra_help.c_str());
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

// Parses a count from 1 to @p max, with nothing else in the text.
bool parse_count(const std::string& text, unsigned max, unsigned& count) {
  if (text.empty() || text.size() > 9 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const unsigned long value = std::stoul(text);
  if (value < 1 || value > max) return false;
  count = static_cast<unsigned>(value);
  return true;
}

// Returns an error message, or an empty string if the command line is good. @p extra, if not
// null, is the stage's own option; its value is replaced by the command line's.
std::string parse(int argc, char** argv, ServerOptions& options, CountOption* extra, bool& help) {
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
    } else if (auto count =
                   extra ? option_value(extra->name, argc, argv, i, error) : std::nullopt) {
      if (!parse_count(*count, extra->max, extra->value)) {
        error = "bad " + std::string(extra->name) + " '" + *count + "' (1 to " +
                std::to_string(extra->max) + ")";
      }
    } else if (error.empty()) {
      error = "unknown argument '" + std::string(arg) + "'";
    }
  }
  return error;
}

// What both forms of server_main() do; @p run takes the listener, and @p extra's value if any.
template <typename Run>
int serve(int argc, char** argv, std::string_view summary, CountOption* extra, Run run) {
  set_program_name(argc > 0 ? argv[0] : nullptr);
  ServerOptions options;
  bool help = false;
  if (const std::string error = parse(argc, argv, options, extra, help); !error.empty()) {
    log(error);
    print_usage(stderr, summary, extra);
    return kExitUsage;
  }
  if (help) {
    print_usage(stdout, summary, extra);
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

}  // namespace

int server_main(int argc, char** argv, std::string_view summary, RunFunction run) {
  return serve(argc, argv, summary, nullptr, run);
}

int server_main(int argc, char** argv, std::string_view summary, RunWithCountFunction run,
                CountOption option) {
  return serve(argc, argv, summary, &option,
               [&](Listener& listener) { run(listener, option.value); });
}

}  // namespace common
