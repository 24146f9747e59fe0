// 01-blocking-client: fetch one web page with blocking calls.
//
// What it teaches
//   Every network call here blocks: getaddrinfo() until the name is resolved, connect() until
//   the handshake completes, send() until the kernel has taken the bytes, recv() until some
//   arrive. For one conversation that is the simplest code there is: it reads top to bottom,
//   and the program's position in the code *is* the state of the conversation. But while it
//   waits on one socket it can do nothing else, which is the problem the next stages solve.
//
// What to observe
//   `strace -e trace=network build/bin/01-blocking-client` shows each call, and the time spent
//   blocked in connect() and recv(). Start a local server (`python3 -m http.server 8000`) and
//   run `build/bin/01-blocking-client --port 8000 127.0.0.1 /`.
//
// Run it
//   build/bin/01-blocking-client [--port PORT] [HOST [PATH]]   (defaults: www.google.com 80 /)
//
// Departures from the book are marked [E01.n], the entries of docs/ERRATA.md.
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

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
  std::string path = kDefaultPath;
  std::uint16_t port = kDefaultPort;
};

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
void copy_response(int fd) {
  char buffer[16384];
  for (;;) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);  // blocks until bytes or end of file
    if (n == 0) return;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) common::throw_errno("recv");
    // Departure [E01.3]: a failed write to stdout is an error, not silence.
    if (std::fwrite(buffer, 1, static_cast<std::size_t>(n), stdout) != static_cast<size_t>(n)) {
      common::throw_errno("write stdout");
    }
  }
}

void run(const Options& options) {
  common::Fd fd = connect_to(options);
  // HTTP/1.0: the server closes the connection after the response, which is how we know it
  // is complete. The Host header names the port when it is not the default one.
  const bool ipv6_literal = options.host.find(':') != std::string::npos;
  std::string request = "GET " + options.path + " HTTP/1.0\r\nHost: ";
  request += ipv6_literal ? "[" : "";
  request += options.host;
  request += ipv6_literal ? "]" : "";
  if (options.port != kDefaultPort) request.append(":").append(std::to_string(options.port));
  request += "\r\n\r\n";
  send_all(fd.get(), request);
  copy_response(fd.get());
  if (std::fflush(stdout) != 0) common::throw_errno("write stdout");
}

// Best effort, unlike the response: the exit status already says if the command line was bad.
void print_usage(std::FILE* to) {
  (void)std::fprintf(to,
                     "usage: %s [--port PORT] [HOST [PATH]]\n"
                     "Fetches http://HOST:PORT/PATH with blocking calls and copies the response,\n"
                     "headers included, to stdout. Defaults: %s, port %u, path %s.\n",
                     common::program_name().c_str(), kDefaultHost, kDefaultPort, kDefaultPath);
}

// Returns an error message, or an empty string if the command line is good.
// Departure [E01.4]: the book hard-codes www.google.com, port 80 and "/".
std::string parse(int argc, char** argv, Options& options, bool& help) {
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
    } else if (arg == "--port" || arg.starts_with("--port=")) {
      std::string value = arg == "--port" ? (i + 1 < argc ? argv[++i] : "") : arg.substr(7);
      if (!common::parse_port(value, options.port) || options.port == 0) {
        return "bad port '" + value + "' (1 to 65535)";
      }
    } else if (arg.starts_with("-") && arg.size() > 1) {
      return "unknown option '" + arg + "'";
    } else if (positional == 0) {
      options.host = arg;
      ++positional;
    } else if (positional == 1) {
      options.path = arg;
      ++positional;
    } else {
      return "too many arguments";
    }
  }
  if (options.host.empty()) return "empty host";
  if (!options.path.starts_with("/")) return "PATH must start with '/'";
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
