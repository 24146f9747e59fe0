// 02b-thread-server: one thread per connection, blocking IO in each.
//
// What it teaches
//   02 gave each client a process. The chapter's next sentence offers threads instead, and its
//   one after that says why they do not scale either. A thread is cheaper than a process: no
//   fork() of the address space, no page tables of its own, one descriptor table for all. The
//   code per client is still 02's plain blocking loop with its state on the stack, and the
//   kernel's scheduler is still the multiplexer. The price is one thread per client: a kernel
//   task (capped by threads-max and pid_max) and a stack reserved for each (8 MiB of address
//   space by default, of which only the touched pages are resident), measured in docs/bench.md.
//   Sharing has a price of its own: what fork() kept apart, we must keep apart on purpose. Each
//   thread gets its socket by value, never the address of a variable the next accept()
//   overwrites, and the main thread joins every thread it started.
//
// What to observe
//   Connect three clients (`nc 127.0.0.1 40713` in three terminals) and run
//   `grep Threads /proc/$(pgrep 02b-thread)/status`: 4, the main thread and one per client.
//   `ps -L -o pid,lwp,stat,rss,vsz,cmd -C 02b-thread-server` lists them: one process, four tasks.
//
// Run it
//   build/bin/02b-thread-server [--bind ADDR] [--port PORT]     then: nc 127.0.0.1 40713
//
// Departures from the book are marked [E02.n], the entries of docs/ERRATA.md: the book's fork
// server, which this stage follows with a thread where it forks a process. Those of the
// per-client loop are marked where it lives, in common/blocking_server.cpp.
#include <sys/socket.h>

#include <list>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/blocking_server.hpp"
#include "common/log.hpp"
#include "common/net.hpp"
#include "common/server_main.hpp"
#include "common/signals.hpp"

namespace {

constexpr std::string_view kSummary = "ROT13 line server: a thread per connection.";

// One thread serving one client, as the main thread sees it. A worker closes its own socket;
// until then `fd` lets the main thread wake it at a stop. `fd` and `done` are shared with the
// worker, so both are read and written only under Workers::mutex.
struct Worker {
  std::thread thread;
  int fd = -1;        // the client's socket while the worker runs
  bool done = false;  // the worker has closed its socket: join() will not block
};

// Every thread started and not yet joined. A std::list, so a Worker never moves while its thread
// holds a reference to it.
struct Workers {
  std::mutex mutex;
  std::list<Worker> list;
};

// The whole life of one client, in its own thread: 02's child, the same plain blocking loop
// (common::serve_blocking) with the connection's state on the thread's stack. `client` comes by
// value: the thread owns the socket, and the next accept() cannot overwrite it.
void worker(common::Fd client, Worker& self, Workers& workers) {
  common::serve_blocking(client.get());
  // Close under the lock, so that a stop never shuts down a descriptor number already reused.
  const std::lock_guard lock(workers.mutex);
  client.reset();  // the client sees end of file after its last answer
  self.done = true;
}

// Waits for one connection and hands it to a new thread.
void do_accept(common::Listener& listener, Workers& workers) {
  common::Fd client = listener.accept(common::Mode::kBlocking);
  if (!client) return;  // timeout, signal, or a refused connection: run() decides what next
  Worker* self = nullptr;
  {
    const std::lock_guard lock(workers.mutex);
    self = &workers.list.emplace_back();
    self->fd = client.get();
  }
  try {
    self->thread = std::thread(worker, std::move(client), std::ref(*self), std::ref(workers));
  } catch (const std::exception& e) {
    // Out of threads (threads-max, pid_max) or of memory for a stack: drop this one client.
    // The socket closes either way: with the thread's arguments, or with `client` here.
    common::log(std::string("std::thread: ") + e.what());
    const std::lock_guard lock(workers.mutex);
    workers.list.pop_back();
  }
}

// Joins every worker that has finished: the thread's counterpart of reaping a child.
void join_finished(Workers& workers) {
  std::list<Worker> finished;
  {
    const std::lock_guard lock(workers.mutex);
    for (auto it = workers.list.begin(); it != workers.list.end();) {
      auto next = std::next(it);
      if (it->done) finished.splice(finished.end(), workers.list, it);
      it = next;
    }
  }
  for (Worker& w : finished)
    w.thread.join();
}

// Departure [E02.12]: stopping wakes every worker blocked in recv() or send(): shutdown() ends
// the connection under it (its client sees the connection close), and the worker finishes.
// Then join them all.
void stop_all(Workers& workers) {
  {
    const std::lock_guard lock(workers.mutex);
    for (const Worker& w : workers.list) {
      if (!w.done) (void)::shutdown(w.fd, SHUT_RDWR);  // fails only if the client left first
    }
  }
  for (Worker& w : workers.list)
    w.thread.join();
}

void run(common::Listener& listener) {
  // The main thread blocks in accept(), yet SIGINT/SIGTERM must stop the server: the handlers
  // are installed without SA_RESTART, so accept() returns EINTR when the main thread takes the
  // signal. Any thread may take it, so accept() also gives up after a quarter of a second, and
  // the same timeout lets the main thread join the workers that have finished.
  common::set_accept_timeout(listener);

  Workers workers;
  try {
    while (!common::stop_requested()) {
      do_accept(listener, workers);
      join_finished(workers);
    }
  } catch (...) {
    stop_all(workers);  // a std::thread destroyed unjoined would abort the whole program
    throw;
  }
  stop_all(workers);
}

}  // namespace

int main(int argc, char** argv) { return common::server_main(argc, argv, kSummary, run); }
