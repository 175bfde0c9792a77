"""Click in French: imported first by :mod:`liaison.cli`, before any command is built.

Click has no French catalogue: its own words (headings, the help option, usage errors) go
through gettext's ``_`` and ``ngettext``, which each of its modules imports by name. Those names
are pointed at this table; a message not in it stays as click wrote it.
"""

from __future__ import annotations

import click

CLICK_FRENCH = {
    "Usage:": "Utilisation :",
    "Options": "Options",
    "Commands": "Commandes",
    "Positional arguments": "Arguments",
    "Show this message and exit.": "Affiche cette aide et quitte.",
    "required": "obligatoire",
    "default: {default}": "par défaut : {default}",
    "Error: {message}": "Erreur : {message}",
    "Try '{command} {option}' for help.": "Aide : {command} {option}",
    "Aborted!": "Interrompu.",
    "Missing command.": "Commande manquante.",
    "Missing argument": "Argument manquant",
    "Missing option": "Option obligatoire manquante",
    "Missing parameter": "Paramètre manquant",
    "No such command {name!r}.": "Commande inconnue : {name!r}.",
    "No such option {name!r}.": "Option inconnue : {name!r}.",
    "No such option: {name}": "Option inconnue : {name}",
    "Option {name!r} does not take a value.": "L'option {name!r} ne prend pas de valeur.",
    "Option {name!r} requires an argument.": "L'option {name!r} attend une valeur.",
    "Invalid value for {param_hint}: {message}": "Valeur invalide pour {param_hint} : {message}",
    "Invalid value: {message}": "Valeur invalide : {message}",
    "{value!r} is not {choice}.": "{value!r} ne convient pas : valeur possible {choice}.",
    "{value!r} is not one of {choices}.": "{value!r} ne convient pas : valeurs possibles {choices}.",
    "{value!r} is not a valid {number_type}.": "{value!r} n'est pas un nombre valide.",
    "{value} is not in the range {range}.": "{value} n'est pas dans l'intervalle {range}.",
    "Got unexpected extra argument ({args})": "Argument en trop : {args}",
    "Got unexpected extra arguments ({args})": "Arguments en trop : {args}",
    "Did you mean {possibility}?": "Vouliez-vous dire {possibility} ?",
    "(Did you mean one of: {possibilities}?)": "(Vouliez-vous dire : {possibilities} ?)",
}


def _french(message: str) -> str:
    return CLICK_FRENCH.get(message, message)


def _french_plural(singular: str, plural: str, count: int) -> str:
    return _french(singular if count == 1 else plural)


for _module in (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.types):
    if hasattr(_module, "_"):
        setattr(_module, "_", _french)  # noqa: B010 - a module global, not an attribute of ours
    if hasattr(_module, "ngettext"):
        setattr(_module, "ngettext", _french_plural)  # noqa: B010
