"""Pure billing rules: tariff grids, unit prices, invoice status, balances (no I/O).

Money is always integer cents, rates are `Decimal`, rounding is ROUND_HALF_UP to the cent.

Worked examples (from the communities' tariff sheets):
- flat: a "sortie" at 8,00 € costs 800 cents whatever the QF.
- qf_brackets: ((700, 850), (1100, 1100), (None, 1400)): QF 700 -> 8,50 € (bound inclusive),
  QF 701 -> 11,00 €, QF 2000 or no QF on file -> 14,00 € (the maximum tariff).
- taux_effort: rate 0.0619 % per hour = Decimal("0.000619"), resources 2 845,00 € / month ->
  284500 * 0.000619 = 176.1055 -> 1,76 € per hour, bounded by floor/ceiling (e.g. 0,50 € / 4,50 €).
  No resources on file -> the ceiling.
- degressive: (1200, 1000, 800): 1st child 12,00 €, 2nd 10,00 €, 3rd and next 8,00 €.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

METHODS = ("flat", "qf_brackets", "taux_effort", "degressive")

STATUS_UNPAID = "non_soldee"
STATUS_PARTIAL = "partiellement_payee"
STATUS_PAID = "soldee"


class TariffConfigError(ValueError):
    """A tariff grid in the configuration is malformed."""


@dataclass(frozen=True)
class TariffGrid:
    method: str  # "flat" | "qf_brackets" | "taux_effort" | "degressive"
    flat_cents: int = 0
    # (qf_upper_bound_inclusive or None for "and above", price_cents), ascending
    brackets: tuple[tuple[int | None, int], ...] = ()
    rate: Decimal = Decimal(0)  # taux d'effort per euro of monthly resources
    floor_cents: int = 0
    ceiling_cents: int = 0
    degressive_cents: tuple[int, ...] = ()  # price for 1st, 2nd, 3rd+ child booked the same day


def round_cents(value: Decimal) -> int:
    """Round a Decimal amount of cents to an integer number of cents, half up."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def bracket_index(grid: TariffGrid, qf: int | None) -> int | None:
    """Index of the bracket that applies to quotient familial `qf` (bounds are inclusive).

    No QF on file -> the last (highest) bracket. None when the grid has no brackets.
    """
    if grid.method != "qf_brackets" or not grid.brackets:
        return None
    if qf is None:
        return len(grid.brackets) - 1
    for i, (upper, _price) in enumerate(grid.brackets):
        if upper is None or qf <= upper:
            return i
    return len(grid.brackets) - 1


def _bounded(grid: TariffGrid, cents: int) -> int:
    if grid.floor_cents and cents < grid.floor_cents:
        cents = grid.floor_cents
    if grid.ceiling_cents and cents > grid.ceiling_cents:
        cents = grid.ceiling_cents
    return cents


def unit_price_cents(
    grid: TariffGrid,
    quotient_familial: int | None,
    monthly_resources_cents: int | None = None,
    child_rank_same_day: int = 1,
) -> int:
    """Unit price in cents for a family. Without a QF (or resources) the maximum tariff applies."""
    if grid.method == "flat":
        return grid.flat_cents
    if grid.method == "qf_brackets":
        idx = bracket_index(grid, quotient_familial)
        return 0 if idx is None else grid.brackets[idx][1]
    if grid.method == "taux_effort":
        if monthly_resources_cents is None:
            return grid.ceiling_cents
        return _bounded(grid, round_cents(Decimal(monthly_resources_cents) * grid.rate))
    if grid.method == "degressive":
        if not grid.degressive_cents:
            return grid.flat_cents
        rank = max(1, child_rank_same_day)
        return grid.degressive_cents[min(rank, len(grid.degressive_cents)) - 1]
    raise TariffConfigError(f"Méthode de tarification inconnue : {grid.method}")


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TariffConfigError(f"{what} : entier attendu (centimes)")
    try:
        return int(value)
    except ValueError as exc:
        raise TariffConfigError(f"{what} : entier attendu (centimes)") from exc


def tariff_grid_from_config(data: Mapping[str, Any]) -> TariffGrid:
    """Build a grid from a TOML table, e.g.
    `{method="qf_brackets", brackets=[[700, 850], [1100, 1100], ["max", 1400]]}` (upper bound may be
    omitted/"max"/-1 for the last bracket), `{method="taux_effort", rate="0.000619", floor_cents=50,
    ceiling_cents=450}`, `{method="flat", flat_cents=800}`, `{method="degressive",
    degressive_cents=[1200, 1000, 800]}`.
    """
    method = str(data.get("method", "flat"))
    if method not in METHODS:
        raise TariffConfigError(f"Méthode de tarification inconnue : {method}")
    brackets: list[tuple[int | None, int]] = []
    for raw in data.get("brackets", []) or []:
        if isinstance(raw, Mapping):
            upper, price = raw.get("qf_max"), raw.get("price_cents")
        else:
            if len(raw) != 2:
                raise TariffConfigError("Tranche : [plafond de QF, prix en centimes] attendu")
            upper, price = raw
        if upper in (None, "max", "", -1):
            upper_v = None
        else:
            upper_v = _int(upper, "Plafond de QF")
        brackets.append((upper_v, _int(price, "Prix de la tranche")))
    bounds = [u for u, _ in brackets]
    if None in bounds[:-1]:
        raise TariffConfigError("Seule la dernière tranche peut être sans plafond")
    numeric = [u for u in bounds if u is not None]
    if numeric != sorted(numeric) or len(set(numeric)) != len(numeric):
        raise TariffConfigError("Les tranches de QF doivent être croissantes")
    if method == "qf_brackets" and not brackets:
        raise TariffConfigError("Grille par QF sans tranche")
    try:
        rate = Decimal(str(data.get("rate", "0")))
    except InvalidOperation as exc:
        raise TariffConfigError("Taux d'effort invalide") from exc
    return TariffGrid(
        method=method,
        flat_cents=_int(data.get("flat_cents", 0), "Prix forfaitaire"),
        brackets=tuple(brackets),
        rate=rate,
        floor_cents=_int(data.get("floor_cents", 0), "Plancher"),
        ceiling_cents=_int(data.get("ceiling_cents", 0), "Plafond"),
        degressive_cents=tuple(_int(v, "Prix dégressif") for v in data.get("degressive_cents", []) or []),
    )


# ---- invoices -------------------------------------------------------------------------------


def invoice_status(total_cents: int, paid_cents: int) -> str:
    """non_soldee (nothing paid), partiellement_payee, soldee (balance <= 0)."""
    if paid_cents >= total_cents:
        return STATUS_PAID
    if paid_cents > 0:
        return STATUS_PARTIAL
    return STATUS_UNPAID


def balance_cents(total_cents: int, paid_cents: int) -> int:
    return max(0, total_cents - paid_cents)


def invoice_number(prefix: str, year: int, seq: int) -> str:
    """"CDC-2026-00001"."""
    return f"{prefix}-{year}-{seq:05d}"


def sum_cents(amounts: Iterable[int]) -> int:
    return sum(int(a) for a in amounts)


def quantity_amount_cents(quantity: str | Decimal, unit_price: int) -> int:
    return round_cents(Decimal(str(quantity)) * unit_price)


_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre")


def _day(d: date) -> str:
    return "1er" if d.day == 1 else str(d.day)


def period_phrase(start: date, end: date) -> str:
    """"du 1er au 31 mars 2023", "du 15 février au 14 mars 2023", "du 1er décembre 2022 au 31 janvier 2023"."""
    if start.year != end.year:
        return f"du {_day(start)} {_MONTHS[start.month - 1]} {start.year} au {_day(end)} {_MONTHS[end.month - 1]} {end.year}"
    if start.month != end.month:
        return f"du {_day(start)} {_MONTHS[start.month - 1]} au {_day(end)} {_MONTHS[end.month - 1]} {end.year}"
    return f"du {_day(start)} au {_day(end)} {_MONTHS[end.month - 1]} {end.year}"


def apportion(amount: int, weights: list[int]) -> list[int]:
    """Split `amount` cents proportionally to `weights` (largest remainder): the parts sum to amount.

    apportion(1000, [1, 1, 1]) -> [334, 333, 333]
    """
    total = sum(w for w in weights if w > 0)
    if not weights:
        return []
    if total <= 0:
        return [amount] + [0] * (len(weights) - 1)
    raw = [Decimal(amount) * max(w, 0) / total for w in weights]
    parts = [int(r) for r in raw]
    rest = amount - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (raw[i] - parts[i], -i), reverse=True)
    for i in order[:rest]:
        parts[i] += 1
    return parts


def payfip_refdet(number: str) -> str:
    """PayFiP's debt reference: alphanumerics only ("CDC-2026-00001" -> "CDC202600001")."""
    return "".join(c for c in number if c.isalnum()).upper()


# ---- mentions of the avis des sommes à payer ------------------------------------------------------
#
# CGCT art. L1617-5 (version in force since 1 January 2017, loi n° 2016-1918 art. 15):
# - 4°: the titre de recettes individuel (and the ampliation sent to the debtor, which our invoice
#   is) "mentionne les nom, prénoms et qualité de la personne qui l'a émis ainsi que les voies et
#   délais de recours" (CRPA L111-2). CE 17 March 2016 n° 389069 (tables p. 700), restated by
#   CE 25 May 2018 n° 405063: the ampliation must carry them; when a delegate signs the bordereau,
#   it is the delegate's name and role (CE 26 September 2018 n° 421481) — hence per-régie config.
# - 2°: the debtor contests the merits "directement devant la juridiction compétente" within two
#   months of receiving the titre; the formal regularity of an acte de poursuite before the juge de
#   l'exécution within two months of its notification. 1°: bringing the action suspends the force
#   exécutoire of the titre. These delays are opposable only if the notification states them with
#   the court (CJA R421-5; CAA Versailles 9 June 2022 n° 19VE04256). A recours gracieux to the
#   ordonnateur within the two months interrupts the delay (Conseil d'État case law, e.g. as
#   summarised in Environnement Magazine, 1 December 2012, "Délai pour contester une créance").
# - 4°: after the payment deadline the comptable public sends a mise en demeure before any forced
#   execution giving rise to costs.


@dataclass(frozen=True)
class PaymentWay:
    code: str  # "card" | "sepa" | "desk"
    label: str
    detail: str


@dataclass(frozen=True)
class InvoiceMentions:
    issuer_name: str
    issuer_role: str
    due_date: date
    recourse: tuple[str, ...]
    comptable: str
    payment_ways: tuple[PaymentWay, ...]


def payment_due_date(issued_on: date, payment_days: int) -> date:
    """The payment deadline: `payment_days` calendar days after issue (e.g. 2026-10-31 + 30 ->
    2026-11-30)."""
    from datetime import timedelta

    return issued_on + timedelta(days=max(0, int(payment_days)))


def invoice_mentions(*, issuer_name: str, issuer_role: str, recourse_court: str, payment_days: int,
                     comptable: str, regie_name: str, regie_address: str, desk_hours: str, desk_means: str,
                     issued_on: date, card: bool, sepa: bool, portal_url: str) -> InvoiceMentions:
    """What an invoice must say besides its lines (sources above), from the régie's configuration."""
    court = recourse_court or "la juridiction compétente"
    issuer = f"l'ordonnateur ({issuer_role})" if issuer_role else "l'ordonnateur"
    recourse = (
        "Dans un délai de deux mois à compter de la réception du présent avis, vous pouvez contester "
        f"la somme réclamée en saisissant directement {court} "
        "(article L. 1617-5 2° du code général des collectivités territoriales). "
        "Cette action suspend la force exécutoire du titre.",
        f"Un recours gracieux adressé dans ce délai à {issuer} interrompt le délai de recours.",
        "La régularité formelle d'un acte de poursuite se conteste devant le juge de l'exécution dans "
        "les deux mois suivant sa notification.",
    )
    ways: list[PaymentWay] = []
    if card:
        ways.append(PaymentWay("card", "Par carte bancaire en ligne",
                               f"sur le portail famille ({portal_url}), paiement sécurisé PayFiP de la DGFiP"))
    if sepa:
        ways.append(PaymentWay("sepa", "Par prélèvement automatique",
                               "adhésion depuis le portail famille (« Passer au prélèvement automatique »)"))
    desk = ", ".join(p for p in (regie_address, desk_hours) if p)
    ways.append(PaymentWay("desk", f"À la régie {regie_name}".strip(),
                           "; ".join(p for p in (desk, desk_means) if p)))
    return InvoiceMentions(issuer_name=issuer_name, issuer_role=issuer_role,
                           due_date=payment_due_date(issued_on, payment_days), recourse=recourse,
                           comptable=comptable, payment_ways=tuple(ways))



# ---- crédit d'impôt pour frais de garde des jeunes enfants ----------------------------------------
#
# CGI art. 200 quater B; BOFiP BOI-IR-RICI-300 (https://bofip.impots.gouv.fr/bofip/865-PGP, version
# of 26/06/2023):
# - § 30: children "âgés de moins de six ans au 1er janvier de l'année d'imposition";
# - § 140: the base is "les dépenses effectivement supportées au titre des seules dépenses liées à
#   la garde des enfants": food and exceptional supplements (e.g. outings) are excluded, and the
#   establishment must state the nature of the services and the detail of the amounts billed;
# - only sums actually paid during the year count (an invoice of December paid in January counts
#   the next year), net of the aids received (CAF's complément de libre choix du mode de garde,
#   employer aid exempt under CGI art. 81, e.g. CESU préfinancés).
# Care outside school hours of a child under six (garderie périscolaire, accueil de loisirs) is
# "garde hors du domicile": the DGFiP's answer reported by Le Parisien and by MoneyVox
# (moneyvox.fr/impot/actualites/103484) — "le coût
# d'encadrement de l'enfant, s'il est âgé de moins de 6 ans, durant le temps périscolaire ouvre
# droit au crédit d'impôt" — the meal itself not.


def under_six_on_january_first(birth_date: date | None, year: int) -> bool:
    """Born 2020-01-02: 5 years old on 1 January 2026 -> eligible for 2026; born 2020-01-01: 6 -> not."""
    return birth_date is not None and birth_date > date(year - 6, 1, 1)


@dataclass(frozen=True)
class AttestationLine:
    """An invoice line as the attestation sees it."""

    invoice_id: int
    child_id: int | None
    amount_cents: int
    tax_credit_cents: int  # childcare part (0: not childcare)
    establishment: str = ""
    care_nature: str = ""


CareKey = tuple[int | None, str, str]  # (child_id, establishment, nature); nature "" = not childcare


def split_payments(payments: list[tuple[int, int]], lines: list[AttestationLine]) -> dict[CareKey, int]:
    """Split each payment `(invoice_id, cents)` over what its invoice billed, proportionally:
    childcare per (child, establishment, nature of care), the rest per child with nature "".

    Worked example: an invoice of 26.00 € for one child = ALSH day 13.00 € of which meal 3.50 €,
    twice; a payment of 13.00 € (half) pays 9.50 € of childcare and 3.50 € of meals."""
    buckets: dict[int, dict[CareKey, int]] = {}
    for line in lines:
        by = buckets.setdefault(line.invoice_id, {})
        care = line.tax_credit_cents
        if care:
            key = (line.child_id, line.establishment, line.care_nature)
            by[key] = by.get(key, 0) + care
        rest = line.amount_cents - care
        if rest:
            key = (line.child_id, "", "")
            by[key] = by.get(key, 0) + rest
    out: dict[CareKey, int] = {}
    for invoice_id, cents in payments:
        by = buckets.get(invoice_id) or {(None, "", ""): 1}
        keys = list(by)
        for key, part in zip(keys, apportion(cents, [by[k] for k in keys]), strict=True):
            if part:
                out[key] = out.get(key, 0) + part
    return out
