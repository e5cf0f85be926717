"""The world outside: the IMAP and SMTP sessions, the SQLite store, TLS, OAuth2 tokens and config.ini."""
