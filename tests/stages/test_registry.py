"""The registry (chapter/stages.py, one stage.json per stage directory) is the one place a stage
is described: every stage directory has a valid description and the pieces it promises, and
nothing else in the code keeps its own list of stages (each is named in the code of at most
three files outside its directory: scripts/stage-mentions shows which)."""
from __future__ import annotations

import json
import re

import pytest

from chapter import mentions, stages

REPO = stages.REPO
DIRECTORIES = sorted(p.parent.name for p in REPO.glob("*/main.cpp")
                     if stages.STAGE_DIR.fullmatch(p.parent.name))
MOST_MENTIONS = 3


def test_every_stage_directory_has_a_description():
    assert [d.directory for d in stages.descriptions()] == DIRECTORIES


@pytest.mark.parametrize("d", stages.descriptions(), ids=lambda d: d.key)
def test_each_stage_has_the_pieces_its_description_promises(d):
    for guide in ("README.md", "README.zh-CN.md"):
        assert (d.path / guide).exists(), f"{d.directory}/{guide} is missing"
    assert (d.path / "tour.py").exists() == d.has("tour"), (
        f"{d.directory}: a tour.py, or lacks.tour in stage.json saying why not")
    if d.is_server:
        assert d.model, f"{d.directory}: a server needs a model"
        assert bool(d.trace) == d.has("trace") and bool(d.bench) == d.has("bench")


def test_a_broken_description_is_refused_saying_what_is_wrong(tmp_path):
    stage = tmp_path / "09-example-server"
    stage.mkdir()
    (stage / "stage.json").write_text(json.dumps({"key": "10", "title": {"en": "x"},
                                                  "kind": "server", "colour": "red"}))
    with pytest.raises(ValueError) as failure:
        stages.descriptions(tmp_path)
    message = str(failure.value)
    for problem in ("unknown field(s) ['colour']", "key '10' is not the start",
                    "a server needs a model", "title needs en and zh-CN"):
        assert problem in message


@pytest.mark.parametrize("readme", ["README.md", "README.zh-CN.md"])
def test_the_readme_table_lists_every_stage_in_order(readme):
    rows = re.findall(r"^\| \[`(\d\d[a-z]?-[\w-]+)`\]", (REPO / readme).read_text(), re.MULTILINE)
    assert rows == DIRECTORIES


def test_no_stage_is_named_in_the_code_of_more_than_three_files_outside_its_directory():
    counted = mentions.count()
    over = {d: where["code"] for d, where in counted.items() if len(where["code"]) > MOST_MENTIONS}
    assert not over, f"named in the code of more than {MOST_MENTIONS} files: {over}"
