"""Telemetry delivery: the durable outbox, the client that fills it, the sender that empties it.

The path of an event: ``OutboxClient.track`` persists the final Segment message (SQLite, WAL)
before returning; at exit a detached sender process takes the outbox lease and posts batches
through segment-analytics-python's request module, deleting only what the endpoint accepted.
Nothing here is imported by ``authfunnel --help``.
"""
