/* An LD_PRELOAD shim for test_faults.py: the Nth call of liburing's io_uring_submit_and_wait()
 * (N from the environment variable FAIL_SUBMIT_CALL, 2 unless set) fails with -EIO without
 * reaching the kernel, as a failing io_uring_enter() would; every other call goes on to
 * liburing's own function. liburing is a shared library, so a preloaded definition of the same
 * name is the one 08-io-uring-server calls (nm -D shows it undefined there).
 *
 *   cc -shared -fPIC -o fail_submit.so fail_submit.c
 *   FAIL_SUBMIT_CALL=2 LD_PRELOAD=$PWD/fail_submit.so build/bin/08-io-uring-server
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

struct io_uring;

int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr) {
  static long calls; /* 08 submits from one thread: no lock needed */
  const char *nth = getenv("FAIL_SUBMIT_CALL");
  if (++calls == (nth ? atol(nth) : 2)) return -EIO;
  int (*real)(struct io_uring *, unsigned) =
      (int (*)(struct io_uring *, unsigned))dlsym(RTLD_NEXT, "io_uring_submit_and_wait");
  return real ? real(ring, wait_nr) : -ENOSYS;
}
