"""The shell that runs the core: ingest, the one outbox, the audit log, the cycle and the loop, systemd, metrics."""
