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

    COMMAND = "commande", "L'exploitant du service"  # the command line (« liaison purge »)
    SCHEDULER = "planificateur", "Planificateur"
    DPO = "dpo", "DPO (page Conservation)"


class DisabledReason(Labelled):
    """Why an account was disabled (``User.disabled_reason``)."""

    RGC = "rgc", "Désactivé par le ou la responsable de gestion des comptes"
    INACTIVITE = "inactivite", "Désactivé faute de connexion"
    COMMANDE = "commande", "Désactivé par l'exploitant du service"


class RequestKind(Labelled):
    """What a person asked for (GDPR art. 15, 16, 17)."""

    ACCESS = "access", "Accès"
    RECTIFICATION = "rectification", "Rectification"
    ERASURE = "erasure", "Effacement"


class RequestStatus(Labelled):
    OPEN = "open", "Ouverte"
    ANSWERED = "answered", "Répondue"


class RequestOutcome(Labelled):
    """The answer given to the person."""

    # the export of what is held was sent
    ACCESS_SENT = "access_sent", "Export des données envoyé à la personne"
    # the sender of the sheet sent a corrected one
    RECTIFIED_BY_SENDER = "rectified_by_sender", "Fiche rectifiée par son expéditeur"
    # the dossier is destroyed at the next purge
    ERASED = "erased", "Données effacées"
    # kept for FSE control, archived and restricted (art. 17(3)(b), 18)
    RESTRICTED_FSE = "restricted_fse", "Données archivées et limitées pour le contrôle FSE"
    # kept while a litigation hold lasts (art. 17(3)(e), 18)
    RESTRICTED_HOLD = "restricted_hold", "Données archivées et limitées pendant un contentieux"
    # no dossier bears this identifier
    NOTHING_HELD = "nothing_held", "Aucune donnée détenue sur la personne"


class BreachNature(Labelled):
    LOST_DEVICE = "lost_device", "Perte ou vol d'un appareil"
    WRONG_RECIPIENT = "wrong_recipient", "Envoi à un mauvais destinataire"
    UNAUTHORISED_ACCESS = "unauthorised_access", "Accès non autorisé"
    MALWARE = "malware", "Logiciel malveillant"
    OTHER = "other", "Autre"


class TokenState(Labelled):
    """Where an API token stands (:func:`liaison.services.tokens.state_of`); only ``ACTIVE`` opens the API."""

    ACTIVE = "active", "Actif"
    EXPIRED = "expired", "Expiré"
    REVOKED = "revoked", "Révoqué"


class OrientationAnswer(Labelled):
    """What came back for an orientation (an FDL1), read from the first FDL2 about the same
    person (``Sheet.answer``); an FDL1 without one is « en attente de réponse »."""

    INTEGRATED = "integree", "Intégration dans le PLIE"
    REFUSED = "refusee", "Intégration refusée"
    ANSWERED = "repondue", "Réponse reçue"


class DraftOrigin(Labelled):
    """Why a form was kept (``Draft.origin``)."""

    SAVED = "brouillon", "Brouillon enregistré"
    SESSION_ENDED = "session", "Formulaire envoyé après la fin de la session"


class NotificationKind(Labelled):
    """What an email tells (never who: counts, kinds, organisations and a link only)."""

    SHEET_RECEIVED = "fiche_recue", "Fiches reçues par votre structure"
    ANSWER_AWAITED = "reponse_attendue", "Orientations en attente de réponse"
    ACKNOWLEDGED = "accuse_reception", "Accusés de réception de vos fiches"
    DESTRUCTION_COMING = "destruction_proche", "Destructions prochaines de dossiers"
    COPIES_TO_DELETE = "copies_a_supprimer", "Copies exportées à supprimer"
    ACCOUNT_INACTIVE = "compte_inactif", "Désactivation prochaine de votre compte faute de connexion"


class NotificationMode(Labelled):
    """When a person is told, per kind (``NotificationPreference.mode``)."""

    AT_ONCE = "immediat", "Tout de suite"
    DAILY = "quotidien", "Un récapitulatif par jour"
    NEVER = "jamais", "Jamais"


class NotificationStatus(Labelled):
    """Where an outbox row stands (``Notification.status``)."""

    PENDING = "pending", "À envoyer"
    SENDING = "sending", "Envoi en cours"
    SENT = "sent", "Envoyé"
    FAILED = "failed", "Non remis (refusé par le serveur de messagerie, ou trop tard)"
    DROPPED = "dropped", "Non envoyé (préférence, compte désactivé ou sans adresse, messagerie désactivée)"
    # Claimed, then the sender stopped before recording the outcome: perhaps sent, never resent.
    INTERRUPTED = "interrupted", "Envoi interrompu (peut-être reçu, jamais renvoyé)"


class SheetState(Labelled):
    """Where a sheet stands, as its sender sees it (``Sheet.state``)."""

    SENT = "sent", "Envoyée"
    READ = "read", "Lue"
    EXPORTED = "exported", "Exportée"
    ACKNOWLEDGED = "acknowledged", "Réception accusée"


class BoxFilter(Labelled):
    """The states a job coach filters an inbox or an outbox by."""

    UNREAD = "non_lue", "Non lue"
    READ = "lue", "Lue, réception non accusée"
    ACKNOWLEDGED = "accusee", "Réception accusée"
    AWAITING_ANSWER = "en_attente", "Orientation en attente de réponse"
    ANSWERED = "repondue", "Orientation répondue"


class ProConnectRefusal(Labelled):
    """Why a ProConnect sign-in opened no session: ProConnect proved who signs in, liaison's
    accounts say who may (:mod:`liaison.services.proconnect_accounts`). The label is the reason;
    the page says what to ask of whom."""

    UNKNOWN_EMAIL = "adresse_inconnue", "Aucun compte liaison n'est ouvert à cette adresse"
    DISABLED = "compte_desactive", "Ce compte liaison est désactivé"
    OTHER_ORGANISATION = "autre_structure", "ProConnect vous rattache à une autre structure que votre compte"
    OTHER_IDENTITY = "autre_identite", "Ce compte est déjà lié à une autre identité ProConnect"
    SEVERAL_ACCOUNTS = "plusieurs_comptes", "Plusieurs comptes liaison correspondent à cette adresse"
    INCOMPLETE = "informations_manquantes", "ProConnect n'a pas transmis les informations nécessaires"


class BilanSide(Labelled):
    """The two sides that consolidate and sign a convention's annual bilan (convention, art. 7)."""

    PLIE = "plie", "PLIE"
    AGENCY = "agence", "Agence France Travail"


class Assessment(Labelled):
    """The closed scale on which each side assesses a point of the « Bilan Qualitatif »."""

    VERY_GOOD = "tres_satisfaisant", "Très satisfaisant"
    GOOD = "satisfaisant", "Satisfaisant"
    TO_IMPROVE = "a_ameliorer", "À améliorer"
    POOR = "insatisfaisant", "Insatisfaisant"
