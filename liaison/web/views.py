"""The web UI, in French: thin views over the same services as the API.

Every page needs a signed-in, active user, except those in ``PUBLIC_ENDPOINTS``. No page needs
JavaScript; forms are protected against cross-site posts (CSRF tokens).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from marshmallow import ValidationError
from werkzeug.wrappers import Response as BaseResponse

from liaison import authnz, context, crypto
from liaison.archives.refusals import DEFAULT_LIMITS
from liaison.authnz import Hidden, Permission, Refused
from liaison.db import get_session
from liaison.display import french_moment as heure
from liaison.enums import BoxFilter
from liaison.models import SheetKind, User
from liaison.services import boxes, directory, exports, imports, partnerships, person_file, sheets, sign_in, tokens
from liaison.services.audit import record
from liaison.services.import_limit import ImportsPaused
from liaison.services.web_sessions import Opening
from liaison.web import browser_session, confirmation, known_device, pages, second_factor
from liaison.web import drafts as drafts_web
from liaison.web import proconnect as proconnect_web
from liaison.web.forms import CHOICE_LABELS, flat_values, form_items, form_values, index_of, parse_form
from liaison.web.retention import destroyed_rows
from liaison.web.safe_redirect import local_path
from liaison.web.suspended import sign_in_suspended
from schemas import SHEET_SCHEMAS, SheetInvalid
from schemas.api import EXPORT_FORMATS, EXPORT_KEYS, check_agreed_passphrase, check_import_passphrase
from schemas.codes import KINDS
from schemas.fields import validation_rules
from schemas.patterns import PatternError
from schemas.sheets import AgentSchema, flatten_errors

blueprint = Blueprint("web", __name__)
# pages: the footer's, read without signing in; ProConnect's sign-in and the returns from it
PUBLIC_ENDPOINTS = {"web.login", "static", *pages.ENDPOINTS, *proconnect_web.ENDPOINTS}
# What a session waiting for its second factor opens, besides the public pages.
PENDING_ENDPOINTS = {*second_factor.ENDPOINTS, "web.logout"}
LOGIN_FAILED = "Identifiant ou mot de passe incorrect."


@blueprint.before_app_request
def load_user() -> BaseResponse | None:
    if request.path.startswith("/api/"):
        return None
    user = browser_session.resume()
    if user is None and browser_session.pending_user() is not None:
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint in PENDING_ENDPOINTS:
            return None
        return redirect(url_for("second_factor.verify", suivant=request.full_path if request.method == "GET" else None))
    if user is None:
        if request.endpoint not in PUBLIC_ENDPOINTS:
            late = drafts_web.keep_late_form()  # a sheet form sent after the session ended: kept
            if late is not None:
                return late
            return redirect(url_for("web.login", suivant=request.full_path if request.method == "GET" else None))
        return None
    g.user = user
    if (
        authnz.needs_second_factor(user, context.config().second_factor_roles)
        and browser_session.second_factor_proven_at() is None
        and request.endpoint not in PUBLIC_ENDPOINTS | PENDING_ENDPOINTS
    ):  # opened before the second factor was asked of this role (an upgrade, a change of settings)
        return redirect(url_for("second_factor.verify", suivant=request.full_path if request.method == "GET" else None))
    return None


@blueprint.app_context_processor
def _template_context() -> dict[str, Any]:
    user = g.get("user")
    return {
        "user": user,
        "KINDS": KINDS,
        "CHOICE_LABELS": CHOICE_LABELS,
        "ROLE_LABELS": directory.ROLE_LABELS,
        "inbox_new": _inbox_new(user),
    }


def _inbox_new(user: User | None) -> int:
    """What is new in the signed-in person's inbox, for the menu's badge."""
    if user is None or user.must_change_password:
        return 0
    return boxes.count_new(get_session(), user)


def _user() -> User:
    return context.signed_in_user()


# --- sign in and out -----------------------------------------------------------------------


@blueprint.route("/connexion", methods=["GET", "POST"])
def login() -> tuple[str, int] | BaseResponse:
    error = None
    if request.method == "GET" and g.get("user") is not None:  # signed in (Back, a second tab): sent on
        return redirect(local_path(request.args.get("suivant")) or url_for("web.home"))
    if request.method == "POST":
        db = get_session()
        login_name = request.form.get("identifiant", "").strip().lower()
        device = known_device.device_of(login_name)
        attempt = sign_in.attempt(
            db,
            context.hasher(),
            context.throttle_key(),
            login_name,
            request.form.get("mot_de_passe", ""),
            request.remote_addr or "",
            device,
        )
        if attempt.retry_after is not None:
            return _try_later(attempt.retry_after)
        if attempt.user is None:
            db.commit()
            error = LOGIN_FAILED
        else:
            target = local_path(request.args.get("suivant"))
            if authnz.needs_second_factor(attempt.user, context.config().second_factor_roles):
                browser_session.begin(db, attempt.user, Opening(pending=True))
                response = redirect(url_for("second_factor.verify", suivant=target))
            else:
                browser_session.begin(db, attempt.user)
                response = redirect(target or url_for("web.home"))
            db.commit()
            known_device.remember(response, login_name, device)
            return response
    return render_template("login.html", error=error), (401 if error else 200)


def _try_later(seconds: int) -> BaseResponse:
    """429: the same page whatever the login and password (they were not checked)."""
    response = make_response(render_template("login.html", error=sign_in_suspended(seconds)), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


@blueprint.post("/deconnexion")
def logout() -> BaseResponse:
    db = get_session()
    id_token = browser_session.opening().proconnect_id_token
    browser_session.end(db)
    db.commit()
    to_proconnect = proconnect_web.sign_out_redirect(id_token)  # ends ProConnect's session too
    if to_proconnect is not None:
        return to_proconnect
    flash("Vous êtes déconnecté(e).", "info")
    return redirect(url_for("web.login"))


@blueprint.get("/")
def home() -> BaseResponse:
    user = _user()
    if authnz.has(user, Permission.READ_BOXES):
        return redirect(url_for("web.box", box="recues"))
    if authnz.has(user, Permission.GOVERN_RETENTION):
        return redirect(url_for("retention.overview"))  # what is overdue or due soon comes first
    if authnz.has(user, Permission.MANAGE_ACCOUNTS):
        return redirect(url_for("accounts.index"))
    return redirect(url_for("web.profile"))


# --- boxes and sheets ----------------------------------------------------------------------

BOXES = {"recues": ("inbox", "Fiches reçues"), "envoyees": ("outbox", "Fiches envoyées")}


@blueprint.get("/fiches/<box>")
def box(box: str) -> tuple[str, int]:
    if box not in BOXES:
        abort(404)
    user = _user()
    authnz.require(user, Permission.READ_BOXES)
    api_box, title = BOXES[box]
    db = get_session()
    errors: dict[str, list[str]] = {}
    try:
        query = boxes.read_query(api_box, request.args, boxes.PAGE_NAMES)  # type: ignore[arg-type]
    except boxes.QueryRefused as refused:
        errors = refused.errors
        query = boxes.BoxQuery(api_box)  # type: ignore[arg-type]
    found = boxes.list_box(db, context.vault(), user, query)
    record(db, "box.list", context.actor(), detail=f"{api_box}:{len(found.rows)}")
    db.commit()
    first_page = not (query.after or query.skip)
    destroyed = destroyed_rows(db, user, api_box) if first_page and not _filtered(request.args) else []  # type: ignore[arg-type]
    page = render_template(
        "box.html",
        page=found,
        destroyed=destroyed,
        box=box,
        title=title,
        filters=request.args,
        kept={name: value for name, value in request.args.items() if name != "page" and value},
        filtered=_filtered(request.args),
        first_page=first_page,
        errors=errors,
        partners=sheets.recipients_of(db, user),
        STATES=BoxFilter,
        STATE_LABELS=sheets.STATE_LABELS,
    )
    return page, (422 if errors else 200)


def _filtered(args: Any) -> bool:
    names = boxes.PAGE_NAMES
    return any(args.get(name) for name in (names.q, names.kind, names.state, names.partner, names.since, names.until))


@blueprint.route("/fiches/nouvelle", methods=["GET", "POST"])
def new_sheet() -> str | BaseResponse:
    user = _user()
    kind = sheets.kind_sent_by(user)
    if kind is None:
        abort(403)
    db = get_session()
    recipients = sheets.recipients_of(db, user)
    items = form_items(SHEET_SCHEMAS[kind.value], choices=context.sheet_rules().fonctions)
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and request.form.get("action") == drafts_web.SAVE:
        return drafts_web.save_posted(kind)  # « Enregistrer le brouillon »: kept as it is, not validated
    if request.method == "POST":
        recipient = request.form.get("destinataire", "")
        try:
            sheet_id = sheets.create_sheet(
                db,
                context.vault(),
                context.actor(),
                kind,
                recipient,
                parse_form(items, request.form),
                context.sheet_rules(),
            )
        except SheetInvalid as invalid:
            errors = _form_errors(invalid.errors, recipient)
        except Refused as refused:
            errors = {"destinataire": [str(refused)]}
        else:
            drafts_web.forget_sent()  # the draft it was reopened from, if any
            db.commit()
            flash("La fiche a été envoyée. Elle est chiffrée et seul le destinataire peut la lire.", "succes")
            return redirect(url_for("web.read_sheet", sheet_id=sheet_id))
        values = form_values(request.form)
    else:
        values = _prefilled(user, kind)
        if request.args.get("reponse"):  # « Répondre par une FDL2 »: the FDL1's blocks and its agency
            reply = sheets.reply_to(db, context.vault(), context.actor(), request.args["reponse"])
            db.commit()  # the FDL1's reading, traced
            values.update(flat_values(reply.content))
            values["destinataire"] = reply.recipient_code
        if len(recipients) == 1 and not values.get("destinataire"):
            values["destinataire"] = recipients[0].code
        values = drafts_web.reopened(values)  # ?brouillon=<id>: the caller's draft, as it was left
    status = 422 if errors else 200
    return render_template(
        "sheet_form.html",
        kind=kind.value,
        items=items,
        index={"destinataire": ("Destinataire", "champ-destinataire"), **index_of(items)},
        values=values,
        errors=errors,
        recipients=recipients,
    ), status  # type: ignore[return-value]


def _form_errors(api_errors: dict[str, list[str]], recipient: str) -> dict[str, list[str]]:
    """The service's errors keyed by the form's field names, the recipient's first (as in the form)."""
    errors: dict[str, list[str]] = {}
    if "recipient" in api_errors:
        errors["destinataire"] = (
            ["Choisissez le destinataire de la fiche."] if not recipient else api_errors["recipient"]
        )
    for path, messages in api_errors.items():
        if path != "recipient":
            errors[path.removeprefix("sheet.")] = messages
    return errors


def _prefilled(user: User, kind: SheetKind) -> dict[str, Any]:
    """The sender's own agent block, from the profile, and today's date."""
    own_block = "agent_pole_emploi" if kind is SheetKind.FDL1 else "agent_plie"
    profile = directory.read_profile(context.vault(), user).as_agent()
    values = flat_values({own_block: profile})
    values["date_fiche"] = context.today().isoformat()
    return values


@blueprint.get("/fiches/detail/<sheet_id>")
def read_sheet(sheet_id: str) -> str | tuple[str, int]:
    db = get_session()
    opened = sheets.read_sheet(db, context.vault(), context.actor(), sheet_id)
    db.commit()
    items = form_items(SHEET_SCHEMAS[opened.sheet.kind.value], choices=context.sheet_rules().fonctions)
    is_recipient = opened.sheet.recipient_id == _user().organisation_id
    return render_template(
        "sheet.html",
        sheet=opened.sheet,
        items=items,
        values=flat_values(opened.content),
        is_recipient=is_recipient,
        can_reply=is_recipient
        and opened.sheet.kind is SheetKind.FDL1
        and sheets.kind_sent_by(_user()) is SheetKind.FDL2,
        STATE_LABELS=sheets.STATE_LABELS,
        export_formats=EXPORT_FORMATS,
        export_keys=EXPORT_KEYS,
        partnership_set=partnerships.is_set(db, opened.sheet.sender_id, opened.sheet.recipient_id),
    )


@blueprint.get("/personnes/<dossier_id>")
def person(dossier_id: str) -> str:
    """A person's file: the sheets of one dossier, in order, with what happened to each."""
    db = get_session()
    found = person_file.person_file(db, context.vault(), context.actor(), dossier_id)
    db.commit()
    return render_template("person.html", file=found)


@blueprint.post("/fiches/detail/<sheet_id>/accuse-reception")
def acknowledge(sheet_id: str) -> BaseResponse | tuple[str, int]:
    db = get_session()
    try:
        sheets.acknowledge(db, context.actor(), sheet_id)
    except Refused as refused:
        flash(str(refused), "erreur")
        return redirect(url_for("web.read_sheet", sheet_id=sheet_id))
    db.commit()
    flash("Accusé de réception enregistré.", "succes")
    return redirect(url_for("web.read_sheet", sheet_id=sheet_id))


@blueprint.post("/fiches/detail/<sheet_id>/export")
def export(sheet_id: str) -> str | tuple[str, int]:
    db = get_session()
    if request.form.get("format", "7z") not in EXPORT_FORMATS:
        abort(400)
    try:
        made = exports.create_export(
            db,
            context.vault(),
            context.actor(),
            sheet_id,
            request.form.get("format", "7z"),
            context.config().export_lifetime,
            context.sheet_rules().fonctions,
            key=request.form.get("cle") if request.form.get("cle") in EXPORT_KEYS else None,
            gate=context.costly_gate(),
        )
    except Refused as refused:
        flash(str(refused), "erreur")
        return redirect(url_for("web.read_sheet", sheet_id=sheet_id))  # type: ignore[return-value]
    db.commit()
    return render_template("export.html", made=made, sheet_id=sheet_id)


@blueprint.get("/telechargements/<token>")
def download(token: str) -> BaseResponse | tuple[str, int]:
    db = get_session()
    try:
        filename, content = exports.download_export(db, context.actor(), token)
    except exports.ExportGone:
        return render_template("error.html", status=410), 410
    db.commit()
    response = Response(content, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- imports: a sheet prepared outside liaison, sent through it --------------------------------

IMPORT_INDEX = {
    "fichier": ("Fichier chiffré", "champ-fichier"),
    "phrase_de_passe": ("Phrase de passe", "champ-phrase_de_passe"),
    "destinataire": ("Destinataire", "champ-destinataire"),
}


@blueprint.route("/fiches/importer", methods=["GET", "POST"])
def import_sheet() -> tuple[str, int] | tuple[str, int, dict[str, str]] | BaseResponse:
    """A sender's sheet prepared outside liaison (another software, an export of liaison), in an
    encrypted 7z, zip or AxCrypt file with its passphrase: sent to the recipient chosen here. A
    sheet the organisation already holds is refused (409) with a link to it."""
    user = _user()
    kind = sheets.kind_sent_by(user)
    if kind is None:
        abort(403)
    db = get_session()
    recipients = sheets.recipients_of(db, user)
    errors: dict[str, list[str]] = {}
    retry_after: int | None = None
    duplicate: str | None = None
    recipient = request.form.get("destinataire", recipients[0].code if len(recipients) == 1 else "")
    if request.method == "POST":
        upload = request.files.get("fichier")
        data = upload.read() if upload else b""
        passphrase = request.form.get("phrase_de_passe", "")
        if not data:
            errors["fichier"] = ["Choisissez le fichier chiffré de la fiche (7z, zip ou axx)."]
        try:
            check_import_passphrase(passphrase)
        except PatternError as error:
            errors["phrase_de_passe"] = [str(error)]
        if not recipient:
            errors["destinataire"] = ["Choisissez le destinataire de la fiche."]
        if not errors:
            try:
                sheet_id = imports.import_archive(
                    db,
                    context.vault(),
                    context.actor(),
                    kind,
                    recipient,
                    data,
                    passphrase,
                    context.sheet_rules(),
                    gate=context.costly_gate(),
                    throttle_key=context.throttle_key(),
                    failures_allowed=context.config().import_failures_allowed,
                )
            except ImportsPaused as paused:
                errors = {"fichier": [str(paused)]}
                retry_after = paused.retry_after
            except imports.ImportRefused as refused:
                db.commit()  # the trail's entry of the refusal
                errors = {"phrase_de_passe" if refused.field == "passphrase" else "fichier": [refused.message]}
            except imports.Duplicate as found:  # its count and trail are committed
                errors = {"fichier": [str(found)]}
                duplicate = found.sheet_id
            except SheetInvalid as invalid:
                errors = _import_errors(invalid.errors, kind)
            except Refused as refused:
                errors = {"destinataire": [str(refused)]}
            else:
                db.commit()
                flash(
                    "La fiche a été importée et envoyée. Elle est chiffrée et seul le destinataire peut la lire.",
                    "succes",
                )
                return redirect(url_for("web.read_sheet", sheet_id=sheet_id))
    index = {**IMPORT_INDEX, **_sheet_index(kind)}
    page = render_template(
        "import.html",
        kind=kind.value,
        recipients=recipients,
        recipient=recipient,
        errors=errors,
        index=index,
        duplicate=duplicate,
        max_size=_in_kibibytes(DEFAULT_LIMITS.max_archive_bytes),
    )
    if retry_after is not None:  # too many failed imports lately: the form says until when
        return page, 429, {"Retry-After": str(retry_after)}
    return page, (409 if duplicate else 422 if errors else 200)


def _in_kibibytes(size: int) -> str:
    """« 1 Mio », « 512 Kio »: the bound on an uploaded archive, as people read it."""
    kibibytes = size // 1024
    return f"{kibibytes // 1024} Mio" if kibibytes % 1024 == 0 else f"{kibibytes} Kio"


def _sheet_index(kind: SheetKind) -> dict[str, tuple[str, str]]:
    """The sheet's fields by label, every link pointing at the file field of the import form."""
    items = form_items(SHEET_SCHEMAS[kind.value], choices=context.sheet_rules().fonctions)
    return {path: (f"Fiche contenue : {label}", "champ-fichier") for path, (label, _) in index_of(items).items()}


def _import_errors(api_errors: dict[str, list[str]], kind: SheetKind) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for path, messages in api_errors.items():
        name = {"recipient": "destinataire", "file": "fichier"}.get(path, path.removeprefix("sheet."))
        errors[name] = messages
    return errors


# --- partnership keys (account managers) ----------------------------------------------------


@blueprint.route("/partenariats", methods=["GET", "POST"])
def partnership_keys() -> tuple[str, int] | BaseResponse:
    """Account managers: the passphrase agreed with each partner, set, replaced or removed."""
    user = _user()
    db = get_session()
    errors: dict[str, list[str]] = {}
    made: tuple[str, str] | None = None
    if request.method == "POST":
        authnz.require(user, Permission.MANAGE_PARTNERSHIPS)
        partner = request.form.get("partenaire", "")
        action = request.form.get("action", "")
        try:
            if action == "supprimer" and not confirmation.confirmed():
                return _confirm_key_removal(partnerships.removable(db, user, partner)), 200
            if action == "supprimer":
                partnerships.remove_key(db, context.vault(), context.actor(), partner)
                db.commit()
                flash(
                    f"Clé de partenariat avec {partner} supprimée : les prochains exports auront une "
                    "phrase de passe à usage unique.",
                    "succes",
                )
                return redirect(url_for("web.partnership_keys"))
            given = request.form.get("phrase_de_passe", "")
            passphrase = check_agreed_passphrase(given) if given else crypto.new_passphrase()
            partnerships.set_key(db, context.vault(), context.actor(), partner, passphrase)
            db.commit()
            if given:
                flash(f"Clé de partenariat avec {partner} enregistrée. Elle ne sera plus affichée.", "succes")
                return redirect(url_for("web.partnership_keys"))
            made = (partner, passphrase)
        except PatternError as error:
            errors[f"phrase-{partner}"] = [str(error)]
        except Hidden as missing:
            flash(str(missing), "erreur")
            return redirect(url_for("web.partnership_keys"))
    found = partnerships.statuses(db, user.organisation)
    manager = authnz.has(user, Permission.MANAGE_PARTNERSHIPS)
    page = render_template("partnerships.html", statuses=found, errors=errors, made=made, manager=manager)
    return page, (422 if errors else 200)


def _confirm_key_removal(status: partnerships.PartnerStatus) -> str:
    partner = status.partner
    return confirmation.ask(
        confirmation.Confirmation(
            title=f"Supprimer la clé de partenariat avec {partner.name}",
            lead=f"Clé enregistrée le {heure(status.set_at)} par {status.set_by}." if status.set_at else "",
            consequences=(
                "La clé est détruite : le service ne pourra plus chiffrer avec elle. Les prochains exports entre vos "
                "deux structures auront chacun une phrase de passe à usage unique, à transmettre à part.",
                "Les fichiers déjà exportés s'ouvrent toujours avec la clé que vous et votre partenaire avez notée. "
                "Pour revenir à une clé de partenariat, il faudra en convenir d'une nouvelle.",
            ),
            button=f"Supprimer la clé avec {partner.code}",
            back=url_for("web.partnership_keys"),
            back_label="Annuler et revenir aux clés de partenariat",
            carried={"partenaire": partner.code, "action": "supprimer"},
            crumbs=(("Clés de partenariat", url_for("web.partnership_keys")),),
        )
    )


# --- the user's own profile ----------------------------------------------------------------


@blueprint.route("/profil", methods=["GET", "POST"])
def profile() -> str | tuple[str, int] | BaseResponse:
    user = _user()
    db = get_session()
    items = form_items(AgentSchema, choices=context.sheet_rules().fonctions)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            with validation_rules(context.sheet_rules()):
                agent = AgentSchema().load(parse_form(items, request.form))
        except ValidationError as invalid:
            errors = flatten_errors(invalid.messages)
        else:
            directory.write_profile(db, context.vault(), user, directory.Profile(**agent))
            db.commit()
            flash("Votre profil est enregistré : il remplira votre bloc « agent » sur les fiches.", "succes")
            return redirect(url_for("web.profile"))
        values = form_values(request.form)
    else:
        values = directory.read_profile(context.vault(), user).as_agent()
    page = render_template(
        "profile.html",
        items=items,
        index=index_of(items),
        values=values,
        errors=errors,
        api_tokens=tokens.list_tokens(db, context.actor(), user),
        token_lifetime_days=context.config().token_lifetime_days,
    )
    return page, (422 if errors else 200)
