"""What a family reads in a mail: amounts in the French format, the HTML part laid out from the text
(paragraphs, line breaks, clickable links, nothing from the text taken as HTML)."""

from __future__ import annotations

import random
from decimal import Decimal
from types import SimpleNamespace

from babel.numbers import format_currency
from markupsafe import escape

from core.formatting import euros
from core.mail.service import render_mail


def test_euros_is_babels_french_currency_format():
    rng = random.Random(12)
    amounts = [0, 1, 5, 99, 100, 999, 1000, 99_999, 100_000, 123_456_789, -1, -5, -1320, -100_000]
    amounts += [rng.randint(-10**12, 10**12) for _ in range(3000)] + list(range(-2000, 2000, 7))
    for cents in amounts:
        assert euros(cents) == format_currency(Decimal(cents) / 100, "EUR", locale="fr_FR"), cents
    assert euros(123456) == "1\u202f234,56\u00a0€"
    assert euros(Decimal(1320)) == "13,20\u00a0€"  # not an int: Babel itself


def test_html_part_of_a_text_mail_paragraphs_links_escaped():
    row = render_mail("f@example.org", "mail/password_reset", {
        "user": SimpleNamespace(first_name="<b>Zoé & \"Léa\"</b>"),
        "link": "https://portail.test/reset?token=a1&next=/factures"})
    html = row["html_body"]
    assert "Bonjour &lt;b&gt;Zoé &amp; &#34;Léa&#34;&lt;/b&gt;," in html and "<b>Zoé" not in html
    link = "https://portail.test/reset?token=a1&amp;next=/factures"
    assert f'<p><a href="{link}">{link}</a></p>' in html
    paragraphs = row["text_body"].strip().split("\n\n")
    assert html.count("<p>") == len(paragraphs)  # the community's name is a <p style=…>
    last = paragraphs[-1].split("\n")
    assert "<br>".join(str(escape(line)) for line in last) in html  # lines kept, joined by <br>
