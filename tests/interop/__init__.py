"""Tests against real programs outside the service (7-Zip)."""
