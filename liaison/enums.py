"""Statuses and kinds with their French label beside their value (les-emplois' ``enums.py``):
templates and reports read ``.label``, never compare strings."""

from __future__ import annotations

import enum
from typing import Any, Self


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
    def of(cls, value: Any) -> Self:
        """The member whose code is ``value`` (a member: itself); ``ValueError`` if none."""
        return cls(value)  # type: ignore[call-arg]  # Enum's lookup by value, not __new__'s two arguments

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Code to label, for forms and documents."""
        return {member.value: member.label for member in cls}


class PurgeStatus(Labelled):
    """Where a purge run stands (``PurgeRun.status``), and where a PLIE's part of a dry run stands
    in its DPO's approval (``PurgeRunPlie.approval``: awaiting, approved, executed, superseded)."""

    RUNNING = "running", "En cours"
    DONE = "done", "Terminée"
    INTERRUPTED = "interrupted", "Interrompue (certifiée à la reprise)"
    AWAITING_APPROVAL = "awaiting_approval", "En attente de votre approbation"
    APPROVED = "approved", "Approuvée : la prochaine purge détruira cette liste"
    EXECUTED = "executed", "Liste exécutée"
    SUPERSEDED = "superseded", "Remplacée par une approbation plus récente"


class PurgeTrigger(Labelled):
    """Who started a purge run."""

    COMMAND = "commande", "Commande « liaison purge »"
    SCHEDULER = "planificateur", "Planificateur"
    DPO = "dpo", "DPO (page Conservation)"


class DisabledReason(Labelled):
    """Why an account was disabled (``User.disabled_reason``)."""

    RGC = "rgc", "Désactivé par le ou la responsable de gestion des comptes"
    INACTIVITE = "inactivite", "Désactivé faute de connexion"
    COMMANDE = "commande", "Désactivé par l'exploitant du service"
