"""Helpers shared by the pytest suites: server processes, raw-socket clients, /proc readings,
and the reference model of docs/protocol.md."""
