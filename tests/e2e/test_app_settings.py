"""Operator settings the app factory must honour: the shards this process runs, and the misses' retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.storage import Storage
from tests.e2e.emulator import ThreeGuildWorld, World
from tests.e2e.emulator.gateway import OP_IDENTIFY


class TestShardSettings:
    @pytest.fixture
    def world(self) -> World:
        return ThreeGuildWorld()

    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        # GUIDENEST_SHARD_COUNT=2, GUIDENEST_SHARD_IDS=1: this process runs the second of two shards only.
        return {"shard_count": 2, "shard_ids": "1"}

    async def test_the_process_runs_only_the_configured_shards(self, emulator, harness):
        harness.build()
        harness.skip_identify_wait()
        bot = await harness.start()
        identifies = [
            frame.data["shard"]
            for frame in emulator.gateway.frames
            if frame.direction == "recv" and frame.op == OP_IDENTIFY
        ]
        assert identifies == [[1, 2]]
        assert bot.shard_count == 2
        assert sorted(bot.shards) == [1]
        mine = {guild_id for guild_id in emulator.world.guilds if (guild_id >> 22) % 2 == 1}
        assert mine  # the world puts at least one guild on each shard
        assert {guild.id for guild in bot.guilds} == mine


class TestMissRetention:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"miss_retention_days": 10}  # not the default 30: the setting is what counts

    async def test_expired_misses_are_dropped_when_the_bot_starts(self, harness, e2e_settings):
        now = datetime.now(UTC)
        for age_days, text in ((20, "twenty days old"), (5, "five days old")):
            storage = await Storage.open(
                e2e_settings.database_path, clock=lambda age=age_days: now - timedelta(days=age)
            )
            await storage.record_miss(
                guild_id=1, channel_id=2, text=text, reason="no_match", entry_id=None, score=None
            )
            await storage.close()

        bot = await harness.start()
        # The purge runs in the background from the start; give it a moment on a busy machine.
        for _ in range(250):
            kept = {miss.text for miss in await bot.storage.top_misses(None)}
            if kept == {"five days old"}:
                break
            await asyncio.sleep(0.02)
        assert kept == {"five days old"}
