// floor: the fastest a line server could possibly be here, to measure every stage against.
//
// A plain echo over TCP: each connection, one at a time, gets back exactly the bytes it sends,
// with blocking recv() and send() and no protocol logic at all. bench/run measures it with
// bench/loadgen --expect echo, in the same run as the stages, and states every stage's figures
// as a ratio to it: a ping-pong round trip (the floor of latency) and a bulk stream (the floor
// of throughput) between two processes on this machine, as it is loaded right now.
//
//   build/bin/floor [--bind ADDR] [--port PORT]
#include <sys/socket.h>

#include <array>
#include <cerrno>

#include "common/log.hpp"
#include "common/net.hpp"
#include "common/server_main.hpp"
#include "common/signals.hpp"

namespace {

constexpr std::string_view kSummary = "Echo server: the floor the benchmarks compare against.";

// Echoes one connection until it ends or a stop is requested.
void echo(int fd) {
  std::array<char, 65536> buffer;
  while (!common::stop_requested()) {
    const ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
    if (n == 0) return;
    if (n < 0) {
      if (errno == EINTR) continue;
      common::log_errno("recv");
      return;
    }
    for (ssize_t sent = 0; sent < n;) {
      const ssize_t m = send(fd, buffer.data() + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
      if (m < 0 && errno == EINTR) continue;
      if (m < 0) {
        common::log_errno("send");
        return;
      }
      sent += m;
    }
  }
}

void run(common::Listener& listener) {
  while (!common::stop_requested()) {
    if (common::Fd client = listener.accept(common::Mode::kBlocking)) echo(client.get());
  }
}

}  // namespace

int main(int argc, char** argv) { return common::server_main(argc, argv, kSummary, run); }
