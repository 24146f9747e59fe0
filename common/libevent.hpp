/// @file
/// @brief libevent objects that free themselves: every `*_new` paired with its `*_free`.
///
/// Only the libevent stages (05, 06) include this header; they link `common_libevent`.
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>

#include <memory>

namespace common {

/// @brief Deleter that calls one of libevent's `*_free` functions.
/// @tparam Free event_base_free, event_free, bufferevent_free, ...
template <auto Free>
struct LibeventDeleter {
  /// @brief Frees @p object with @p Free.
  template <typename T>
  void operator()(T* object) const noexcept {
    Free(object);
  }
};

/// @brief Owns an event loop; frees it with event_base_free().
using EventBasePtr = std::unique_ptr<event_base, LibeventDeleter<&event_base_free>>;
/// @brief Owns one event; frees it with event_free(), which also removes it from its loop.
using EventPtr = std::unique_ptr<event, LibeventDeleter<&event_free>>;
/// @brief Owns a bufferevent; frees it with bufferevent_free() (which closes its socket when
/// it was made with BEV_OPT_CLOSE_ON_FREE).
using BufferEventPtr = std::unique_ptr<bufferevent, LibeventDeleter<&bufferevent_free>>;

/// @brief Creates an event loop and logs, on stderr, which backend libevent chose for it:
/// `using libevent 2.1.12-stable with the epoll backend`.
///
/// The environment picks the backend as in libevent's own tests: EVENT_NOEPOLL=1 rules out
/// epoll, EVENT_NOPOLL=1 rules out poll, leaving select.
/// @throws std::runtime_error if libevent cannot create a loop.
[[nodiscard]] EventBasePtr new_event_base();

/// @brief Whether @p base can watch descriptor @p fd; if not, says so on stderr.
///
/// epoll and poll can watch any descriptor. libevent's select backend grows its fd_sets past
/// FD_SETSIZE, but Debian builds libevent with _FORTIFY_SOURCE, whose FD_SET() aborts the whole
/// process for a descriptor at or past FD_SETSIZE ("*** bit out of range 0 - FD_SETSIZE on
/// fd_set ***", seen in tests/protocol/test_lessons.py). On that backend such a connection must
/// be refused, exactly as 04-select-server does (rule 8 of docs/protocol.md).
/// @return false for a descriptor >= FD_SETSIZE under the select backend.
[[nodiscard]] bool can_watch(event_base* base, evutil_socket_t fd);

}  // namespace common
