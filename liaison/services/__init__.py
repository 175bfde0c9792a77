"""The service layer: functions that take a SQLAlchemy ``Session`` and import nothing from Flask.

They never commit: the caller (a view, a command, a job) commits once at its boundary.
"""
