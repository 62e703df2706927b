"""Randomised kills of the agent, the hub and the broker, and cut connections, while kiosks keep
selling: afterwards every transaction is at head office exactly once (lost = 0, twice = 0).

``make test`` runs a short run; ``make soak`` (``--soak``) runs the long one with 2 kiosks and
2 hubs sharing the work through a shared subscription, on PostgreSQL when it is reachable."""
from __future__ import annotations

import logging
import os

import pytest

from .faults import World

log = logging.getLogger("tests.faults")


def run(world: World, cycles: int) -> dict:
    for i in range(cycles):
        fault = world.cycle()
        log.info("cycle %d: %s", i + 1, fault)
    assert world.settle(), "kiosk outboxes were not confirmed after the faults stopped"
    result = world.classify()
    total = sum(v for k, v in result.items() if k == "once")
    print(f"\nfaults: {dict(world.faults)}; transactions: {total}; result: {dict(result)}")
    return result


@pytest.mark.slow
def test_short_fault_run_loses_and_duplicates_nothing(tmp_path, hq_keys, request):
    if request.config.getoption("--soak"):
        pytest.skip("the soak runs the long version")
    world = World(tmp_path, hq_keys, f"sqlite:///{tmp_path / 'hq.db'}", kiosks=2, hubs=2,
                  seed=int(os.environ.get("SOAK_SEED", "7")))
    try:
        result = run(world, cycles=20)
    finally:
        world.close()
    assert result["lost"] == 0 and result["twice"] == 0 and result["inconsistent"] == 0
    assert result["once"] > 0


def test_soak(tmp_path, hq_keys, request, chain_db):
    if not request.config.getoption("--soak"):
        pytest.skip("only with --soak (make soak)")
    cycles = request.config.getoption("--soak-cycles")
    world = World(tmp_path, hq_keys, chain_db, kiosks=2, hubs=2, seed=int(os.environ.get("SOAK_SEED", "1")))
    try:
        result = run(world, cycles=cycles)
    finally:
        world.close()
    assert sum(world.faults.values()) >= 100
    assert result["lost"] == 0 and result["twice"] == 0 and result["inconsistent"] == 0
