"""Process entry point for one service: `python -m services.common.runner registry`.

Starts nameko's ServiceRunner directly (nameko's CLI needs pkg_resources), after eventlet's
monkey patching so psycopg2 and sockets cooperate with the hub.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402 - must run before anything imports socket or psycopg2

import importlib  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from services.common import probes  # noqa: E402
from services.common.config import get_settings  # noqa: E402
from services.common.logs import configure_logging  # noqa: E402
from services.common.topology import declare_topology  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    argv = argv if argv is not None else sys.argv[1:]
    if len(argv) != 1:
        sys.exit("usage: python -m services.common.runner SERVICE")
    name = argv[0]
    settings = get_settings()
    configure_logging(settings.log_level, service=name)
    module = importlib.import_module(f"services.{name}.service")
    # Every exchange, journal and consumer queue of this checkout, before this service publishes
    # or consumes: a deploy that skipped or reordered `desa declare` still loses no event.
    declare_topology(settings.amqp_uri, sources=[name])
    runner = ServiceRunner(settings.nameko_config())
    runner.add_service(module.SERVICE)

    def shutdown(signum, frame):
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    if settings.health_port:
        probes.serve(runner, name, settings, settings.health_port)
    runner.wait()


if __name__ == "__main__":
    main()
