#include "common/log.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

namespace common {
namespace {

std::string& name_storage() {
  static std::string name = "server";
  return name;
}

}  // namespace

void set_program_name(const char* argv0) {
  std::string_view path = argv0 ? argv0 : "server";
  const auto slash = path.find_last_of('/');
  name_storage() = std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

const std::string& program_name() noexcept { return name_storage(); }

void log(std::string_view message) {
  // One fprintf per line: stderr is unbuffered, and whole lines keep concurrent writers
  // (the children of 02-fork-server) from interleaving mid-line. Its result is ignored: stderr
  // is where failures are reported, so a failure to write there has nowhere left to go.
  (void)std::fprintf(stderr, "%s: %.*s\n", program_name().c_str(), static_cast<int>(message.size()),
                     message.data());
}

void log_errno(std::string_view what, int err) {
  std::string line(what);
  line += ": ";
  line += std::strerror(err);
  log(line);
}

void throw_errno(const std::string& what, int err) {
  throw std::system_error(err, std::generic_category(), what);
}

}  // namespace common
