"""The service layer: functions that take a SQLAlchemy ``Session`` and import nothing from Flask.

They never commit: the caller (a view, a command, a job) commits once at its boundary. One
exception, said where it stands: the email outbox's sender (:mod:`liaison.services.outbox`) commits
each claim before talking to the SMTP server, so that a crash never sends a message twice.
"""
