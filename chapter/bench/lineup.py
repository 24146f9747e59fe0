"""Who the benchmarks measure, and how the report names and draws each: the line-up, read from
the registry (chapter/stages.py), never kept here.

Every server stage with a `bench` object in its description is an entry, on its default
libevent backend if it has several; each of its `bench.backends` rows is another entry (id
"KEY-BACKEND"), which takes part only in the workloads its `only` names. The floor (bench/floor)
is measured beside them but is not a stage.

A stage's `bench` object, as read here and by the report:
    label, color, marker   how tables and plots name and draw it
    reference_for          the workloads whose ratios are stated against it (stages.reference)
    as_reference           a few words said beside its key where it is the reference
    holds                  its model, in W3's table of models ("a thread per connection")
    limit                  what stops it taking idle connections (the W3 plot's annotation)
    also                   the workloads that run only the entries that ask for them (W3b)
    backends               {backend: {label, color, marker, only, about}}: rows on another
                           libevent backend; `about` says in W3 why the row is there
    targets                what the port set out to show (chapter/bench/targets.py)
"""
from __future__ import annotations

import dataclasses
import functools

from chapter import stages

FLOOR = "floor"
FLOOR_LABEL = "floor (echo)"
FLOOR_COLOR = "#7f7f7f"
FLOOR_MARKER = "x"

# What the build cannot do without (CMakeLists.txt: pkg_check_modules(LIBEVENT REQUIRED ...)).
# A stage that needs another library is built only where it is found: "not built" elsewhere.
REQUIRED_LIBRARIES = ("libevent",)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One row of the benchmark: a server stage, on one libevent backend if it has several."""
    stage: stages.Stage
    facts: dict  # the stage's bench object, or its backend's row there

    @property
    def id(self) -> str:
        """The stage's key on its default backend, "KEY-BACKEND" on another."""
        return self.stage.number if self.stage.on_default_backend else self.stage.id

    @property
    def description(self) -> stages.Description:
        return self.stage.description

    @property
    def key(self) -> str:
        return self.stage.number

    @property
    def program(self) -> str:
        return self.stage.program

    @property
    def backend(self) -> str:
        """The libevent backend it must report using ("" for a stage without libevent)."""
        return self.stage.backend

    @property
    def is_backend_row(self) -> bool:
        return not self.stage.on_default_backend

    @property
    def label(self) -> str:
        return self.facts["label"]

    @property
    def needs(self) -> tuple[str, ...]:
        return self.description.needs

    @property
    def optional_needs(self) -> list[str]:
        """The libraries without which it is not built (the build goes on without it)."""
        return [n for n in self.needs if n not in REQUIRED_LIBRARIES]

    @property
    def pool(self) -> dict | None:
        """Its worker pool: {"option", "default", "max"}, or None."""
        return self.description.pool

    def takes_part(self, workload: str, on_request: bool) -> bool:
        """Whether it runs `workload`. A backend row runs only the workloads its `only` names;
        a workload `on_request` (W3b) runs only the entries that name it (`also`, `only`)."""
        only = self.facts.get("only")
        if only is not None and workload not in only:
            return False
        return not on_request or workload in (*self.facts.get("also", ()), *(only or ()))


@functools.cache
def entries() -> tuple[Entry, ...]:
    """Every entry, in the chapter's order, each backend row after its stage."""
    found = []
    for d in stages.servers():
        if d.bench is None:
            continue
        found.append(Entry(stages.Stage(d, d.backends[0] if d.backends else ""), d.bench))
        for backend, facts in (d.bench.get("backends") or {}).items():
            found.append(Entry(stages.Stage(d, backend), facts))
    return tuple(found)


def ids() -> list[str]:
    return [e.id for e in entries()]


def find(entry_id: str) -> Entry | None:
    return next((e for e in entries() if e.id == entry_id), None)


def label(entry_id: str) -> str:
    """How tables name an entry; an id the registry no longer has (an old run) as itself."""
    if entry_id == FLOOR:
        return FLOOR_LABEL
    e = find(entry_id)
    return e.label if e else entry_id


def color(entry_id: str) -> str:
    e = find(entry_id)
    return FLOOR_COLOR if entry_id == FLOOR else e.facts["color"] if e else FLOOR_COLOR


def marker(entry_id: str) -> str:
    e = find(entry_id)
    return FLOOR_MARKER if entry_id == FLOOR else e.facts["marker"] if e else "o"


def reference(workload: str) -> str:
    """The id of the stage `workload`'s ratios are stated against (its `reference_for`)."""
    return stages.reference(workload).key


def pool_stage() -> stages.Description | None:
    """The stage with a worker pool, if any."""
    return next((d for d in stages.servers() if d.pool), None)


def keys_of(*models: str) -> list[str]:
    """The keys of the stages that teach one of these IO models (their descriptions' `model`)."""
    return [d.key for d in stages.servers() if d.model in models and d.bench is not None]


def spoken(keys: list[str]) -> str:
    """Stage keys as a sentence says them: "A"; "A and B"; three or more that follow one
    another in the chapter, "A to D"; otherwise "A, B and D"."""
    if len(keys) < 3:
        return " and ".join(keys)
    order = [d.key for d in stages.servers()]
    first = order.index(keys[0])
    if order[first:first + len(keys)] == keys:
        return f"{keys[0]} to {keys[-1]}"
    return f"{', '.join(keys[:-1])} and {keys[-1]}"
