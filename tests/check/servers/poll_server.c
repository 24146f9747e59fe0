/* A ROT13 line server in C that obeys docs/protocol.md: one thread, one poll(2) loop, the kind
 * of program a student writes from that page. The tester's tests compile it with `cc`, as it
 * is (the known-good C server) and with one of the BUG_ macros below, each of which puts back a
 * classic bug of a C server, for the recorded reports of tests/check/golden/:
 *
 *   BUG_SIGPIPE        SIGPIPE is not ignored and send() has no MSG_NOSIGNAL: a client that
 *                      resets while it is being answered kills the whole server (rule 7).
 *   BUG_LEAK_ON_RESET  a connection whose recv() or send() failed leaves the loop, but its
 *                      descriptor is never closed (rule 9).
 *   BUG_IGNORE_SIGTERM SIGTERM is ignored: the server never stops (rule 10).
 *   BUG_BLOCKING_SEND  a line's answer is sent as soon as it is read, with a blocking send()
 *                      until all is sent: a client that does not read holds up the whole loop
 *                      (rule 5).
 *   BUG_STOP_RACE      the SIGTERM handler only sets a flag, which the loop reads after an event;
 *                      a SIGTERM that arrives while poll() waits is noticed only when a client
 *                      next does something (rule 10).
 *
 *   cc -O2 -o poll_server poll_server.c && ./poll_server --port 40713
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LINE 16384          /* rule 3 */
#define MAX_OWED (64 * 1024)    /* rule 5 */
#define MAX_CONNECTIONS 4096

struct conn {
  int fd;                       /* -1: a free slot */
  char line[MAX_LINE];          /* the line begun and not ended yet */
  size_t line_len;
  char *out;                    /* answers not sent yet */
  size_t out_len, out_cap;
  int ended;                    /* the client shut down its write side */
};

static const char *program;
static struct conn conns[MAX_CONNECTIONS];
static int stop_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_requested;

static void log_error(const char *what) { fprintf(stderr, "%s: %s: %s\n", program, what, strerror(errno)); }

static void usage(FILE *to, int status) {
  fprintf(to, "usage: %s [--bind ADDR] [--port PORT] [--help]\n", program);
  exit(status);
}

static void on_stop(int signo) {
  (void)signo;
  stop_requested = 1;
#ifndef BUG_STOP_RACE
  int saved = errno;
  (void)!write(stop_pipe[1], "x", 1); /* wakes poll(): the loop then stops */
  errno = saved;
#endif
}

static unsigned char rot13(unsigned char c) {
  if ((c >= 'a' && c <= 'm') || (c >= 'A' && c <= 'M')) return c + 13;
  if ((c >= 'n' && c <= 'z') || (c >= 'N' && c <= 'Z')) return c - 13;
  return c;
}

static void owe(struct conn *c, const char *bytes, size_t n, int add_lf) {
  if (c->out_len + n + 1 > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_len + n + 1) cap *= 2;
    char *grown = realloc(c->out, cap);
    if (!grown) abort();
    c->out = grown;
    c->out_cap = cap;
  }
  for (size_t i = 0; i < n; i++) c->out[c->out_len++] = (char)rot13((unsigned char)bytes[i]);
  if (add_lf) c->out[c->out_len++] = '\n';
}

static void take(struct conn *c, const char *bytes, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (bytes[i] == '\n') {
      owe(c, c->line, c->line_len, 1);
      c->line_len = 0;
      continue;
    }
    c->line[c->line_len++] = bytes[i];
    if (c->line_len == MAX_LINE) {
      owe(c, c->line, c->line_len, 1);
      c->line_len = 0;
    }
  }
}

/* Ends a connection: all sent, or failed (`failed`: its recv() or send() did). */
static void drop(struct conn *c, int failed) {
#ifdef BUG_LEAK_ON_RESET
  if (!failed) close(c->fd); /* the bug: a failed connection's descriptor stays open */
#else
  (void)failed;
  close(c->fd);
#endif
  c->fd = -1;
  free(c->out);
  c->out = NULL;
  c->out_len = c->out_cap = c->line_len = 0;
  c->ended = 0;
}

static void do_write(struct conn *c);

static void do_read(struct conn *c) {
  char buf[MAX_LINE];
  ssize_t n = recv(c->fd, buf, sizeof buf, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    log_error("recv");
    drop(c, 1);
    return;
  }
  if (n == 0) {
    c->ended = 1;
    owe(c, c->line, c->line_len, 0); /* rule 4: the partial line, without an LF */
    c->line_len = 0;
    return;
  }
  take(c, buf, (size_t)n);
#ifdef BUG_BLOCKING_SEND
  do_write(c); /* the bug: at once, and blocking (see do_write) */
#endif
}

static void do_write(struct conn *c) {
#ifdef BUG_BLOCKING_SEND
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK); /* the bug: wait until all fits */
  while (c->out_len > 0) {
    ssize_t sent = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
    if (sent < 0) break;
    memmove(c->out, c->out + sent, c->out_len - (size_t)sent);
    c->out_len -= (size_t)sent;
  }
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
#endif
#ifdef BUG_SIGPIPE
  ssize_t n = send(c->fd, c->out, c->out_len, 0);
#else
  ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
#endif
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    log_error("send");
    drop(c, 1);
    return;
  }
  memmove(c->out, c->out + n, c->out_len - (size_t)n);
  c->out_len -= (size_t)n;
}

static void do_accept(int listener, int *reserve) {
  for (;;) {
    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) { /* rule 8: refuse it with the reserve */
        int why = errno;
        close(*reserve); /* accept() wants a free descriptor even to say nothing is waiting */
        fd = accept(listener, NULL, NULL);
        if (fd >= 0) close(fd); /* before the reserve is taken again: it needs this one */
        *reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return; /* nothing was waiting after all */
        errno = why;
        log_error("accept: closing a connection");
        continue;
      }
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) log_error("accept");
      return;
    }
    if (fd >= MAX_CONNECTIONS) {
      fprintf(stderr, "%s: refusing a connection: descriptor %d past %d\n", program, fd,
              MAX_CONNECTIONS);
      close(fd);
      continue;
    }
    conns[fd].fd = fd;
  }
}

static int listen_on(const char *host, const char *port) {
  struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai;
  int err = getaddrinfo(host, port, &hints, &ai);
  if (err) {
    fprintf(stderr, "%s: bind %s: %s\n", program, host, gai_strerror(err));
    exit(1);
  }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
    fprintf(stderr, "%s: bind %s:%s: %s\n", program, host, port, strerror(errno));
    exit(1);
  }
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  char name[NI_MAXHOST], service[NI_MAXSERV];
  getsockname(fd, (struct sockaddr *)&addr, &len);
  getnameinfo((struct sockaddr *)&addr, len, name, sizeof name, service, sizeof service,
              NI_NUMERICHOST | NI_NUMERICSERV);
  printf(ai->ai_family == AF_INET6 ? "listening on [%s]:%s\n" : "listening on %s:%s\n", name,
         service);
  fflush(stdout);
  freeaddrinfo(ai);
  return fd;
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *port = "40713";
  program = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
  for (int i = 1; i < argc; i++) { /* --bind ADDR, --port PORT, or --bind=ADDR, --port=PORT */
    const char *arg = argv[i], *equals = strchr(arg, '='), *value = NULL;
    size_t name_len = equals ? (size_t)(equals - arg) : strlen(arg);
    if (strcmp(arg, "--help") == 0) usage(stdout, 0);
    if (equals) value = equals + 1;
    else if (i + 1 < argc) value = argv[++i];
    if (!value) usage(stderr, 2);
    if (name_len == 6 && strncmp(arg, "--bind", 6) == 0) host = value;
    else if (name_len == 6 && strncmp(arg, "--port", 6) == 0) port = value;
    else usage(stderr, 2);
  }
  char *end;
  long number = strtol(port, &end, 10);
  if (!*port || *end || number < 0 || number > 65535) usage(stderr, 2);

  struct sigaction action = {.sa_handler = on_stop};
  if (pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC) < 0) return log_error("pipe2"), 1;
  sigaction(SIGINT, &action, NULL);
#ifdef BUG_IGNORE_SIGTERM
  signal(SIGTERM, SIG_IGN);
#else
  sigaction(SIGTERM, &action, NULL);
#endif
#ifndef BUG_SIGPIPE
  signal(SIGPIPE, SIG_IGN);
#endif
  for (int i = 0; i < MAX_CONNECTIONS; i++) conns[i].fd = -1;
  int reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int listener = listen_on(host, port);

  static struct pollfd fds[MAX_CONNECTIONS + 2];
  for (;;) {
#ifndef BUG_STOP_RACE
    if (stop_requested) break;
#endif
    int n = 0;
    fds[n++] = (struct pollfd){.fd = listener, .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = stop_pipe[0], .events = POLLIN};
    for (int fd = 0; fd < MAX_CONNECTIONS; fd++) {
      struct conn *c = &conns[fd];
      if (c->fd < 0) continue;
      short events = 0;
      if (!c->ended && c->out_len < MAX_OWED) events |= POLLIN; /* rule 5 */
      if (c->out_len > 0) events |= POLLOUT;
      fds[n++] = (struct pollfd){.fd = fd, .events = events};
    }
    if (poll(fds, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      return log_error("poll"), 1;
    }
    if (fds[1].revents) break;
    if (fds[0].revents) do_accept(listener, &reserve);
    for (int i = 2; i < n; i++) {
      struct conn *c = &conns[fds[i].fd];
      if (c->fd < 0 || fds[i].fd != c->fd) continue;
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) do_read(c);
      if (c->fd >= 0 && c->out_len > 0 && (fds[i].revents & (POLLOUT | POLLERR))) do_write(c);
      if (c->fd >= 0 && c->ended && c->out_len == 0) drop(c, 0); /* rule 4: all sent, close */
    }
#ifdef BUG_STOP_RACE
    if (stop_requested) break;
#endif
  }
  for (int fd = 0; fd < MAX_CONNECTIONS; fd++)
    if (conns[fd].fd >= 0) drop(&conns[fd], 0);
  return 0;
}
