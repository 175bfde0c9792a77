"""Statuses and kinds with their French label beside their value (les-emplois' ``enums.py``):
templates and reports read ``.label``, never compare strings."""

from __future__ import annotations

import enum
from typing import Any


class Labelled(enum.Enum):
    """An enum whose members are declared ``NAME = "value", "Libellé"``: ``.value`` is the code
    (stored, sent by the API), ``.label`` the French text shown to people."""

    label: str

    def __new__(cls, value: str, label: str) -> Any:
        member = object.__new__(cls)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Code to label, for forms and documents."""
        return {member.value: member.label for member in cls}


class DisabledReason(Labelled):
    """Why an account was disabled (``User.disabled_reason``)."""

    RGC = "rgc", "Désactivé par le ou la responsable de gestion des comptes"
    INACTIVITE = "inactivite", "Désactivé faute de connexion"
    COMMANDE = "commande", "Désactivé par l'exploitant du service"
