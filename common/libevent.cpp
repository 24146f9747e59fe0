#include "common/libevent.hpp"

#include <sys/select.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "common/log.hpp"
#include "common/signals.hpp"

namespace common {

EventBasePtr new_event_base() {
  EventBasePtr base(event_base_new());
  if (!base) throw std::runtime_error("event_base_new: cannot create an event loop");
  common::log(std::string("using libevent ") + event_get_version() + " with the " +
              event_base_get_method(base.get()) + " backend");
  return base;
}

namespace {

// The stop pipe is readable: SIGINT or SIGTERM arrived. Leave the loop; the caller frees the rest.
void on_stop(evutil_socket_t /*fd*/, short /*events*/, void* arg) {
  event_base_loopbreak(static_cast<event_base*>(arg));
}

}  // namespace

void dispatch_until_stopped(event_base* base, evutil_socket_t listener_fd,
                            event_callback_fn on_accept, void* arg) {
  EventPtr accept_event(event_new(base, listener_fd, EV_READ | EV_PERSIST, on_accept, arg));
  EventPtr stop_event(event_new(base, stop_fd(), EV_READ, on_stop, base));
  if (!accept_event || !stop_event || event_add(accept_event.get(), nullptr) < 0 ||
      event_add(stop_event.get(), nullptr) < 0) {
    throw std::runtime_error("event_new/event_add: cannot watch the listener");
  }
  if (event_base_dispatch(base) < 0) throw std::runtime_error("event_base_dispatch failed");
}

bool can_watch(event_base* base, evutil_socket_t fd) {
  if (fd < FD_SETSIZE || std::strcmp(event_base_get_method(base), "select") != 0) return true;
  // common::log, not <cmath>'s log (cppcheck confuses the two).
  common::log("refusing a connection: descriptor " + std::to_string(fd) + " is past FD_SETSIZE (" +
              std::to_string(FD_SETSIZE) + ") of the select backend");
  return false;
}

}  // namespace common
