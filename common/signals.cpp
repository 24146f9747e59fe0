#include "common/signals.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>

#include "common/log.hpp"
#include "common/posix.hpp"

namespace common {
namespace {

// Written by the handler, read by the loops. An atomic, not a volatile sig_atomic_t: in 02b and
// 02c the handler may run on a worker thread while the main thread reads the flag, and only a
// lock-free atomic is both safe in a handler and free of data races between threads.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);
int g_pipe[2] = {-1, -1};  // [0] read end, watched by the loops; [1] written by the handler

extern "C" void on_stop_signal(int /*signo*/) {
  const int saved_errno = errno;  // a handler must not disturb the errno of the code it interrupts
  g_stop.store(true);
  // Only async-signal-safe calls here: write() is one. The pipe is non-blocking, so a full pipe
  // (a flood of signals) cannot hang the handler; one byte is enough to wake any loop.
  [[maybe_unused]] ssize_t ignored = ::write(g_pipe[1], "x", 1);
  errno = saved_errno;
}

void set_handler(int signo, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: interrupted blocking calls return EINTR
  if (::sigaction(signo, &action, nullptr) < 0) throw_errno("sigaction");
}

}  // namespace

void install_signal_handlers() {
  if (pipe_cloexec_nonblocking(g_pipe) < 0) throw_errno("pipe");
  set_handler(SIGPIPE, SIG_IGN);
  set_handler(SIGINT, on_stop_signal);
  set_handler(SIGTERM, on_stop_signal);
}

bool stop_requested() noexcept { return g_stop.load(); }

int stop_fd() noexcept { return g_pipe[0]; }

void reset_signals_in_child() noexcept {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  for (int& end : g_pipe) {
    if (end >= 0) ::close(end);
    end = -1;
  }
}

}  // namespace common
