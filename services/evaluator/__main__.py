"""`python -m services.evaluator`: an evaluator worker on the configured bus."""

import asyncio
import logging
import os
import signal
import socket

from services.evaluator.cache import ModelCache
from services.evaluator.runner import Runner
from services.evaluator.worker import Evaluator
from shared.bus import Bus
from shared.logs import configure_logging
from shared.probes import serve_probes
from shared.settings import get_settings


async def main() -> None:
    settings = get_settings()
    assert settings.nats_url, "set LEADERBOARD_NATS_URL"
    evaluator_id = settings.evaluator_id or f"{socket.gethostname()}:{os.getpid()}"
    models = ModelCache(
        settings.models_dir, settings.device, settings.dtype, settings.model_cache_size
    )
    runner = Runner(
        models, settings.datasets_dir, settings.batch_size, evaluator_id, settings.job_timeout_s
    )
    bus = await Bus.connect(settings.nats_url, f"evaluator {evaluator_id}", **settings.nats_login())
    evaluator = Evaluator(
        bus,
        runner,
        settings.job_ack_wait_s,
        settings.job_max_deliver,
        settings.job_retry_backoff_s,
        settings.task_data_folder(),
    )

    def health() -> dict[str, str]:
        return {
            "bus": "connected" if bus.connected else "down",
            "job": "busy" if evaluator.in_flight is not None else "idle",
        }

    serve_probes(settings.metrics_host, settings.evaluator_metrics_port, health)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    serving = asyncio.create_task(evaluator.serve(stop))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if serving.done():  # it only ends by itself on an error: exit with it
        stopping.cancel()
        serving.result()
    if evaluator.in_flight is not None:
        # mteb cannot be interrupted: hand the job back for another evaluator and leave now
        await evaluator.in_flight.nak()
        await bus.client.flush()
        os._exit(0)
    await serving
    await bus.close()


if __name__ == "__main__":
    configure_logging()
    asyncio.run(main())
    logging.shutdown()
    os._exit(0)  # the interpreter's final collection of torch's and mteb's objects takes seconds
