#include "common/libevent.hpp"

#include <sys/select.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "common/log.hpp"

namespace common {

EventBasePtr new_event_base() {
  EventBasePtr base(event_base_new());
  if (!base) throw std::runtime_error("event_base_new: cannot create an event loop");
  common::log(std::string("using libevent ") + event_get_version() + " with the " +
              event_base_get_method(base.get()) + " backend");
  return base;
}

bool can_watch(event_base* base, evutil_socket_t fd) {
  if (fd < FD_SETSIZE || std::strcmp(event_base_get_method(base), "select") != 0) return true;
  // common::log, not <cmath>'s log (cppcheck confuses the two).
  common::log("refusing a connection: descriptor " + std::to_string(fd) + " is past FD_SETSIZE (" +
              std::to_string(FD_SETSIZE) + ") of the select backend");
  return false;
}

}  // namespace common
