"""Retention rules of the liaison sheets (``spec/retention.md``), as pure functions.

:mod:`retention.rules` decides, from a dossier's events and its convention's parameters, when
the dossier is archived and when it is destroyed, under which rule, and which conflicts the DPO
must settle. The scheduler, the purge and the certificates that apply it are still to come.
"""
