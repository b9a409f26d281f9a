"""Outbox relay throughput: one confirm and one commit per row (the relay before batching) vs a
batch of rows per confirm wait and per UPDATE, side by side in one run.

Not a pass/fail test: `main()` prints a table. It starts its own infrastructure (a scratch
database with an outbox table, a vhost with the topology and one consumer queue bound to every
event) and, for each row of the table, records the same number of events in one transaction, as
an import does, then times until the relay has published and marked all of them.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable

EVENTS = int(os.environ.get("BENCH_RELAY_EVENTS", "3000"))
SOURCE = "benchrelay"


def per_row_confirm(engine, amqp_uri: str) -> None:
    """The relay before batching: publish, wait for that confirm, commit that row; repeat."""
    import kombu
    import sqlalchemy as sa

    from services.common.tables import outbox
    from services.common.topology import event_exchange

    exchange = event_exchange(SOURCE)
    with kombu.Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = kombu.Producer(conn.channel())
        while True:
            with engine.connect() as db:
                rows = db.execute(sa.select(outbox.c.id, outbox.c.type, outbox.c.event_id,
                                            outbox.c.envelope)
                                  .where(outbox.c.sent_at.is_(None))
                                  .order_by(outbox.c.id).limit(200)).all()
            if not rows:
                return
            for row in rows:
                producer.publish(row.envelope, exchange=exchange, routing_key=row.type,
                                 serializer="json", delivery_mode=2, mandatory=True,
                                 message_id=str(row.event_id), retry=False)
                with engine.begin() as db:
                    db.execute(outbox.update().where(outbox.c.id == row.id).values(
                        sent_at=sa.func.now(), routed=True, attempts=outbox.c.attempts + 1))


def batched(batch_size: int) -> Callable:
    def publish(engine, amqp_uri: str) -> None:
        from services.common.relay import Relay

        relay = Relay(SOURCE, engine=engine, amqp_uri=amqp_uri, batch_size=batch_size)
        try:
            while relay.publish_pending():
                pass
        finally:
            relay.close()

    return publish


def record_events(engine, count: int, aggregates: int | None) -> None:
    """`count` resident.registered events in one transaction (distinct aggregates, as an import
    records them, unless `aggregates` makes them cycle over that many)."""
    from sqlalchemy.orm import Session

    from services.common.outbox import Outbox

    with Session(engine) as session:
        Outbox(SOURCE).record_many(session, [
            {"type": "resident.registered", "village_code": "36.04.05.2001",
             "aggregate_id": f"resident-{i % aggregates if aggregates else i}",
             "payload": {"seq": i, "name": "Siti Contoh", "village_code": "36.04.05.2001"}}
            for i in range(count)])
        session.commit()


def main() -> None:
    import kombu
    import sqlalchemy as sa

    from services.common.config import get_settings
    from services.common.db import create_database, drop_database, make_engine
    from services.common.tables import outbox
    from services.common.topology import declare_topology, event_exchange
    from tests.support.infrastructure import Infrastructure

    infra = Infrastructure().start()
    url = infra.database_url(SOURCE)
    engine = None
    try:
        create_database(url)
        engine = make_engine(url, pool_size=2)
        outbox.create(engine)
        amqp_uri = get_settings().amqp_uri
        declare_topology(amqp_uri, sources=[SOURCE])
        with kombu.Connection(amqp_uri) as conn:
            consumer = kombu.Queue("bench-relay-consumer", exchange=event_exchange(SOURCE),
                                   routing_key="#", durable=True)(conn.channel())
            consumer.declare()
            variants = [
                ("one confirm + one commit per row (before)", per_row_confirm, None),
                ("batched, 50 rows per confirm wait and UPDATE", batched(50), None),
                ("batched, 200 rows", batched(200), None),
                ("batched, 1000 rows (the relay's default)", batched(1000), None),
                ("batched 200, events cycling over 3 aggregates", batched(200), 3),
            ]
            results = []
            for label, publish, aggregates in variants:
                consumer.purge()
                record_events(engine, EVENTS, aggregates)
                started = time.perf_counter()
                publish(engine, amqp_uri)
                elapsed = time.perf_counter() - started
                with engine.connect() as db:
                    left = db.scalar(sa.text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
                if left:
                    raise AssertionError(f"{label}: {left} rows left unsent")
                results.append((label, elapsed))
        base = EVENTS / results[0][1]
        print(f"Relay throughput on this machine ({os.cpu_count()} cores): {EVENTS} events "
              "recorded in one transaction, each row of the table timed until all are "
              "confirmed and marked sent:")
        print(f"{'relay':<50} {'seconds':>8} {'events/s':>9} {'x before':>9}")
        for label, elapsed in results:
            rate = EVENTS / elapsed
            print(f"{label:<50} {elapsed:>8.2f} {rate:>9.0f} {rate / base:>9.1f}")
    finally:
        if engine is not None:
            engine.dispose()
        drop_database(url)
        infra.stop()


if __name__ == "__main__":
    main()
