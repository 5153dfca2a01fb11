"""pain.008 XML: valid against the official XSDs (both versions), sums right, amendments."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from lxml import etree

from core.households.rules import PostalAddress
from plugins.prelevement import pain008

CREDITOR = pain008.Creditor("RÉGIE CC PORTES ENTRE DEUX MERS", "FR7630001007941234567890185", "BDFEFRPPXXX",
                            "FR72ZZZ123456")


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
    bad = pain008.Pain008("PF-1", datetime(2026, 1, 1), date(2026, 1, 5), pain008.Creditor("X", "NOT-AN-IBAN", "BDFEFRPPXXX", "FR72ZZZ123456"),
                          [_line(1, 100)])
    with pytest.raises(pain008.InvalidSepaXml) as err:
        pain008.build_and_validate(bad)
    assert "NOT-AN-IBAN" not in err.value.message


ADDRESS_CH = PostalAddress(town="Genève", country="CH", postal_code="1204", street_name="Rue du Rhône",
                           building_number="14")


@pytest.mark.parametrize("fmt", ["pain.008.001.08", "pain.008.001.02"])
def test_structured_addresses_of_creditor_and_debtor_validate(fmt):
    """EPC153-22 v2.1: from 15 November 2026, structured (or hybrid) addresses only."""
    creditor = pain008.Creditor("RÉGIE CC", "FR7630001007941234567890185", "BDFEFRPPXXX", "FR72ZZZ123456",
                                address=PostalAddress(town="LATRESNE", country="FR", postal_code="33360",
                                                      street_name="allée du Parc", building_number="1"))
    lines = [_line(1, 500, debtor_address=ADDRESS_CH),
             _line(2, 700, debtor_address=PostalAddress(town="Cénac", country="FR"))]  # town + country only
    xml = pain008.build_and_validate(pain008.Pain008("PF-CDC-2", datetime(2026, 11, 24, 9, 0), date(2026, 12, 8),
                                                     creditor, lines, fmt))
    doc = etree.fromstring(xml)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{fmt}"}
    cdtr = doc.find("p:CstmrDrctDbtInitn/p:PmtInf/p:Cdtr/p:PstlAdr", namespaces=ns)
    assert [(el.tag.split("}")[1], el.text) for el in cdtr] == [
        ("StrtNm", "allee du Parc"), ("BldgNb", "1"), ("PstCd", "33360"), ("TwnNm", "LATRESNE"), ("Ctry", "FR")]
    debtors = doc.findall(".//p:DrctDbtTxInf/p:Dbtr/p:PstlAdr", namespaces=ns)
    assert [[el.tag.split("}")[1] for el in d] for d in debtors] == [
        ["StrtNm", "BldgNb", "PstCd", "TwnNm", "Ctry"], ["TwnNm", "Ctry"]]
    assert doc.find(".//p:AdrLine", namespaces=ns) is None  # never the unstructured form


@pytest.mark.parametrize("fmt", ["pain.008.001.08", "pain.008.001.02"])
def test_a_stopped_mandate_collection_becomes_fnal(fmt):
    lines = [_line(1, 1234, "FRST"), _line(2, 66), _line(3, 100)]
    doc = pain008.Pain008("PF-CDC-3", datetime(2026, 11, 24, 9, 0), date(2026, 12, 8), CREDITOR, lines, fmt)
    xml = pain008.make_final(pain008.build_and_validate(doc), {"PF1-2", "PF1-1"}, fmt)
    tree = etree.fromstring(xml)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{fmt}"}
    groups = {p.findtext("p:PmtTpInf/p:SeqTp", namespaces=ns): p
              for p in tree.findall("p:CstmrDrctDbtInitn/p:PmtInf", namespaces=ns)}
    assert set(groups) == {"FRST", "RCUR", "FNAL"}  # a first collection stays FRST
    fnal = groups["FNAL"]
    assert [t.findtext("p:PmtId/p:EndToEndId", namespaces=ns) for t in fnal.findall("p:DrctDbtTxInf", namespaces=ns)] == ["PF1-2"]
    assert (fnal.findtext("p:NbOfTxs", namespaces=ns), fnal.findtext("p:CtrlSum", namespaces=ns)) == ("1", "0.66")
    assert (groups["RCUR"].findtext("p:NbOfTxs", namespaces=ns), groups["RCUR"].findtext("p:CtrlSum", namespaces=ns)) == ("1", "1.00")
    assert fnal.findtext("p:PmtInfId", namespaces=ns) == "PF-CDC-3-FNAL"
    assert tree.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=ns) == "14.00"  # unchanged
    # The last recurrent collection moved: the RCUR group disappears.
    again = etree.fromstring(pain008.make_final(xml, {"PF1-3"}, fmt))
    assert [p.findtext("p:PmtTpInf/p:SeqTp", namespaces=ns) for p in again.findall("p:CstmrDrctDbtInitn/p:PmtInf", namespaces=ns)] == ["FRST", "FNAL"]
