"""Payment use cases: identify-and-pay, dual verification, pending requests, staff overrides, visits,
checkout, top-up, alerts and audit. Called by the CLI and the HTTP API alike, through ``PaymentService``.

One module per use-case family (``purchase``, ``pending``, ``staff``, ``counter``, ``refunds``,
``deliveries``, ``receipts``, ``queries``) over a
shared ``PaymentContext`` (ports, policies, and the idempotent-transaction helper, see ``context``).

Idempotency: money-moving calls take a key. Results that moved money or recorded a request
(``charged``, ``suspended``, top-up, confirm, checkout, refund) are stored under it; the same key
replays them, the same key with other parameters raises ``Conflict``. Refusals and verification
prompts are not stored, so a client can retry the same key with the missing password. Passwords and
images are never part of the stored fingerprint.
"""

from soberpay.ports import Alert, AuditEntry, LedgerLine
from soberpay.services.payments.guests import GuestIdentity
from soberpay.services.payments.refunds import RefundResult
from soberpay.services.payments.results import CheckoutResult, LedgerView, PaymentResult, RiskView, TopupResult
from soberpay.services.payments.service import PaymentService

__all__ = [
    "Alert",
    "AuditEntry",
    "CheckoutResult",
    "GuestIdentity",
    "LedgerLine",
    "LedgerView",
    "PaymentResult",
    "PaymentService",
    "RefundResult",
    "RiskView",
    "TopupResult",
]
