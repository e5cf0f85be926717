"""escalation-agent: escalates unanswered urgent-support mails by the vendor's procedure."""

__version__ = "0.1.0"
