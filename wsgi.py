"""WSGI entry point for any WSGI server: ``waitress-serve wsgi:app`` or ``gunicorn wsgi:app``.

``liaison serve`` is the usual way; it also runs the scheduler.
"""

from liaison import create_app, proconnect

app = create_app()
proconnect.read_discovery(app)  # ProConnect's discovery document, read at start (when configured)
