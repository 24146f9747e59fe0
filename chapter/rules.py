"""The steps of scripts/check: the rules of docs/protocol.md in its order, then its command line,
then the lessons of an IO model. Every test of tests/protocol and tests/robustness is marked
with the step it belongs to (`@pytest.mark.rule(N)`); tests/check/test_rules.py holds
docs/protocol.md's table to these marks.
"""
from __future__ import annotations

import dataclasses

from chapter import stages

PROTOCOL = "docs/protocol.md"


@dataclasses.dataclass(frozen=True)
class Rule:
    number: int
    name: str  # the step's name, as scripts/check prints it: "3 long lines"
    hint: str  # one line a student can act on, pointing at the rule
    # Hints for what a failure showed, before the rule's own: (words in the failure's report,
    # the likely bug for that). The first whose words are in the report is the hint.
    seen: tuple[tuple[str, str], ...] = ()
    anchor: str = ""  # where the rule is written; docs/protocol.md#rule-N unless said

    def __post_init__(self):
        if not self.anchor:
            object.__setattr__(self, "anchor", f"{PROTOCOL}#rule-{self.number}")

    @property
    def title(self) -> str:
        return f"{self.number} {self.name}"

    def hint_for(self, report: str = "") -> str:
        """The hint for a failure whose report is `report`: the likely bug for what it shows."""
        return next((hint for words, hint in self.seen if words in report), self.hint)

    def hint_line(self, report: str = "") -> str:
        """The last line of a failure's report: `hint (docs/protocol.md#rule-N): ...`."""
        return f"hint ({self.anchor}): {self.hint_for(report)}"


# What the tester says when a server is found waiting in a call that blocked (chapter/server.py
# reads it from /proc): the words the hints below look for.
BLOCKED_IN_SEND = "blocked in a send"
BLOCKED_SEND_HINT = ("the server is stuck in a send() to a client that does not read, so it "
                     "serves no one else: make every socket non-blocking, send what fits, keep "
                     "the rest and wait for the socket to be writable")


RULES = [
    Rule(1, "rot13", "answer each line with its ROT13: letters rotate by 13, every other byte "
                     "(CR, digits, NUL, 0x80-0xFF) passes through unchanged"),
    Rule(2, "line end", "a line ends at LF and is answered at once with its ROT13 and one LF, "
                        "however the network cut the bytes into segments"),
    Rule(3, "long lines", "16384 bytes without an LF end a line too: answer them with an LF "
                          "added, and never drop or truncate a byte"),
    Rule(4, "end of input", "when the client shuts down its write side, answer the pending "
                            "partial line without an LF, send everything owed, then close"),
    Rule(5, "backpressure", "stop reading a client that does not read its answers (at most "
                            "64 KiB + 2 x 16384 bytes owed), and resume when it reads",
         seen=((BLOCKED_IN_SEND, BLOCKED_SEND_HINT),)),
    Rule(6, "independence", "never let one client (idle, slow, or a byte at a time) delay the "
                            "answers to another",
         seen=((BLOCKED_IN_SEND, BLOCKED_SEND_HINT),
               ("blocked in a recv", "the server is waiting in a recv() on one client while "
                                     "others have lines: wait for every socket at once (poll, "
                                     "epoll) and read only those that are ready"))),
    Rule(7, "resets", "a reset or vanished peer ends only its own connection: handle "
                      "ECONNRESET and EPIPE, and never die of SIGPIPE",
         seen=(("killed by SIGPIPE", "a send() to a peer that reset killed the server: ignore "
                                     "SIGPIPE (signal(SIGPIPE, SIG_IGN)) or send with "
                                     "MSG_NOSIGNAL, then close that one connection on EPIPE"),)),
    Rule(8, "refusal", "when a connection cannot be taken (no descriptors left), close it at "
                       "once, log it once, and keep serving the others",
         seen=(("neither answered nor closed", "accept() failing with EMFILE leaves the "
                "connection queued: keep a spare descriptor (open /dev/null), and when out of "
                "descriptors close it, accept and close the connection, and open it again"),)),
    Rule(9, "release", "when a client leaves, close its descriptor and free its buffers, "
                       "children and threads",
         seen=(("reset their connections", "close the descriptor of a connection whose recv() "
                "or send() failed too, not only of those that ended normally"),)),
    Rule(10, "command line", "--bind ADDR, --port PORT, usage and exit status 2 on a bad command "
                             "line, exit 0 within a second of SIGTERM, logs as 'program: call: "
                             "strerror'",
         seen=(("after SIGTERM (so it was killed)", "the stop request was ignored or lost: a "
                "handler that only sets a flag misses a signal that comes just before poll() "
                "blocks; have it write a byte to a pipe that poll() watches (the self-pipe "
                "trick), or use signalfd"),
               ("after SIGINT (so it was killed)", "the stop request was ignored or lost: a "
                "handler that only sets a flag misses a signal that comes just before poll() "
                "blocks; have it write a byte to a pipe that poll() watches (the self-pipe "
                "trick), or use signalfd"))),
    Rule(11, "model", "the lessons of the IO model named with --model (docs/write-your-own.md "
                      "lists what each model is held to)",
         anchor="docs/write-your-own.md#models"),
]
BY_NUMBER = {rule.number: rule for rule in RULES}

# --model NAME: the IO models of the chapter's stages (each stage's description names its own),
# and the stages that teach each one.
MODELS = {model: ", ".join(keys) for model, keys in stages.models().items()}

# The models whose servers wait for something to happen instead of polling: every one but the
# busy loop's. Their lesson (04's): idle clients cost them no CPU and no wakeup.
WAITING_MODELS = tuple(m for m in MODELS if m != "spin")
