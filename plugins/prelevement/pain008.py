"""pain.008 (SEPA Core direct debit initiation) XML built with lxml and validated against the
official XSD shipped inside the sepaxml package (pain.008.001.02 and pain.008.001.08)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from core.errors import PortailError
from core.households.rules import PostalAddress
from plugins.prelevement.rules import (
    SEPA_FORMATS,
    SEQ_FNAL,
    SMNDA,
    amount_text,
    control_sum,
    sepa_text,
)


@dataclass(frozen=True)
class Creditor:
    name: str
    iban: str
    bic: str
    ics: str
    address: PostalAddress | None = None


@dataclass(frozen=True)
class DebitLine:
    end_to_end_id: str
    amount_cents: int
    rum: str
    signed_on: date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str
    sequence_type: str
    remittance: str
    amended: bool = False
    original_iban: str = ""
    new_debtor_agent: bool = False
    debtor_address: PostalAddress | None = None


@dataclass(frozen=True)
class Pain008:
    message_id: str
    created_at: datetime
    collection_date: date
    creditor: Creditor
    lines: list[DebitLine] = field(default_factory=list)
    fmt: str = "pain.008.001.08"


class InvalidSepaXml(PortailError):
    code = "INVALID_SEPA_XML"


def _schema_path(fmt: str) -> Path:
    import sepaxml

    return Path(sepaxml.__file__).parent / "schemas" / f"{fmt}.xsd"


@lru_cache(maxsize=4)
def schema(fmt: str) -> etree.XMLSchema:
    if fmt not in SEPA_FORMATS:
        raise ValueError(f"format SEPA inconnu : {fmt}")
    return etree.XMLSchema(etree.parse(str(_schema_path(fmt))))


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def _agent(parent: etree._Element, tag: str, bic: str, v08: bool) -> None:
    fin = _sub(_sub(parent, tag), "FinInstnId")
    _sub(fin, "BICFI" if v08 else "BIC", bic)


def _account(parent: etree._Element, tag: str, iban: str) -> None:
    _sub(_sub(_sub(parent, tag), "Id"), "IBAN", iban)


def _postal_address(party: etree._Element, address: PostalAddress | None) -> None:
    """PstlAdr in the structured form (EPC153-22 v2.1: unstructured AdrLine alone is refused from
    15 November 2026). Element order of PostalAddress6 (.02) and PostalAddress24 (.08) alike:
    StrtNm, BldgNb, PstCd, TwnNm, Ctry."""
    if address is None or not address.complete:
        return
    adr = _sub(party, "PstlAdr")
    if address.street_name.strip():
        _sub(adr, "StrtNm", sepa_text(address.street_name, 70))
    if address.building_number.strip():
        _sub(adr, "BldgNb", sepa_text(address.building_number, 16))
    if address.postal_code.strip():
        _sub(adr, "PstCd", sepa_text(address.postal_code, 16))
    _sub(adr, "TwnNm", sepa_text(address.town, 35))
    _sub(adr, "Ctry", address.country.upper())


def build_xml(doc: Pain008) -> bytes:
    """The XML document (not validated: see `validate`). One PmtInf per sequence type."""
    if doc.fmt not in SEPA_FORMATS:
        raise ValueError(f"format SEPA inconnu : {doc.fmt}")
    v08 = doc.fmt == "pain.008.001.08"
    ns = f"urn:iso:std:iso:20022:tech:xsd:{doc.fmt}"
    root = etree.Element("Document", nsmap={None: ns, "xsi": "http://www.w3.org/2001/XMLSchema-instance"})
    cstmr = _sub(root, "CstmrDrctDbtInitn")
    total = control_sum(line.amount_cents for line in doc.lines)
    hdr = _sub(cstmr, "GrpHdr")
    _sub(hdr, "MsgId", doc.message_id)
    _sub(hdr, "CreDtTm", doc.created_at.replace(microsecond=0, tzinfo=None).isoformat())
    _sub(hdr, "NbOfTxs", str(len(doc.lines)))
    _sub(hdr, "CtrlSum", amount_text(total))
    _sub(_sub(hdr, "InitgPty"), "Nm", sepa_text(doc.creditor.name, 70))

    groups: dict[str, list[DebitLine]] = defaultdict(list)
    for line in doc.lines:
        groups[line.sequence_type].append(line)
    for seq in ("FRST", "RCUR", "OOFF", "FNAL"):
        lines = groups.get(seq)
        if not lines:
            continue
        pmt = _sub(cstmr, "PmtInf")
        _sub(pmt, "PmtInfId", f"{doc.message_id[:30]}-{seq}")
        _sub(pmt, "PmtMtd", "DD")
        _sub(pmt, "BtchBookg", "true")
        _sub(pmt, "NbOfTxs", str(len(lines)))
        _sub(pmt, "CtrlSum", amount_text(control_sum(x.amount_cents for x in lines)))
        tp = _sub(pmt, "PmtTpInf")
        _sub(_sub(tp, "SvcLvl"), "Cd", "SEPA")
        _sub(_sub(tp, "LclInstrm"), "Cd", "CORE")
        _sub(tp, "SeqTp", seq)
        _sub(pmt, "ReqdColltnDt", doc.collection_date.isoformat())
        cdtr = _sub(pmt, "Cdtr")
        _sub(cdtr, "Nm", sepa_text(doc.creditor.name, 70))
        _postal_address(cdtr, doc.creditor.address)
        _account(pmt, "CdtrAcct", doc.creditor.iban)
        _agent(pmt, "CdtrAgt", doc.creditor.bic, v08)
        _sub(pmt, "ChrgBr", "SLEV")
        othr = _sub(_sub(_sub(_sub(pmt, "CdtrSchmeId"), "Id"), "PrvtId"), "Othr")
        _sub(othr, "Id", doc.creditor.ics)
        _sub(_sub(othr, "SchmeNm"), "Prtry", "SEPA")
        for line in lines:
            tx = _sub(pmt, "DrctDbtTxInf")
            _sub(_sub(tx, "PmtId"), "EndToEndId", line.end_to_end_id)
            _sub(tx, "InstdAmt", amount_text(line.amount_cents), Ccy="EUR")
            mnd = _sub(_sub(tx, "DrctDbtTx"), "MndtRltdInf")
            _sub(mnd, "MndtId", line.rum)
            _sub(mnd, "DtOfSgntr", line.signed_on.isoformat())
            if line.amended:
                _sub(mnd, "AmdmntInd", "true")
                details = _sub(mnd, "AmdmntInfDtls")
                if line.new_debtor_agent:
                    _sub(_sub(_sub(_sub(details, "OrgnlDbtrAcct"), "Id"), "Othr"), "Id", SMNDA)
                elif line.original_iban:
                    _account(details, "OrgnlDbtrAcct", line.original_iban)
            _agent(tx, "DbtrAgt", line.debtor_bic, v08)
            dbtr = _sub(tx, "Dbtr")
            _sub(dbtr, "Nm", sepa_text(line.debtor_name, 70))
            _postal_address(dbtr, line.debtor_address)
            _account(tx, "DbtrAcct", line.debtor_iban)
            _sub(_sub(tx, "RmtInf"), "Ustrd", sepa_text(line.remittance, 140))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def validate(xml: bytes, fmt: str) -> None:
    """Raise InvalidSepaXml (with the first XSD error) unless `xml` is valid for `fmt`."""
    xsd = schema(fmt)
    document = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True,
                                                            huge_tree=True))
    if not xsd.validate(document):
        first = xsd.error_log.filter_from_errors()[0] if xsd.error_log else None
        raise InvalidSepaXml(f"Le fichier SEPA n'est pas conforme au schéma {fmt} : "
                             f"{_safe(first.message) if first else 'erreur inconnue'}")


def _safe(message: str) -> str:
    # XSD messages quote the faulty value: an IBAN must never reach a log or an answer.
    return re.sub(r"'[^']*'", "'…'", message)


def make_final(xml: bytes, end_to_end_ids: set[str], fmt: str) -> bytes:
    """The same remittance with the collections `end_to_end_ids` moved to a FNAL payment group: a
    mandate stopped while its collection is built but not yet sent is collected one last time as
    FNAL (EPC SDD Core rulebook, AT-21 « sequence type »). Counts and control sums are recomputed;
    the result is validated against the XSD."""
    ns = f"urn:iso:std:iso:20022:tech:xsd:{fmt}"
    q = lambda tag: f"{{{ns}}}{tag}"  # noqa: E731 - a local qualifier keeps the XPath readable
    root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    cstmr = root.find(q("CstmrDrctDbtInitn"))
    groups = cstmr.findall(q("PmtInf"))
    moving = [tx for pmt in groups for tx in pmt.findall(q("DrctDbtTxInf"))
              if tx.findtext(f"{q('PmtId')}/{q('EndToEndId')}") in end_to_end_ids
              and pmt.findtext(f"{q('PmtTpInf')}/{q('SeqTp')}") not in (SEQ_FNAL, "FRST", "OOFF")]
    if not moving:
        return xml
    final = next((p for p in groups if p.findtext(f"{q('PmtTpInf')}/{q('SeqTp')}") == SEQ_FNAL), None)
    if final is None:
        template = moving[0].getparent()
        final = etree.fromstring(etree.tostring(template))
        for tx in final.findall(q("DrctDbtTxInf")):
            final.remove(tx)
        final.find(f"{q('PmtTpInf')}/{q('SeqTp')}").text = SEQ_FNAL
        pmt_id = final.find(q("PmtInfId"))
        pmt_id.text = pmt_id.text.rsplit("-", 1)[0] + f"-{SEQ_FNAL}"
        cstmr.append(final)
    for tx in moving:
        tx.getparent().remove(tx)
        final.append(tx)
    for pmt in cstmr.findall(q("PmtInf")):
        txs = pmt.findall(q("DrctDbtTxInf"))
        if not txs:
            cstmr.remove(pmt)
            continue
        pmt.find(q("NbOfTxs")).text = str(len(txs))
        pmt.find(q("CtrlSum")).text = _sum_text(txs, q)
    result = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate(result, fmt)
    return result


def _sum_text(transactions: list[etree._Element], q: Any) -> str:
    cents = [int(tx.findtext(q("InstdAmt")).replace(".", "")) for tx in transactions]
    return amount_text(control_sum(cents))


def build_and_validate(doc: Pain008) -> bytes:
    xml = build_xml(doc)
    validate(xml, doc.fmt)
    return xml
