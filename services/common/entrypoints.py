"""nameko's RPC and event entrypoints, declaring their queues exactly as the topology step does.

nameko declares the queue of each entrypoint when it starts consuming, without arguments; on a
cluster the topology step has made those queues quorum queues, and RabbitMQ refuses a declare
whose arguments differ (PRECONDITION_FAILED). These subclasses take the queue from
services.common.topology instead, with the queue type of the broker they connect to.
"""
from __future__ import annotations

from nameko import events
from nameko import rpc as nameko_rpc

from services.common.topology import Subscription, queue_type, rpc_queue


def _kind(config: dict) -> str:
    return queue_type(config.get("AMQP_URI"), config.get("DESA_QUEUE_TYPE"))


class RpcConsumer(nameko_rpc.RpcConsumer):
    def setup(self):
        # nameko's setup, with the topology's queue instead of one built without arguments.
        if self.queue is None:
            self.queue = rpc_queue(self.container.service_name, _kind(self.container.config))
            self.queue_consumer.register_provider(self)


class Rpc(nameko_rpc.Rpc):
    rpc_consumer = RpcConsumer()


class EventHandler(events.EventHandler):
    def setup(self):
        super().setup()
        # Read when the consumer starts, after setup: replace nameko's queue by the topology's.
        subscription = Subscription(self.source_service, self.event_type,
                                    self.container.service_name, self.method_name)
        self.queue = subscription.queue(_kind(self.container.config))


rpc = Rpc.decorator
event_handler = EventHandler.decorator
