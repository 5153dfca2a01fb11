"""pain.008 XML: valid against the official XSDs (both versions), sums right, amendments."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from lxml import etree

from plugins.prelevement import pain008

CREDITOR = pain008.Creditor("RÉGIE CC PORTES ENTRE DEUX MERS", "FR7630001007941234567890185", "BDFEFRPPXXX",
                            "FR45ZZZ123456")


def _line(i: int, amount: int, seq: str = "RCUR", **kw) -> pain008.DebitLine:
    return pain008.DebitLine(end_to_end_id=f"PF1-{i}", amount_cents=amount, rum=f"CDC-{i:06d}-20260101-ABCDEF",
                             signed_on=date(2026, 1, 5), debtor_name="Hélène D'Arcy", debtor_iban="FR7630006000011234567890189",
                             debtor_bic="AGRIFRPP", sequence_type=seq, remittance=f"Facture CDC-2026-{i:05d}", **kw)


@pytest.mark.parametrize("fmt", ["pain.008.001.08", "pain.008.001.02"])
def test_xml_validates_against_the_xsd_and_sums(fmt):
    lines = [_line(1, 1234, "FRST"), _line(2, 66), _line(3, 100, amended=True, new_debtor_agent=True),
             _line(4, 1, amended=True, original_iban="FR1420041010050500013M02606")]
    xml = pain008.build_and_validate(pain008.Pain008("PF-CDC-1", datetime(2026, 11, 23, 10, 0), date(2026, 12, 5),
                                                     CREDITOR, lines, fmt))
    doc = etree.fromstring(xml)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{fmt}"}
    assert doc.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", namespaces=ns) == "4"
    assert doc.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=ns) == "14.01"
    pmts = doc.findall("p:CstmrDrctDbtInitn/p:PmtInf", namespaces=ns)
    assert [p.findtext("p:PmtTpInf/p:SeqTp", namespaces=ns) for p in pmts] == ["FRST", "RCUR"]
    assert [p.findtext("p:CtrlSum", namespaces=ns) for p in pmts] == ["12.34", "1.67"]
    assert b"<Id>SMNDA</Id>" in xml and b"<AmdmntInd>true</AmdmntInd>" in xml
    assert (b"<BICFI>" in xml) == (fmt == "pain.008.001.08")
    assert "Helene D'Arcy" in xml.decode()  # SEPA character set


def test_invalid_xml_is_refused_without_echoing_values():
    bad = pain008.Pain008("PF-1", datetime(2026, 1, 1), date(2026, 1, 5), pain008.Creditor("X", "NOT-AN-IBAN", "BDFEFRPPXXX", "FR45ZZZ123456"),
                          [_line(1, 100)])
    with pytest.raises(pain008.InvalidSepaXml) as err:
        pain008.build_and_validate(bad)
    assert "NOT-AN-IBAN" not in err.value.message
