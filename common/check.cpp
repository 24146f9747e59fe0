#include "common/check.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/log.hpp"

namespace common {
namespace {

// The last two components of @p path: `/src/common/uring.cpp` gives `common/uring.cpp`.
const char* short_path(const char* path) {
  const char* start = path;
  const char* last = std::strrchr(path, '/');
  if (last == nullptr) return path;
  for (const char* p = path; p < last; ++p) {
    if (*p == '/') start = p + 1;
  }
  return start;
}

}  // namespace

void check_failed(const char* file, int line, const char* condition, const char* message) noexcept {
  // fprintf, not common::log(): nothing that allocates on the way to abort(). Its result is
  // ignored: we are aborting anyway, and stderr is the last place left to say why.
  (void)std::fprintf(stderr, "%s: %s:%d: %s (check failed: %s)\n", program_name().c_str(),
                     short_path(file), line, message, condition);
  std::abort();
}

}  // namespace common
