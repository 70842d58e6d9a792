"""`python -m services.aggregator`: the aggregator on the configured bus and store."""

import asyncio
import signal

from services.aggregator.handlers import Aggregator
from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
from services.aggregator.queues import watch_queues
from shared.bus import Bus, consume
from shared.custom_tasks import catalogue
from shared.health import StoreWatch
from shared.logs import configure_logging
from shared.memory import collect_cycles_rarely, freeze_loaded_objects, keep_freed_memory
from shared.probes import serve_probes
from shared.settings import get_settings
from shared.store import Store

HANDLER_ATTEMPTS = 20


async def main() -> None:
    settings = get_settings()
    assert settings.nats_url and settings.mongodb_url, "set LEADERBOARD_NATS_URL and _MONGODB_URL"
    bus = await Bus.connect(settings.nats_url, "aggregator", **settings.nats_login())
    store = Store(settings.mongodb_url, settings.mongodb_database, settings.store_timeout_s)
    await store.ensure_indexes()
    await store.ensure_aggregation_indexes()
    benchmarks = BenchmarkUpdater(
        store,
        bus,
        bootstrap_resamples=settings.bootstrap_resamples,
        snapshot_retention_days=settings.snapshot_retention_days,
    )
    await catalogue.refresh(store)  # before the mirror, which reads custom tasks' staleness
    await benchmarks.prime()
    aggregator = Aggregator(bus, store, benchmarks)
    await aggregator.catalogue.sync()  # custom benchmarks made or changed while none ran
    await benchmarks.prune_orphans()  # and those deleted meanwhile
    freeze_loaded_objects()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    watch = StoreWatch(store, settings.store_timeout_s)
    watch.start()
    consumers = [
        consume(
            bus,
            await bus.pull(stream, durable, subject, max_deliver=HANDLER_ATTEMPTS),
            stream,
            handler,
            stop,
        )
        for stream, durable, subject, handler in aggregator.routes()
    ]
    running = [asyncio.create_task(consumer) for consumer in consumers]

    def health() -> dict[str, str]:
        return {
            "store": watch.state,
            "bus": "connected" if bus.connected else "down",
            "consumers": "stopped" if any(task.done() for task in running) else "running",
        }

    probes = serve_probes(settings.metrics_host, settings.aggregator_metrics_port, health)
    await asyncio.gather(*running, watch_queues(bus, stop), aggregator.catalogue.run(stop))
    if probes is not None:
        probes.shutdown()
    await watch.stop()
    await bus.close()
    await store.close()


if __name__ == "__main__":
    configure_logging()
    keep_freed_memory()
    collect_cycles_rarely()
    asyncio.run(main())
