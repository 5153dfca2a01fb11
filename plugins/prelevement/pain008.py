"""pain.008 (SEPA Core direct debit initiation) XML built with lxml and validated against the
official XSD shipped inside the sepaxml package (pain.008.001.02 and pain.008.001.08)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from lxml import etree

from core.errors import PortailError
from plugins.prelevement.rules import SEPA_FORMATS, SMNDA, amount_text, control_sum, sepa_text


@dataclass(frozen=True)
class Creditor:
    name: str
    iban: str
    bic: str
    ics: str


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
        _sub(_sub(pmt, "Cdtr"), "Nm", sepa_text(doc.creditor.name, 70))
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
            _sub(_sub(tx, "Dbtr"), "Nm", sepa_text(line.debtor_name, 70))
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


def build_and_validate(doc: Pain008) -> bytes:
    xml = build_xml(doc)
    validate(xml, doc.fmt)
    return xml
