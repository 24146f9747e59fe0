"""03's lesson, held to every server of the spin model (scripts/check --model spin): without a
way to wait, the loop burns a CPU while its clients are idle. Step 11 of scripts/check."""
from __future__ import annotations

import pytest

from chapter.measure import idle_cpu_seconds

pytestmark = pytest.mark.rule(11)


@pytest.mark.model("spin")
def test_spinning_server_burns_over_half_a_cpu_with_ten_idle_connections(server):
    used = idle_cpu_seconds(server)
    assert used > 0.5, f"03 used only {used:.2f} CPU-seconds in one idle second"
