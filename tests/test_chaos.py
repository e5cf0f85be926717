"""The short version of the chaos run (tests/chaos.py; the long one is in docs/reliability.md)."""

import pytest

import chaos

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers


def test_sigkill_at_random_moments_misses_nothing_and_duplicates_nothing(tmp_path):
    result = chaos.run(seed=7, kills=16, incidents=3, workdir=tmp_path)
    assert result["kills"] == 16
    assert result["escalations"] == 6
    assert (result["missed"], result["duplicated"]) == (0, 0), result
