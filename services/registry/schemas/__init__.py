"""Registry contract: marshmallow schemas for RPC input/output and event payloads, one module
per aggregate.

The gateway imports these for edge validation and the OpenAPI document; the service validates
with the same schemas again, so a caller that skips the gateway gets the same field errors.
"""
