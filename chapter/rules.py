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

    @property
    def title(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def anchor(self) -> str:
        return f"{PROTOCOL}#rule-{self.number}"

    @property
    def hint_line(self) -> str:
        """The last line of a failure's report: `hint (docs/protocol.md#rule-N): ...`."""
        return f"hint ({self.anchor}): {self.hint}"


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
                            "64 KiB + 2 x 16384 bytes owed), and resume when it reads"),
    Rule(6, "independence", "never let one client (idle, slow, or a byte at a time) delay the "
                            "answers to another"),
    Rule(7, "resets", "a reset or vanished peer ends only its own connection: handle "
                      "ECONNRESET and EPIPE, and never die of SIGPIPE"),
    Rule(8, "refusal", "when a connection cannot be taken (no descriptors left), close it at "
                       "once, log it once, and keep serving the others"),
    Rule(9, "release", "when a client leaves, close its descriptor and free its buffers, "
                       "children and threads"),
    Rule(10, "command line", "--bind ADDR, --port PORT, usage and exit status 2 on a bad command "
                             "line, exit 0 within a second of SIGTERM, logs as 'program: call: "
                             "strerror'"),
    Rule(11, "model", "the lessons of the IO model named with --model (docs/write-your-own.md "
                      "lists what each model is held to)"),
]
BY_NUMBER = {rule.number: rule for rule in RULES}

# --model NAME: the IO models of the chapter's stages (each stage's description names its own),
# and the stages that teach each one.
MODELS = {model: ", ".join(keys) for model, keys in stages.models().items()}

# The models whose servers wait for something to happen instead of polling: every one but the
# busy loop's. Their lesson (04's): idle clients cost them no CPU and no wakeup.
WAITING_MODELS = tuple(m for m in MODELS if m != "spin")
