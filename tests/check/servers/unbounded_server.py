#!/usr/bin/python3
"""Broken on purpose: keeps reading a client that never reads its answers (fails rule 5): its
memory grows without bound, the bug the book's bufferevent example carries."""
import selectors

from rot13_server import Server, main


class Unbounded(Server):
    def watch(self, conn) -> None:
        super().watch(conn)
        if conn.sock in self.connections and not conn.ended:
            events = self.selector.get_key(conn.sock).events
            self.selector.modify(conn.sock, events | selectors.EVENT_READ)  # the bug: reading never stops


if __name__ == "__main__":
    raise SystemExit(main(Unbounded))
