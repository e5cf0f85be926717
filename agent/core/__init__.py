"""The pure core: bytes and records in, records and mails out. No I/O, no clock, no configuration files."""
