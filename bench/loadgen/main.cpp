// loadgen: drives a line-protocol server over loopback and measures it.
//
// It opens C connections and keeps D lines of L bytes in flight on each (a closed loop: a new
// line goes out as soon as an answer comes back), for a duration or a number of lines. Every
// answer is checked byte for byte against the ROT13 of what was sent (or against the bytes
// themselves with --expect echo, for the floor in bench/floor): a server that answers wrong
// fails the run, it never wins it. It records the latency of every line and writes a JSON
// summary: lines/s, MB/s, latency percentiles, and any connection the server refused.
//
// Other modes: --idle N holds N further connections open (each answered once, then silent)
// while measuring on the active ones; --churn runs C concurrent connect-one-line-close clients.
//
//   loadgen --port P [--host 127.0.0.1] [--connections C] [--depth D] [--line-bytes L]
//           [--duration S | --count N [--timeout S]] [--warmup S] [--drain S] [--idle N]
//           [--churn] [--expect rot13|echo] [--json FILE]
//
// When the window closes (or the count is reached, or --timeout, 60 s, runs out) no new line
// goes out, and the lines in flight have --drain seconds (10) to be answered.
//
// Exit status: 0 after a clean run; 1 if any answer was wrong, a connection failed (for churn:
// failed while the window was open), or a line was still unanswered after the drain; 2 for a
// bad command line; 3 if the descriptor limit cannot hold the connections asked for.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "common/net.hpp"
#include "common/rot13.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  int connections = 1;
  int depth = 1;
  std::size_t line_bytes = 16;
  double duration = 3.0;
  long long count = 0;  // lines in all; 0: run for `duration`
  double timeout = 60;  // with `count`: stop sending after this long, answered or not
  double drain = 10;    // after the window: how long lines in flight may take to be answered
  double warmup = 0.3;
  int idle = 0;
  bool churn = false;
  bool echo = false;
  std::string json;
};

constexpr std::size_t kMaxLineBytes = 16384;  // longer lines are split by the server

// One line of `length` bytes (the last an LF) for line number `n` of connection `c`: letters,
// digits and punctuation that vary with both, so a server that mixes up lines is caught.
std::string make_line(std::size_t length, long long n, int c) {
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?-";
  std::string line(length, '\n');
  for (std::size_t i = 0; i + 1 < length; ++i) {
    line[i] = kAlphabet[(static_cast<std::size_t>(n) * 7 + static_cast<std::size_t>(c) * 13 + i) %
                        kAlphabet.size()];
  }
  return line;
}

// The state of one client connection.
struct Conn {
  common::Fd fd;
  int id = 0;
  long long next_line = 0;                // number of the next line to send
  std::string to_send;                    // bytes queued for send(), from `sent` on
  std::size_t sent = 0;                   // bytes of `to_send` already accepted by send()
  std::string expected;                   // answers owed to us, in order, not yet received
  std::size_t matched = 0;                // bytes of `expected` already received and checked
  std::deque<Clock::time_point> sent_at;  // one per line in flight
  std::size_t line_progress = 0;          // bytes of the current answer received so far
  bool waiting_to_send = false;           // EPOLLOUT asked for
  bool finishing = false;                 // churn: answered, half-closed, waiting for EOF
  bool connecting = false;                // churn: connect() in progress
  Clock::time_point started;              // churn: when connect() began
};

struct Stats {
  long long lines = 0;             // answered lines counted in the measurement window
  long long bytes = 0;             // answer bytes counted in the window
  long long connections = 0;       // churn: completed connect-line-close cycles in the window
  long long wrong = 0;             // answers that differed from what was expected
  long long failed = 0;            // connections that failed or were closed early
  long long failed_in_window = 0;  // of which while the window was open
  long long unanswered = 0;        // lines still owed to us when the drain ran out
  long long refused = 0;           // idle connections the server closed at once
  std::vector<std::int64_t> latency_ns;
};

constexpr std::string_view kUsage =
    "usage: loadgen --port P [--host 127.0.0.1] [--connections C] [--depth D] [--line-bytes L]\n"
    "               [--duration S | --count N [--timeout S]] [--warmup S] [--drain S] [--idle N]\n"
    "               [--churn] [--expect rot13|echo] [--json FILE]\n"
    "Drives a line-protocol server over loopback and measures it: C connections with D lines\n"
    "of L bytes in flight on each, every answer checked byte for byte; prints a JSON summary.\n"
    "Exit status: 0 a clean run, 1 a wrong answer or a failed connection, 2 a bad command\n"
    "line, 3 not enough descriptors. Details: the top of bench/loadgen/main.cpp.\n";

[[noreturn]] void usage_error(const std::string& message) {
  common::log(message + " (loadgen --help says how)");
  std::exit(2);
}

// Applies one option with its value to `o`; false if `name` is not an option.
bool apply(Options& o, const std::string& name, const std::string& value) {
  if (name == "--host") {
    o.host = value;
  } else if (name == "--port") {
    if (!common::parse_port(value, o.port)) usage_error("bad port '" + value + "'");
  } else if (name == "--connections") {
    o.connections = std::stoi(value);
  } else if (name == "--depth") {
    o.depth = std::stoi(value);
  } else if (name == "--line-bytes") {
    o.line_bytes = std::stoul(value);
  } else if (name == "--duration") {
    o.duration = std::stod(value);
  } else if (name == "--count") {
    o.count = std::stoll(value);
  } else if (name == "--timeout") {
    o.timeout = std::stod(value);
  } else if (name == "--drain") {
    o.drain = std::stod(value);
  } else if (name == "--warmup") {
    o.warmup = std::stod(value);
  } else if (name == "--idle") {
    o.idle = std::stoi(value);
  } else if (name == "--expect") {
    if (value != "rot13" && value != "echo") usage_error("--expect takes rot13 or echo");
    o.echo = value == "echo";
  } else if (name == "--json") {
    o.json = value;
  } else {
    return false;
  }
  return true;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      // kUsage is a literal, so NUL-terminated; a failed write (a closed pipe) is exit 1.
      std::exit(std::fputs(kUsage.data(), stdout) < 0 || std::fflush(stdout) != 0 ? 1 : 0);
    }
    if (arg == "--churn") {
      o.churn = true;
      continue;
    }
    if (i + 1 >= argc) usage_error("unknown argument or missing value: '" + arg + "'");
    try {
      if (!apply(o, arg, argv[++i])) usage_error("unknown argument '" + arg + "'");
    } catch (const std::logic_error&) {  // std::stoi and friends: not a number
      usage_error("bad value for " + arg);
    }
  }
  if (o.port == 0) usage_error("--port is required");
  if (o.connections < 1 || o.depth < 1 || o.idle < 0) usage_error("counts must be positive");
  if (o.duration <= 0 || o.timeout <= 0 || o.drain < 0 || o.warmup < 0) {
    usage_error("times must be positive");
  }
  if (o.line_bytes < 1 || o.line_bytes > kMaxLineBytes) usage_error("--line-bytes: 1 to 16384");
  return o;
}

// Makes room for `needed` descriptors, raising the soft limit up to the hard one.
void raise_descriptor_limit(std::size_t needed) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) < 0) common::throw_errno("getrlimit");
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) < 0) common::throw_errno("setrlimit");
  }
  if (limit.rlim_cur < needed) {
    common::log("the descriptor limit (" + std::to_string(limit.rlim_cur) + ") cannot hold " +
                std::to_string(needed) + " connections; raise it with ulimit -n or prlimit");
    std::exit(3);
  }
  if (needed > 1000) {
    common::log("descriptor limit raised to " + std::to_string(limit.rlim_cur));
  }
}

class LoadGen {
 public:
  explicit LoadGen(Options options) : o_(std::move(options)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(o_.port);
    if (inet_pton(AF_INET, o_.host.c_str(), &address.sin_addr) != 1) {
      usage_error("--host must be an IPv4 address");
    }
    address_ = address;
    epoll_ = common::Fd(epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) common::throw_errno("epoll_create1");
  }

  int run();

 private:
  Options o_;
  sockaddr_in address_{};
  common::Fd epoll_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<common::Fd> idle_;
  Stats stats_;
  Clock::time_point window_start_;
  Clock::time_point window_end_;
  bool stopping_ = false;
  long long answered_ = 0;  // lines answered in all (for --count)

  bool count_done() const { return o_.count > 0 && answered_ >= o_.count; }
  void fail(const Conn& conn);
  long long still_owed() const;

  common::Fd open_connection(bool nonblocking_connect, bool& in_progress);
  void open_idle();
  void start_active();
  void send_lines(Conn& conn);
  bool flush(Conn& conn);
  bool on_readable(Conn& conn);
  void restart_churn(Conn& conn);
  void watch(Conn& conn, std::uint32_t events, int op);
  void on_event(Conn& conn, std::uint32_t events);
  bool busy() const;
  void loop();
  void report(double seconds) const;
};

common::Fd LoadGen::open_connection(bool nonblocking_connect, bool& in_progress) {
  common::Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) common::throw_errno("socket");
  const int one = 1;
  if (setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {  // lines are small
    common::throw_errno("setsockopt TCP_NODELAY");
  }
  in_progress = false;
  if (nonblocking_connect) common::set_nonblocking(fd.get());
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address_), sizeof address_) < 0) {
    if (errno != EINPROGRESS) common::throw_errno("connect");
    in_progress = true;
  }
  if (!nonblocking_connect) common::set_nonblocking(fd.get());
  return fd;
}

// Waits (up to 10 s) for the answer to the "idle" line sent on `fd`: true if it came, false if
// the server closed the connection instead (it could not take it).
bool answered_once(int fd) {
  char answer[5];
  std::size_t got = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (got < sizeof answer) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd readable{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&readable, 1, static_cast<int>(left.count())) <= 0) return false;
    const ssize_t n = recv(fd, answer + got, sizeof answer - got, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return false;
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  return std::memcmp(answer, "vqyr\n", sizeof answer) == 0;
}

// Opens the idle connections, in batches: each sends one line and waits for its answer, so the
// server has really accepted it. A connection the server closes instead is counted as refused.
void LoadGen::open_idle() {
  constexpr int kBatch = 256;
  for (int done = 0; done < o_.idle; done += kBatch) {
    std::vector<common::Fd> batch;
    for (int i = done; i < std::min(o_.idle, done + kBatch); ++i) {
      bool in_progress = false;
      batch.push_back(open_connection(false, in_progress));
      (void)send(batch.back().get(), "idle\n", 5, MSG_NOSIGNAL);  // a failure shows below
    }
    for (common::Fd& fd : batch) {
      if (answered_once(fd.get())) {
        idle_.push_back(std::move(fd));
      } else {
        ++stats_.refused;
      }
    }
  }
}

void LoadGen::watch(Conn& conn, std::uint32_t events, int op) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = &conn;
  if (epoll_ctl(epoll_.get(), op, conn.fd.get(), &event) < 0) common::throw_errno("epoll_ctl");
}

void LoadGen::start_active() {
  for (int c = 0; c < o_.connections; ++c) {
    auto conn = std::make_unique<Conn>();
    conn->id = c;
    conns_.push_back(std::move(conn));
    Conn& ref = *conns_.back();
    if (o_.churn) {
      restart_churn(ref);
    } else {
      bool in_progress = false;
      ref.fd = open_connection(false, in_progress);
      watch(ref, EPOLLIN, EPOLL_CTL_ADD);
      send_lines(ref);
    }
  }
}

// Queues lines until `depth` are in flight (once, for churn), then sends what the socket takes.
void LoadGen::send_lines(Conn& conn) {
  const std::size_t in_flight_limit = o_.churn ? 1 : static_cast<std::size_t>(o_.depth);
  while (!stopping_ && conn.sent_at.size() < in_flight_limit &&
         (o_.count == 0 || conn.next_line * o_.connections + conn.id < o_.count)) {
    const std::string line = make_line(o_.line_bytes, conn.next_line++, conn.id);
    conn.to_send += line;
    conn.expected += line;
    if (!o_.echo) {
      common::rot13_inplace(std::span<char>(conn.expected).last(line.size()));
    }
    conn.sent_at.push_back(Clock::now());
  }
  if (!flush(conn)) fail(conn);
}

// Drops the first `n` bytes of `buffer` once they are at least half of it: each byte is moved
// at most once on average, however the sends and receives are cut.
void forget(std::string& buffer, std::size_t& n) {
  if (n * 2 < buffer.size()) return;
  buffer.erase(0, n);
  n = 0;
}

bool LoadGen::flush(Conn& conn) {
  while (conn.sent < conn.to_send.size()) {
    const ssize_t n = send(conn.fd.get(), conn.to_send.data() + conn.sent,
                           conn.to_send.size() - conn.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      return false;
    }
    conn.sent += static_cast<std::size_t>(n);
  }
  const bool more = conn.sent < conn.to_send.size();
  forget(conn.to_send, conn.sent);
  if (more != conn.waiting_to_send) {
    watch(conn, EPOLLIN | (more ? EPOLLOUT : 0U), EPOLL_CTL_MOD);
    conn.waiting_to_send = more;
  }
  return true;
}

// Reads answers, checks them, records each completed line, and keeps the loop closed.
bool LoadGen::on_readable(Conn& conn) {
  std::array<char, 65536> buffer;
  const ssize_t n = recv(conn.fd.get(), buffer.data(), buffer.size(), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return true;
    fail(conn);  // reset by the server: it refused or dropped us
    return false;
  }
  if (n == 0) {
    if (o_.churn && conn.sent_at.empty()) return false;  // the expected end of a churn client
    fail(conn);
    return false;
  }
  const std::string_view got(buffer.data(), static_cast<std::size_t>(n));
  const std::string_view want = std::string_view(conn.expected).substr(conn.matched, got.size());
  if (got != want) {
    ++stats_.wrong;
    common::log("wrong answer on connection " + std::to_string(conn.id));
    return false;
  }
  conn.matched += got.size();
  const auto now = Clock::now();
  conn.line_progress += got.size();
  while (conn.line_progress >= o_.line_bytes && !conn.sent_at.empty()) {
    conn.line_progress -= o_.line_bytes;
    const auto sent = conn.sent_at.front();
    conn.sent_at.pop_front();
    ++answered_;
    if (!o_.churn && sent >= window_start_ && now <= window_end_) {
      ++stats_.lines;
      stats_.bytes += static_cast<long long>(o_.line_bytes);
      stats_.latency_ns.push_back((now - sent).count());
    }
  }
  forget(conn.expected, conn.matched);  // what has been checked
  if (o_.churn && conn.sent_at.empty()) {
    if (conn.started >= window_start_ && now <= window_end_) {
      ++stats_.connections;
      stats_.latency_ns.push_back((now - conn.started).count());
    }
    // Done: the server answers end of input by closing. A failure here is the server gone.
    if (shutdown(conn.fd.get(), SHUT_WR) < 0) {
      fail(conn);
      return false;
    }
    conn.finishing = true;
    return true;
  }
  send_lines(conn);
  return true;
}

// Churn: a fresh connection for this slot, one line, then close.
void LoadGen::restart_churn(Conn& conn) {
  conn.fd.reset();
  conn.to_send.clear();
  conn.expected.clear();
  conn.sent = conn.matched = conn.line_progress = 0;
  conn.waiting_to_send = conn.finishing = false;
  conn.sent_at.clear();
  if (stopping_) return;
  conn.started = Clock::now();
  bool in_progress = false;
  conn.fd = open_connection(true, in_progress);
  conn.connecting = in_progress;
  conn.waiting_to_send = in_progress;  // EPOLLOUT reports the end of connect(), then flush()
  watch(conn, in_progress ? EPOLLOUT : EPOLLIN, EPOLL_CTL_ADD);
  if (!in_progress) send_lines(conn);
}

// One readiness report for one connection.
void LoadGen::on_event(Conn& conn, std::uint32_t events) {
  bool ok = true;
  if (conn.connecting) {  // churn: the non-blocking connect() has finished, one way or another
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(conn.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) < 0) error = errno;
    conn.connecting = false;
    ok = error == 0;
    if (ok)
      send_lines(conn);
    else
      fail(conn);
  } else {
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ok = on_readable(conn);
    if (ok && (events & EPOLLOUT)) ok = flush(conn);
  }
  if (ok) return;
  if (o_.churn) {
    restart_churn(conn);
  } else {
    conn.fd.reset();
  }
}

// A connection failed or was closed early by the server. After the window that is forgiven
// (bench/run stops the server then, ending whatever is left), unless lines sent on it were
// still unanswered: a server that never answered them must not pass because it was stopped.
void LoadGen::fail(const Conn& conn) {
  ++stats_.failed;
  if (!stopping_) {
    ++stats_.failed_in_window;
  } else {
    stats_.unanswered += static_cast<long long>(conn.sent_at.size());
  }
}

// Lines sent on connections still open and not answered (for churn, connections not done).
long long LoadGen::still_owed() const {
  long long owed = 0;
  for (const auto& conn : conns_) {
    if (!conn->fd) continue;
    owed += static_cast<long long>(conn->sent_at.size());
    if (o_.churn && (conn->connecting || conn->finishing) && conn->sent_at.empty()) ++owed;
  }
  return owed;
}

// True while some connection still waits for answers (or, for churn, is still open).
bool LoadGen::busy() const {
  return std::any_of(conns_.begin(), conns_.end(), [&](const std::unique_ptr<Conn>& conn) {
    return conn->fd && (conn->finishing || conn->connecting || !conn->sent_at.empty());
  });
}

void LoadGen::loop() {
  std::array<epoll_event, 256> events{};
  const auto drain_deadline = window_end_ + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(o_.drain));
  for (;;) {
    const auto now = Clock::now();
    stopping_ = stopping_ || now >= window_end_ || count_done();
    if (stopping_ && o_.churn) {  // a churn slot with no line out yet will never send one
      for (const auto& conn : conns_) {
        if (conn->fd && !conn->connecting && !conn->finishing && conn->sent_at.empty()) {
          conn->fd.reset();
        }
      }
    }
    if (stopping_ && (!busy() || now >= drain_deadline)) return;
    const int ready = epoll_wait(epoll_.get(), events.data(), events.size(), 50);
    if (ready < 0 && errno != EINTR) common::throw_errno("epoll_wait");
    for (const epoll_event& event :
         std::span(events.data(), static_cast<size_t>(std::max(ready, 0)))) {
      Conn& conn = *static_cast<Conn*>(event.data.ptr);
      if (conn.fd) on_event(conn, event.events);
    }
  }
}

void LoadGen::report(double seconds) const {
  std::vector<std::int64_t> sorted = stats_.latency_ns;
  std::sort(sorted.begin(), sorted.end());
  auto percentile = [&](double p) -> double {
    if (sorted.empty()) return 0;
    const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
    return static_cast<double>(sorted[index]) / 1000.0;
  };
  const double count = static_cast<double>(o_.churn ? stats_.connections : stats_.lines);
  char json[1024];
  (void)std::snprintf(  // the buffer is far larger than the longest summary
      json, sizeof json,
      "{\"mode\": \"%s\", \"connections\": %d, \"depth\": %d, \"line_bytes\": %zu, "
      "\"idle\": %d, \"idle_held\": %zu, \"refused\": %lld, \"seconds\": %.3f, "
      "\"lines\": %lld, \"churned\": %lld, \"per_second\": %.1f, \"mb_per_second\": %.2f, "
      "\"latency_us\": {\"p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f, \"p999\": %.2f, "
      "\"max\": %.2f}, \"wrong\": %lld, \"failed\": %lld, \"failed_in_window\": %lld, "
      "\"unanswered\": %lld}\n",
      o_.churn ? "churn" : "closed-loop", o_.connections, o_.depth, o_.line_bytes, o_.idle,
      idle_.size(), stats_.refused, seconds, stats_.lines, stats_.connections, count / seconds,
      static_cast<double>(stats_.bytes) / seconds / 1e6, percentile(0.5), percentile(0.9),
      percentile(0.99), percentile(0.999), percentile(1.0), stats_.wrong, stats_.failed,
      stats_.failed_in_window, stats_.unanswered);
  if (std::fputs(json, stdout) < 0) common::throw_errno("write stdout");
  if (!o_.json.empty()) {
    std::FILE* file = std::fopen(o_.json.c_str(), "w");
    if (!file || std::fputs(json, file) < 0 || std::fclose(file) != 0) {
      common::throw_errno("write " + o_.json);
    }
  }
}

int LoadGen::run() {
  raise_descriptor_limit(static_cast<std::size_t>(o_.connections + o_.idle) + 16);
  open_idle();
  const auto start = Clock::now();
  window_start_ =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.warmup));
  if (o_.count > 0) window_start_ = start;
  window_end_ =
      window_start_ + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(o_.count > 0 ? o_.timeout : o_.duration));
  start_active();
  loop();
  const auto end = std::min(Clock::now(), window_end_);
  stats_.unanswered += still_owed();
  report(std::chrono::duration<double>(end - window_start_).count());
  if (stats_.unanswered > 0) {
    common::log(std::to_string(stats_.unanswered) +
                " line(s) unanswered: still owed when the drain ended, or on a connection that "
                "ended without its answer");
  }
  const bool short_count = o_.count > 0 && !count_done();
  if (short_count) {
    common::log("only " + std::to_string(answered_) + " of " + std::to_string(o_.count) +
                " lines answered within --timeout");
  }
  const bool failed = o_.churn ? stats_.failed_in_window > 0 : stats_.failed > 0;
  return stats_.wrong == 0 && !failed && stats_.unanswered == 0 && !short_count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  common::set_program_name(argv[0]);
  (void)signal(SIGPIPE, SIG_IGN);  // a server that vanishes gives EPIPE, not death
  try {
    return LoadGen(parse(argc, argv)).run();
  } catch (const std::exception& e) {
    common::log(e.what());
    return 1;
  }
}
