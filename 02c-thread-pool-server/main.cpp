// 02c-thread-pool-server: a fixed pool of threads, each serving one connection at a time.
//
// What it teaches
//   02b started a thread per client, so a crowd of clients is a crowd of threads. A pool caps
//   them: N threads are started once (--threads N, default 4), the main thread accepts and
//   queues each connection, and a free worker takes it and serves it with blocking calls until
//   it closes. Thread creation leaves the per-connection path, and the thread count no longer
//   grows with the clients. The price is the pool's failure mode: a worker is busy for as long
//   as its client stays connected, even when that client says nothing. With N idle clients
//   connected, client N+1 waits in the queue, unanswered, until one of them leaves. Blocking
//   calls tie a thread to a connection; only an event loop lets one thread serve many. A few
//   threads per CPU, each with its own event loop, is where the chapter is heading.
//
// What to observe
//   Start it with `--threads 2`, connect two clients with `nc 127.0.0.1 40713` and leave them
//   idle, then connect a third and type a line: no answer. Close one of the first two: the
//   third is answered at once. `grep Threads /proc/$(pgrep 02c-thread)/status` says 3 whatever
//   the number of clients: the main thread and the pool.
//
// Run it
//   build/bin/02c-thread-pool-server [--bind ADDR] [--port PORT] [--threads N]
//   then: nc 127.0.0.1 40713
//
// Departures from the book are marked [E02.n], the entries of docs/ERRATA.md: the book's fork
// server, whose per-client loop this stage keeps, run by a pooled thread (its departures are
// marked where it lives, in common/blocking_server.cpp).
#include <sys/socket.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <vector>

#include "common/blocking_server.hpp"
#include "common/net.hpp"
#include "common/server_main.hpp"
#include "common/signals.hpp"

namespace {

constexpr std::string_view kSummary =
    "ROT13 line server: a fixed pool of threads, one connection each at a time.";

// A small pool, so that its failure mode is easy to provoke: a fifth idle client waits.
constexpr unsigned kDefaultThreads = 4;

// What the main thread and the workers share: the queue of accepted connections that no worker
// has taken yet, and the sockets being served (to wake their workers at a stop). Every member
// is read and written only under `mutex`.
struct Pool {
  std::mutex mutex;
  std::condition_variable queued;  // a connection was queued, or the pool is stopping
  std::deque<common::Fd> waiting;  // accepted, not yet taken by a worker
  std::set<int> serving;           // sockets a worker is serving now
  bool stopping = false;
};

// One client's whole life, in a worker: 02's child, the same plain blocking loop
// (common::serve_blocking) with the connection's state on the worker's stack.
void serve(common::Fd client, Pool& pool) {
  common::serve_blocking(client.get());
  // Close under the lock, so that a stop never shuts down a descriptor number already reused.
  const std::lock_guard lock(pool.mutex);
  pool.serving.erase(client.get());
  client.reset();  // the client sees end of file after its last answer
}

// A worker: takes the oldest waiting connection and serves it to the end, then the next.
void worker(Pool& pool) {
  for (;;) {
    common::Fd client;
    {
      std::unique_lock lock(pool.mutex);
      pool.queued.wait(lock, [&] { return pool.stopping || !pool.waiting.empty(); });
      if (pool.stopping) return;
      client = std::move(pool.waiting.front());
      pool.waiting.pop_front();
      pool.serving.insert(client.get());
    }
    serve(std::move(client), pool);
  }
}

// Waits for one connection and queues it for the next free worker.
void do_accept(common::Listener& listener, Pool& pool) {
  common::Fd client = listener.accept(common::Mode::kBlocking);
  if (!client) return;  // timeout, signal, or a refused connection: run() decides what next
  const std::lock_guard lock(pool.mutex);
  pool.waiting.push_back(std::move(client));
  pool.queued.notify_one();
}

// Departure [E02.12]: stopping: no worker takes another connection, the queued ones close
// unanswered, and every worker blocked in recv() or send() is woken by shutdown() (its client
// sees the connection close). Then join them all.
void stop_all(Pool& pool, std::vector<std::thread>& workers) {
  {
    const std::lock_guard lock(pool.mutex);
    pool.stopping = true;
    pool.waiting.clear();
    for (const int fd : pool.serving)
      (void)::shutdown(fd, SHUT_RDWR);  // fails only if the client left first
  }
  pool.queued.notify_all();
  for (std::thread& t : workers)
    t.join();
}

void run(common::Listener& listener, unsigned threads) {
  // As in 02b: the main thread blocks in accept(), and the timeout bounds how long a stop that
  // a worker thread took can go unnoticed.
  common::set_accept_timeout(listener);

  Pool pool;
  std::vector<std::thread> workers;
  try {
    for (unsigned i = 0; i < threads; ++i)
      workers.emplace_back(worker, std::ref(pool));
    while (!common::stop_requested())
      do_accept(listener, pool);
  } catch (...) {
    stop_all(pool, workers);  // a std::thread destroyed unjoined would abort the whole program
    throw;                    // server_main reports it
  }
  stop_all(pool, workers);
}

}  // namespace

int main(int argc, char** argv) {
  return common::server_main(argc, argv, kSummary, run,
                             {"--threads", "worker threads in the pool", kDefaultThreads, 1024});
}
