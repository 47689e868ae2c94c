"""Languages (English / 简体中文) on gettext catalogs: pages, scripts, API messages, receipts and plots.

English is the source language; Chinese lives in ``soberpay/locale/zh/LC_MESSAGES/messages.po``
(compiled to ``messages.mo``, committed; ``tests/unit/test_i18n_catalog.py`` fails when either is stale).

How to mark a user-visible string (then run ``make i18n`` and fill the new ``msgstr`` in the ``.po``):

* templates: ``{{ _('Pay by face') }}``, with values ``{{ _('Hello, %(name)s', name=guest.name) }}``;
  enumerations shown by value (state, category, consent purpose): ``{{ label('state', risk.state) }}``;
* scripts: add ``"key": N_("English text")`` to ``SCRIPT_MESSAGES`` below and call ``t("key")`` in JS.
  Every page carries the catalogue as JSON in ``<script id="i18n">``; ``GET /api/i18n`` returns the same;
* Python in the web layer: ``gettext_for(lang)("text")``, or ``N_("text")`` where the string is translated
  later (tables of labels). Error messages are extracted from the ``raise SomeError("...")`` calls
  themselves (each error class is an extraction keyword) and translated at the HTTP boundary.

The language of a request: the ``sp_lang`` cookie (set by ``/lang/{code}``), else ``?lang=``, else the
best ``Accept-Language`` match, else ``venue.default_language``.
"""

from __future__ import annotations

import gettext as _gettext
import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel.support import Translations
from starlette.requests import Request

from soberpay import errors
from soberpay.domain.identity import LANGUAGES
from soberpay.venue_time import format_time

LOCALE_DOMAIN = "messages"

Gettext = Callable[..., str]


def N_(text: str) -> str:
    """Mark ``text`` for extraction without translating it now (it is translated where it is shown)."""
    return text


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English, the source language, needs none)."""
    if lang == "en":
        return _gettext.NullTranslations()
    locale_dir = resources.files("soberpay").joinpath("locale")
    loaded = Translations.load(str(locale_dir), locales=[lang], domain=LOCALE_DOMAIN)
    if not isinstance(loaded, Translations):  # a missing .mo would silently show English
        raise errors.ConfigError(f"no compiled message catalogue for {lang!r}: run `make i18n`")
    return loaded


def gettext_for(lang: str) -> Gettext:
    """``_(text, **values)``: the translation of ``text`` with ``%(name)s`` placeholders filled."""
    t = translations(lang)

    def _(text: str, **values: Any) -> str:
        out = t.gettext(text)
        return out % values if values else out

    return _


def negotiate(accept_language: str, default: str) -> str:
    """The best of ``LANGUAGES`` for an ``Accept-Language`` header (q-values honoured), else ``default``."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower().split("-")[0]))
    for neg_q, _i, primary in sorted(ranked):
        if neg_q < 0 and primary in LANGUAGES:
            return primary
    return default


def lang_of(request: Request) -> str:
    lang = request.cookies.get("sp_lang") or request.query_params.get("lang") or ""
    if lang in LANGUAGES:
        return lang
    default = str(request.app.state.web.container.settings.venue.default_language)
    return negotiate(request.headers.get("accept-language", ""), default)


# Labels of values the API and pages carry as codes.
LABELS: dict[str, dict[str, str]] = {
    "state": {"normal": N_("normal"), "tagged": N_("tagged"), "recovering": N_("recovering")},
    "category": {
        "song": N_("Songs"),
        "drink": N_("Drinks"),
        "snack": N_("Snacks"),
        "liquor": N_("Liquor"),
        "room_upgrade": N_("Room"),
        "service": N_("Service"),
        "beer": N_("Beer"),
        "fruit": N_("Fruit"),
    },
    "role": {"manager": N_("manager"), "cashier": N_("cashier")},
    "channel": {"wechat": N_("WeChat Pay"), "alipay": N_("Alipay"), "cash": N_("Cash")},
    "topup": {
        "created": N_("waiting for payment"),
        "paid": N_("paid"),
        "closed": N_("expired"),
        "failed": N_("failed"),
    },
    "pending": {
        "pending": N_("waiting"),
        "confirmed": N_("confirmed"),
        "discarded": N_("discarded"),
        "expired": N_("expired"),
    },
    "delivery": {
        "new": N_("new"),
        "preparing": N_("preparing"),
        "delivered": N_("delivered"),
        "cancelled": N_("cancelled"),
    },
    "consent": {
        "face_payment": N_("I agree to face payment"),
        "sobriety_monitoring": N_("I agree to sobriety monitoring"),
        "behaviour_profiling": N_("I agree to spending-pattern checks"),
    },
}


def label(kind: str, value: str, lang: str) -> str:
    text = LABELS.get(kind, {}).get(value)
    return gettext_for(lang)(text) if text else value


# What the room screen says about a purchase, by ``message_key``: neutral for the guest (never a tag reason or
# a staff note); the scripts show them too.
ROOM_MESSAGES: dict[str, str] = {
    "room.msg.charged": N_("Paid."),
    "room.msg.suspended": N_(
        "Not charged. For your safety this premium item waits for staff approval; it is saved for later."
    ),
    "room.msg.verification_required": N_("Please confirm with your face and your payment password."),
    "room.msg.password_rejected": N_("Wrong password. Please try again."),
    "room.msg.locked_out": N_("Too many wrong passwords. Please ask staff for help."),
    "room.msg.face_rejected": N_("We could not confirm your face. Try again or use your password."),
    "room.msg.refused": N_("Not charged. Please ask staff for help."),
    "room.msg.no_balance": N_("Not charged: not enough balance. Please top up at the counter."),
    "room.msg.confirmed": N_("Paid at the original price."),
    "room.msg.need_factor": N_("Each payment needs your face or your payment password."),
}


def room_message(key: str, lang: str) -> str:
    return gettext_for(lang)(ROOM_MESSAGES[key])


# Strings the page scripts show, by the key the scripts use (``t("room.charged")`` in app.js).
SCRIPT_MESSAGES: dict[str, str] = {
    "err.generic": N_("Something went wrong"),
    "kiosk.camera_off": N_("No camera available: upload photos instead."),
    "kiosk.done": N_("All done. Enjoy your evening!"),
    "kiosk.enrolled": N_("Face saved. Encrypted templates stored:"),
    "kiosk.quality": N_("Quality"),
    "kiosk.registered": N_("Registered. Welcome,"),
    # the active liveness challenge (capture.js), one per action of ``liveness.challenge_actions``
    "liveness.blink": N_("blink"),
    "liveness.turn_left": N_("turn your head to your left"),
    "liveness.turn_right": N_("turn your head to your right"),
    "liveness.smile": N_("smile"),
    # kiosk self-service (see, withdraw, erase)
    "kiosk.password": N_("6-digit payment password"),
    "self.account": N_("Your account:"),
    "self.active": N_("given"),
    "self.cancel": N_("Cancel"),
    "self.confirm": N_("Confirm"),
    "self.confirm_revoke": N_("Withdraw consent: {purpose}"),
    "self.consents": N_("Your consents"),
    "self.done": N_("Done"),
    "self.effect.behaviour_profiling": N_("The data derived for this purpose is deleted at once."),
    "self.effect.face_payment": N_(
        "Your face templates are deleted at once. You can still pay with your phone number and "
        "password. Erasing your account after this needs staff at the counter: there is no face "
        "left to check."
    ),
    "self.effect.sobriety_monitoring": N_(
        "Your sobriety measurements and your learnt normal are deleted at once. Decisions already "
        "taken on past payments stay as their evidence."
    ),
    "self.erase": N_("Erase my account"),
    "self.erase_deleted": N_(
        "Deleted at once: your name, phone number, ID card number, payment password, face "
        "templates, consents and all sobriety data. You can no longer pay here, and your phone "
        "number can be registered again."
    ),
    "self.erase_kept": N_(
        "Kept, because the law requires the venue to keep its accounting records: your past "
        "purchases and top-ups stay in the books, anonymised — no longer linked to your name, "
        "phone, ID or face. The audit log records that this account was erased. Money left on your "
        "balance stays in the books: ask staff to refund it before you erase."
    ),
    "self.erased_ok": N_("Your account has been erased. Thank you for visiting."),
    "self.idle": N_("Closed after a minute without a touch."),
    "self.need_face": N_("No live capture: look at the camera, or choose a short video."),
    "self.none": N_("You have given no consent."),
    "self.proof": N_(
        "To confirm, enter your payment password and look at the camera: we take a short live clip "
        "(a photo is not accepted). Nothing is stored."
    ),
    "self.purpose.behaviour_profiling": N_("Spending-pattern checks"),
    "self.purpose.face_payment": N_("Face payment"),
    "self.purpose.sobriety_monitoring": N_("Sobriety monitoring"),
    "self.revoke": N_("Withdraw"),
    "self.revoked_ok": N_("Consent withdrawn."),
    "self.staff_hint": N_("No camera, or no face saved? Staff at the counter can do this for you."),
    "self.upload": N_("Or choose a short video of your face"),
    "self.withdrawn": N_("withdrawn"),
    "room.cart_empty": N_("Tap items to add them."),
    "room.charged": N_("Paid"),
    "room.confirm": N_("Confirm & pay"),
    "room.confirm_pay": N_("Pay {amount} from your balance ({left} left)?"),
    "room.delete": N_("Delete"),
    "room.discard": N_("Discard"),
    "room.idle_cleared": N_("Order cleared after inactivity."),
    "room.notice.locked": N_("For your safety, premium items need staff approval tonight."),
    "room.notice.recovered": N_("Welcome back — all items are available again. Requests saved earlier are at the top."),
    "room.pay_face": N_("Pay by face"),
    "room.pending_hint": N_("You are back to normal. Confirm or discard each request."),
    "room.pending_wait": N_("These can be confirmed after recovery."),
    "room.state.normal": N_("All items available"),
    "room.state.tagged": N_("Protection on: high-price items are locked; other items need your password"),
    "room.state.recovering": N_("Recovering: high-price items stay locked for now"),
    "room.suspended": N_("Not charged — saved for later"),
    **ROOM_MESSAGES,
    "staff.ack": N_("Handled"),
    "staff.checkin": N_("Check in to room"),
    "staff.held": N_("Held"),
    "staff.held_discard": N_("Discard"),
    "staff.hp_locked": N_("high-price items locked"),
    "staff.issue_token": N_("Issue device token"),
    "staff.no_room": N_("No room"),
    "staff.nobody": N_("nobody checked in"),
    "staff.none": N_("None."),
    "staff.override": N_("Override"),
    "staff.pair_qr": N_("Pair tablet (QR)"),
    "staff.reason": N_("Reason"),
    "staff.signed_out": N_("Signed out."),
    "staff.topup": N_("Top up"),
    "cam.stopped": N_("camera stopped"),
    "cam.connecting": N_("camera connecting"),
    "cam.connected": N_("camera connected"),
    "cam.reconnecting": N_("camera reconnecting"),
    "cam.stalled": N_("camera stalled"),
    "cam.ended": N_("video ended"),
    "cam.last_frame": N_("last picture"),
    "cam.reconnects": N_("reconnects"),
    **{f"state.{k}": v for k, v in LABELS["state"].items()},
    **{f"cat.{k}": v for k, v in LABELS["category"].items()},
    "orders.prepare": N_("Start preparing"),
    "orders.deliver": N_("Delivered"),
    "orders.void": N_("Cancel (void)"),
    "orders.ticket": N_("Ticket"),
    "orders.print": N_("Print"),
    "orders.printed": N_("Sent to the printer."),
    "orders.empty": N_("Nothing to deliver."),
    "orders.refunded": N_("Refund done. New balance:"),
    "orders.void_reason": N_("Why is this order cancelled? (refunded in full)"),
    **{f"delivery.{k}": v for k, v in LABELS["delivery"].items()},
}


def script_catalogue(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {key: _(text) for key, text in SCRIPT_MESSAGES.items()}


# --- server messages ------------------------------------------------------------------------------

# When a message has no translation of its own (it was formatted with values), its code's message is shown.
ERROR_MESSAGES: dict[str, str] = {
    "error": N_("The request could not be processed."),
    "invalid_input": N_("Some of the information entered is not valid."),
    "bad_image": N_("The picture could not be read: try another photo."),
    "face_error": N_("No usable face in the picture: look at the camera and try again."),
    "no_face": N_("No face found: look at the camera and try again."),
    "multiple_faces": N_("More than one face in the picture: one person at a time, please."),
    "face_too_small": N_("The face is too small: come closer to the camera."),
    "low_quality": N_("The picture is not clear enough: check the light and hold still."),
    "not_found": N_("Not found."),
    "conflict": N_("This conflicts with what is already recorded."),
    "consent_required": N_("This needs your consent first."),
    "auth_failed": N_("Verification failed."),
    "locked_out": N_("Too many failed attempts: locked for now, staff have been told."),
    "unauthenticated": N_("Please identify yourself or sign in first."),
    "forbidden": N_("This is not allowed here."),
    "csrf_failed": N_("The page is out of date: reload it and try again."),
    "rate_limited": N_("Too many attempts: wait a moment and try again."),
    "payment_refused": N_("The payment was not made."),
    "busy": N_("The service is busy: try again in a moment."),
    "unavailable": N_("The service is not ready: nothing was changed. Try again in a moment."),
    "config_error": N_("The service is not set up correctly: please call staff."),
    "method_not_allowed": N_("Not allowed."),
    "too_large": N_("The upload is too large."),
    "http_error": N_("The request could not be processed."),
    "internal": N_("Internal error: nothing was changed. Please call staff."),
    "invalid_notification": N_("The payment notification could not be verified: nothing was credited."),
}


def error_message(code: str, message: str, lang: str) -> str:
    """``message`` in ``lang``: its own translation, else the translation of its code's message."""
    if lang == "en":
        return message
    t = translations(lang)
    own = t.gettext(message) if message else message  # gettext("") is the catalogue's header
    if own != message:
        return own
    return t.gettext(ERROR_MESSAGES.get(code, ERROR_MESSAGES["error"]))


# --- alerts (staff-facing) -------------------------------------------------------------------------

# By the alert's ``kind``; the English message (with the detail) is the service's own, kept in the audit log.
ALERT_MESSAGES: dict[str, str] = {
    "tagged": N_("Guest %(guest)s tagged: high-price items locked."),
    "recovered": N_("Guest %(guest)s recovered: locks lifted."),
    "drunk_warning": N_("Guest %(guest)s: abnormal consumption and posture coincide."),
    "risk_elevated": N_("Guest %(guest)s: risk elevated."),
    "suspended": N_("Guest %(guest)s: a high-price request was suspended while tagged."),
    "staff_required": N_("Guest %(guest)s is tagged and cannot complete dual verification: staff needed."),
    "lockout": N_("Guest %(guest)s: password payment locked after wrong passwords."),
    "pending_ready": N_("Guest %(guest)s: saved requests are ready to confirm."),
    "camera_stalled": N_("The room camera sends no pictures: check its power, cable and network."),
    "topup_unmatched": N_("Guest %(guest)s: a QR payment arrived for a closed top-up; refund it at the provider."),
}


def alert_message(kind: str, message: str, guest: str, lang: str) -> str:
    """The alert for staff in ``lang``, naming ``guest``."""
    template = ALERT_MESSAGES.get(kind)
    if lang == "en" or template is None:
        return message
    return gettext_for(lang)(template, guest=guest)


# --- purchase explanations (guest-facing) ----------------------------------------------------------

# By the decision's ``rule`` (``soberpay.domain.purchase.PaymentRule``); values: item, quantity, amount, balance.
PURCHASE_MESSAGES: dict[str, str] = {
    "untagged": N_("%(quantity)s × %(item)s paid: %(amount)s."),
    "dual_verified": N_("%(quantity)s × %(item)s paid with face and password: %(amount)s."),
    "confirmed_after_recovery": N_("%(quantity)s × %(item)s paid after your confirmation: %(amount)s."),
    "tagged_high_price": N_(
        "%(quantity)s × %(item)s not charged: for your safety, premium items need staff approval tonight. "
        "Saved: you can confirm it later."
    ),
    "dual_verification": N_("%(item)s needs your payment password as well."),
    "phone_needs_password": N_("Enter your payment password to pay."),
    "confirm_needs_auth": N_("Confirm with your face or payment password."),
    "password_locked": N_("Password payment is locked for now: please call staff."),
    "password_lockout": N_("Wrong password too many times: password payment is locked, staff have been told."),
    "wrong_password": N_("Wrong payment password: not charged."),
    "face_mismatch": N_("The face does not match: not charged."),
    "dual_verification_unavailable": N_("Not charged: please call staff to complete this order."),
    "insufficient_balance": N_("Not charged: your balance %(balance)s is not enough for %(amount)s."),
    "still_tagged": N_("Not charged: premium items stay locked for now."),
    "expired": N_("This saved request has expired: not charged."),
}


def purchase_message(rule: str, lang: str, *, item: str, quantity: int, amount_fen: int, balance_fen: int) -> str:
    template = PURCHASE_MESSAGES.get(rule)
    if template is None:
        return gettext_for(lang)(ERROR_MESSAGES["error"])
    return gettext_for(lang)(template, item=item, quantity=quantity, amount=yuan(amount_fen), balance=yuan(balance_fen))


# --- formatting -----------------------------------------------------------------------------------


def yuan(fen: int) -> str:
    return f"¥{int(fen) / 100:,.2f}"


def install_i18n(templates: Any, zone: ZoneInfo) -> None:
    """Filters ``fen`` (money), ``details`` (audit JSON) and ``time`` (venue zone), and the i18n extension;
    ``_``/``gettext`` and ``label`` are bound per request in ``render``."""
    env = templates.env
    env.add_extension("jinja2.ext.i18n")
    env.filters["fen"] = yuan
    env.filters["details"] = audit_details
    env.filters["time"] = lambda at, fmt="%Y-%m-%d %H:%M": format_time(at, zone, fmt)


def template_context(lang: str) -> dict[str, Any]:
    _ = gettext_for(lang)
    return {
        "lang": lang,
        "other_lang": "en" if lang == "zh" else "zh",
        "_": _,
        "gettext": _,
        "label": lambda kind, value: label(kind, value, lang),
        "i18n_json": json.dumps(script_catalogue(lang), ensure_ascii=False),
    }


_HIDDEN_DETAILS = {"idempotency_key", "order_id", "posting_id", "visit_id"}


def audit_details(raw: str) -> str:
    """Audit JSON as short ``key: value`` pairs for people (ids shortened, plumbing keys dropped)."""
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return raw
    if not isinstance(data, dict):
        return str(data)
    parts = []
    for key, value in data.items():
        if key in _HIDDEN_DETAILS or value in (None, "", [], {}):
            continue
        if key.endswith("_fen") and isinstance(value, int):
            text = yuan(value)
        elif isinstance(value, str) and len(value) == 32 and value.isalnum():
            text = value[:8]
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key.removesuffix('_fen')}: {text}")
    return " · ".join(parts)
