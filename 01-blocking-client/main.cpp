// 01-blocking-client: fetch web pages with blocking calls, one socket at a time.
//
// What it teaches
//   Every network call here blocks: getaddrinfo() until the name is resolved, connect() until
//   the handshake completes, send() until the kernel has taken the bytes, recv() until some
//   arrive. For one conversation that is the simplest code there is: it reads top to bottom,
//   and the program's position in the code *is* the state of the conversation. But while it
//   waits on one socket it can do nothing else, which is the problem the next stages solve.
//
//   Given several paths, it runs the chapter's loop over several sockets, the one the book
//   labels "This won't work": one connection per page, every request sent first, then each
//   socket read to its end in turn. A page that arrives early waits unread until every page
//   before it is complete, because recv() on one socket sees nothing of the others.
//
// What to observe
//   `strace -e trace=network build/bin/01-blocking-client` shows each call, and the time spent
//   blocked in connect() and recv(). Start a local server (`python3 -m http.server 8000`) and
//   run `build/bin/01-blocking-client --port 8000 127.0.0.1 /`. With several paths, `--timing`
//   prints on stderr when each page's first byte was read and when its end was: a page served
//   at once behind a slow one is read only after the slow one (the tour shows it).
//
// Run it
//   build/bin/01-blocking-client [--port PORT] [--timing] [HOST [PATH...]]
//   (defaults: www.google.com, port 80, path /)
//
// Departures from the book are marked [E01.n], the entries of docs/ERRATA.md.
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.hpp"
#include "common/net.hpp"
#include "common/posix.hpp"

namespace {

constexpr const char* kDefaultHost = "www.google.com";
constexpr const char* kDefaultPath = "/";
constexpr std::uint16_t kDefaultPort = 80;
constexpr int kExitUsage = 2;

struct Options {
  std::string host = kDefaultHost;
  std::vector<std::string> paths;  // in the order given; none means kDefaultPath
  std::uint16_t port = kDefaultPort;
  bool timing = false;  // --timing: when each page was read, on stderr
};

using Clock = std::chrono::steady_clock;

// Resolves host and connects to the first of its addresses that answers, IPv4 or IPv6.
// Departure [E01.1]: getaddrinfo() instead of gethostbyname(), which knows only IPv4.
common::Fd connect_to(const Options& options) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(options.port);
  // Blocks until the resolver answers: maybe a DNS round trip, maybe seconds.
  if (int rc = getaddrinfo(options.host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    throw std::runtime_error("lookup " + options.host + ": " + gai_strerror(rc));
  }
  std::string last_error;
  common::Fd fd;
  for (const addrinfo* ai = found; ai != nullptr && !fd; ai = ai->ai_next) {
    common::Fd attempt(common::socket_cloexec(ai->ai_family, ai->ai_socktype, ai->ai_protocol));
    // Blocks until the three-way handshake completes or fails (refused, unreachable, timeout).
    if (attempt && connect(attempt.get(), ai->ai_addr, ai->ai_addrlen) == 0) {
      fd = std::move(attempt);
    } else {
      last_error = "connect " + common::print_address(ai->ai_addr) + ": " + std::strerror(errno);
    }
  }
  freeaddrinfo(found);
  if (!fd) throw std::runtime_error(last_error);
  return fd;
}

// The book asks "XXX Can send succeed partially?": yes, so keep sending the rest.
void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = common::send_nosignal(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) common::throw_errno("send");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Copies the response to stdout byte for byte until the server closes the connection.
// Returns when its first byte was read, if it had any: what --timing reports.
std::optional<Clock::time_point> copy_response(int fd) {
  char buffer[16384];
  std::optional<Clock::time_point> first_byte;
  for (;;) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);  // blocks until bytes or end of file
    if (n == 0) return first_byte;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) common::throw_errno("recv");
    if (!first_byte) first_byte = Clock::now();
    // Departure [E01.3]: a failed write to stdout is an error, not silence.
    if (std::fwrite(buffer, 1, static_cast<std::size_t>(n), stdout) != static_cast<size_t>(n)) {
      common::throw_errno("write stdout");
    }
  }
}

// HTTP/1.0: the server closes the connection after the response, which is how we know it
// is complete. The Host header names the port when it is not the default one.
std::string request_for(const Options& options, const std::string& path) {
  const bool ipv6_literal = options.host.find(':') != std::string::npos;
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: ";
  request += ipv6_literal ? "[" : "";
  request += options.host;
  request += ipv6_literal ? "]" : "";
  if (options.port != kDefaultPort) request.append(":").append(std::to_string(options.port));
  request += "\r\n\r\n";
  return request;
}

// --timing: when a page's first byte and its end were read, in ms since the client started.
void report_timing(std::size_t number, const std::string& path, Clock::time_point started,
                   std::optional<Clock::time_point> first_byte, Clock::time_point end) {
  const auto ms = [started](Clock::time_point t) {
    char text[32];
    const double value = std::chrono::duration<double, std::milli>(t - started).count();
    (void)std::snprintf(text, sizeof text, "%.1f ms", value);  // cannot fail: it fits in 32
    return std::string(text);
  };
  common::log("page " + std::to_string(number) + " (" + path + "): first byte at " +
              (first_byte ? ms(*first_byte) : "- (none)") + ", end at " + ms(end));
}

void run(const Options& options) {
  const Clock::time_point started = Clock::now();
  // The chapter's loop over several sockets: every request goes out before any reading, so
  // every server can be working on its page at once.
  std::vector<common::Fd> fds;
  for (const std::string& path : options.paths) {
    fds.push_back(connect_to(options));
    send_all(fds.back().get(), request_for(options, path));
  }
  // Then each socket is read to its end, in order. recv() blocks on this one socket: bytes
  // that reach the next one meanwhile wait in its receive buffer, unread. "This won't work."
  for (std::size_t i = 0; i < fds.size(); ++i) {
    const std::optional<Clock::time_point> first_byte = copy_response(fds[i].get());
    if (options.timing) report_timing(i + 1, options.paths[i], started, first_byte, Clock::now());
  }
  if (std::fflush(stdout) != 0) common::throw_errno("write stdout");
}

// Best effort, unlike the response: the exit status already says if the command line was bad.
void print_usage(std::FILE* to) {
  (void)std::fprintf(to,
                     "usage: %s [--port PORT] [--timing] [HOST [PATH...]]\n"
                     "Fetches http://HOST:PORT/PATH with blocking calls and copies the response,\n"
                     "headers included, to stdout. Several paths: one connection each, every\n"
                     "request sent first, then each response copied whole, in order.\n"
                     "--timing prints on stderr when each was read, in ms since the start.\n"
                     "Defaults: %s, port %u, path %s.\n",
                     common::program_name().c_str(), kDefaultHost, kDefaultPort, kDefaultPath);
}

// Returns an error message, or an empty string if the command line is good.
// Departure [E01.4]: the book hard-codes www.google.com, port 80 and "/".
std::string parse(int argc, char** argv, Options& options, bool& help) {
  bool host_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
    } else if (arg == "--port" || arg.starts_with("--port=")) {
      std::string value = arg == "--port" ? (i + 1 < argc ? argv[++i] : "") : arg.substr(7);
      if (!common::parse_port(value, options.port) || options.port == 0) {
        return "bad port '" + value + "' (1 to 65535)";
      }
    } else if (arg == "--timing") {
      options.timing = true;
    } else if (arg.starts_with("-") && arg.size() > 1) {
      return "unknown option '" + arg + "'";
    } else if (!host_given) {
      options.host = arg;
      host_given = true;
    } else if (arg.starts_with("/")) {
      options.paths.push_back(arg);
    } else {
      return "PATH must start with '/': '" + arg + "'";
    }
  }
  if (options.host.empty()) return "empty host";
  if (options.paths.empty()) options.paths.emplace_back(kDefaultPath);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  common::set_program_name(argc > 0 ? argv[0] : nullptr);
  Options options;
  bool help = false;
  if (const std::string error = parse(argc, argv, options, help); !error.empty()) {
    common::log(error + " (see --help)");  // one line: a script can show it as it is
    return kExitUsage;
  }
  if (help) {
    print_usage(stdout);
    return 0;
  }
  try {
    run(options);
    return 0;
  } catch (const std::exception& e) {
    common::log(e.what());  // departure [E01.2]: one line on stderr, nothing on stdout
    return 1;
  }
}
