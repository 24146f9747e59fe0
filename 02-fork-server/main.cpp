// 02-fork-server: one process per connection, blocking IO in each.
//
// What it teaches
//   Stage 01 could talk to one peer at a time, because every call blocks. The simplest way to
//   serve many clients with blocking calls is to give each its own process: the parent blocks in
//   accept(), and fork()s a child that blocks in recv() and send() for that one client. The code
//   per client stays a plain loop with its state on the stack; the kernel's scheduler is the
//   multiplexer. The price is one process (a fork, page tables, a scheduler entry) per client:
//   fine for a dozen clients, costly for ten thousand (measured in docs/bench.md).
//
// What to observe
//   Connect three clients (`nc 127.0.0.1 40713` in three terminals) and run
//   `ps --forest -o pid,stat,rss,cmd -C 02-fork-server`: one parent, one child per client.
//   Close a client: its child disappears at once, with no <defunct> zombie left behind.
//
// Run it
//   build/bin/02-fork-server [--bind ADDR] [--port PORT]     then: nc 127.0.0.1 40713
//
// Departures from the book are marked [E02.n], the entries of docs/ERRATA.md: the book's version
// drops bytes, leaks a descriptor per client and leaves a zombie per client, among others. Those
// of the per-client loop are marked where it lives, in common/blocking_server.cpp.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <set>

#include "common/blocking_server.hpp"
#include "common/log.hpp"
#include "common/net.hpp"
#include "common/server_main.hpp"
#include "common/signals.hpp"

namespace {

constexpr std::string_view kSummary = "ROT13 line server: fork() a child per connection.";

// The whole life of one client, in the child: a plain blocking loop, recv() then send() until
// the client is done, with the connection's state on the child's stack. It is the function
// 02b's and 02c's threads run too (common::serve_blocking): nothing but who runs it differs.
void child(common::Fd client) {
  common::serve_blocking(client.get());
}  // `client` closes here: the client sees end of file after its last answer

// Waits for one connection and hands it to a new child process.
void do_accept(common::Listener& listener, std::set<pid_t>& children) {
  common::Fd client = listener.accept(common::Mode::kBlocking);
  if (!client) return;  // timeout, signal, or a refused connection: run() decides what next
  const pid_t pid = fork();
  if (pid < 0) {
    common::log_errno("fork");  // departure [E02.9]: the book ignores this; we drop one client
    return;                     // `client` closes here
  }
  if (pid == 0) {
    // In the child. Departure [E02.7]: the book's child keeps the listener open.
    listener.close();
    common::reset_signals_in_child();
    if (!common::stop_requested()) child(std::move(client));  // a stop may predate the reset
    _exit(0);  // not exit(): the parent's atexit handlers and stdio buffers are not ours
  }
  children.insert(pid);
  // Departure [E02.6]: the book's parent never closes its copy of the client socket, so the
  // client sees no end of file and the parent leaks a descriptor per connection. `client` goes
  // out of scope here and closes it.
}

// Departure [E02.8]: reaps every child that has exited; the book leaves a zombie per client.
void reap_children(std::set<pid_t>& children) {
  pid_t pid;
  while ((pid = waitpid(-1, nullptr, WNOHANG)) > 0)
    children.erase(pid);
}

// SIGCHLD's only job is to interrupt the parent's accept() so that it reaps at once.
extern "C" void on_child_exit(int /*signo*/) {}

void run(common::Listener& listener) {
  // The parent blocks in accept(), yet two other things need it: a child that exits must be
  // reaped, and SIGINT/SIGTERM must stop the server. Both arrive as signals whose handlers are
  // installed without SA_RESTART, so accept() returns EINTR. A signal that lands just before
  // accept() blocks would go unnoticed, so accept() also gives up after a quarter of a second.
  struct sigaction action {};
  action.sa_handler = on_child_exit;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGCHLD, &action, nullptr) < 0) common::throw_errno("sigaction SIGCHLD");
  common::set_accept_timeout(listener);

  std::set<pid_t> children;
  while (!common::stop_requested()) {
    do_accept(listener, children);
    reap_children(children);
  }

  // Departure [E02.12]: stopping ends every child (their clients see the connection close),
  // then waits for them.
  for (const pid_t pid : children)
    kill(pid, SIGTERM);
  for (const pid_t pid : children) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace

int main(int argc, char** argv) { return common::server_main(argc, argv, kSummary, run); }
