"""PES V2 ORMC export (issue 14, point 8; docs/pes.md).

No complete copy of the DGFiP XSD could be found (the vendored copies lack Class_SchemasCommuns.xsd and
other imported files), so the file is checked against the documented structure: `SPEC` below lists,
for every element the export writes, the children of its complex type in the schema's order with their
cardinalities, copied from the DGFiP PES V2 schemas 5.11 as vendored by megalis-bretagne/parapheur-v5
(`src/test/resources/xsd/schemas_pes_v5.11/PES_V2/…`, file named per entry). It is a test oracle, not a
schema: it checks order, cardinalities, code values, formats and sums.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import os
import re
import subprocess
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from core.accounts.models import User
from core.billing.models import Invoice, PesExport, PesExportInvoice
from core.billing.service import export_pes, issue_credit_note, run_billing
from core.billing.types import BillingPeriod
from core.config import ConfigError, load_settings
from core.errors import PortailError
from core.households.models import Household, Responsable
from core.permissions import Actor
from tests.conftest import make_family, make_staff

U = None  # unbounded
# element -> [(child, min, max)] in schema order (source file in the comment)
SPEC: dict[str, list[tuple[str, int, int | None]]] = {
    # Rev0/PES_Aller.xsd
    "PES_Aller": [("Enveloppe", 1, 1), ("EnTetePES", 1, 1), ("PES_DepenseAller", 0, 1), ("PES_RecetteAller", 0, 1),
                  ("PES_RoleAller", 0, 1), ("PES_BudgetAller", 0, 1), ("PES_EtatActif", 0, 1), ("PES_Marche", 0, 1),
                  ("PES_EtatPassif", 0, 1), ("PES_PJ", 0, 1)],
    # TEnveloppe is in Class_SchemasCommuns.xsd (not in the copy): Noethys' UTILS_Pes.py and
    # ClementChevrin/Doc-personnel docs/ORMC/PES_Aller/enveloppe.md
    "Enveloppe": [("Parametres", 1, 1), ("Emetteur", 1, 1)],
    "Parametres": [("Version", 1, 1), ("TypFic", 1, 1), ("NomFic", 1, 1)],
    "Emetteur": [("Sigle", 1, 1), ("Adresse", 1, 1)],
    # Class_EntetePES.xsd
    "EnTetePES": [("DteStr", 1, 1), ("IdPost", 1, 1), ("LibellePoste", 0, 1), ("IdColl", 1, 1), ("FinJur", 0, 1),
                  ("CodCol", 1, 1), ("CodBud", 0, 1), ("LibelleColBud", 0, 1)],
    # NS_Recette/r0/PES_RecetteAller.xsd
    "PES_RecetteAller": [("EnTeteRecette", 1, 1), ("Bordereau", 1, U)],
    "EnTeteRecette": [("IdVer", 1, 1), ("InfoDematerialisee", 0, 1)],
    "Bordereau": [("BlocBordereau", 1, 1), ("Piece", 1, U)],
    "Piece": [("BlocPiece", 1, 1), ("LigneDePiece", 1, U)],
    "LigneDePiece": [("BlocLignePiece", 1, 1), ("Tiers", 0, U), ("Recouvrement", 0, U)],
    "Tiers": [("InfoTiers", 1, 1), ("Adresse", 1, 1), ("CpteBancaire", 0, 1)],
    # NS_Recette/r0/Class_BordereauRecetteAller.xsd
    "BlocBordereau": [("Exer", 1, 1), ("IdBord", 1, 1), ("DteBordEm", 1, 1), ("TypBord", 1, 1), ("NbrPce", 1, 1),
                      ("MtCumulAnnuel", 0, 1), ("MtBordHt", 1, 1), ("MtBordTVA", 0, 1), ("DteAsp", 0, 1),
                      ("Objet", 0, 1)],
    # NS_Recette/r0/Class_TitreAller.xsd
    "BlocPiece": [("CodServ", 0, 1), ("Affect", 0, 1), ("IdPce", 1, 1), ("TypPce", 1, 1), ("NatPce", 1, 1),
                  ("IdRol", 0, 1), ("DteAsp", 0, 1), ("Edition", 0, 1), ("ObjPce", 0, 1), ("DebFact", 0, 1),
                  ("FinFact", 0, 1), ("NumDette", 0, 1), ("Per", 0, 1), ("Cle1", 0, 1), ("Cle2", 0, 1),
                  ("PJRef", 0, U), ("NumeroFacture", 0, 1), ("NumeroMarche", 0, 1), ("NumeroEngagement", 0, 1),
                  ("CodeService", 0, 1), ("NomService", 0, 1)],
    # Class_PJReference.xsd
    "PJRef": [("Support", 1, 1), ("IdUnique", 1, 1), ("NomPJ", 0, 1), ("TypePJ", 0, 1)],
    # NS_Recette/r0/Class_LigneTitreAller.xsd (InfoPrelevement / InfoPrelevementSEPA are a choice)
    "BlocLignePiece": [("InfoLignePiece", 1, 1), ("InfoPrelevementSEPA", 0, 1), ("InfoAssure", 0, 1),
                       ("RattachPiece", 0, 1), ("LiensIdent", 0, 1)],
    "InfoLignePiece": [("IdLigne", 1, 1), ("ObjLignePce", 0, 1), ("CodProdLoc", 1, 1), ("FinGeo", 0, 1),
                       ("CodEtGeo", 0, 1), ("Nature", 1, 1), ("Fonction", 0, 1), ("Operation", 0, 1),
                       ("TxTva", 0, 1), ("Majo", 1, 1), ("DteMajo", 0, 1), ("TxMajo", 0, 1), ("CpteTiers", 0, 1),
                       ("TvaIntraCom", 1, 1), ("MtHT", 1, 1), ("MtTVA", 0, 1), ("MtNonMajo", 0, 1),
                       ("InfoCollBen", 0, 1), ("PJRef", 0, U)],
    # NS_Recette/r0/Class_TiersRecette.xsd
    "InfoTiers": [("IdTiers", 0, 1), ("DteNaissance", 0, 1), ("NatIdTiers", 0, 1), ("DteIdTiers", 0, 1),
                  ("RefTiers", 0, 1), ("CatTiers", 1, 1), ("NatJur", 1, 1), ("TypTiers", 1, 1), ("Civilite", 0, 1),
                  ("Nom", 1, 1), ("ComplNom", 0, 1), ("Prenom", 0, 1), ("LieuNaissance", 0, 1)],
    # Class_Adresse.xsd (under Tiers)
    "Tiers/Adresse": [("TypAdr", 1, 1), ("Adr1", 0, 1), ("Adr2", 1, 1), ("Adr3", 0, 1), ("CP", 1, 1),
                      ("Ville", 1, 1), ("CodRes", 1, 1), ("CodPays", 0, 1), ("DteAdr", 0, 1)],
    # Class_PJ.xsd
    "PES_PJ": [("EnTetePES_PJ", 1, 1), ("PJ", 0, U)],
    "EnTetePES_PJ": [("IdVer", 1, 1)],
    "PJ": [("Contenu", 1, 1), ("IdUnique", 1, 1), ("ServeurId", 0, 1), ("NomPJ", 1, 1), ("TypePJ", 0, 1),
           ("Description", 1, 1), ("RefCompta", 0, U)],
    "Contenu": [("Fichier", 1, 1)],
}
# Simple values: element -> pattern of its V attribute (types of the same files; enumerations of CommunPES.xsd,
# CommunRecette.xsd; lengths of the Base_TexteNN types).
VALUES = {
    "Version": r"2", "TypFic": r"PESORMC", "IdVer": r"[12]", "InfoDematerialisee": r"0",
    "DteStr": r"\d{4}-\d{2}-\d{2}", "DteBordEm": r"\d{4}-\d{2}-\d{2}",
    "IdPost": r"\d{6,7}|02[AB]\d{3,4}", "IdColl": r"\d{14}", "CodCol": r"[0-9A-Z]{3}", "CodBud": r"[0-9A-Z]{2}",
    "Exer": r"\d{4}", "IdBord": r"[1-9]\d{0,6}", "TypBord": r"06", "NbrPce": r"[1-9]\d{0,4}",
    "MtBordHt": r"\d+\.\d{2}", "MtHT": r"\d+\.\d{2}", "Objet": r".{1,160}",
    "IdPce": r"[1-9]\d{0,7}", "TypPce": r"15", "NatPce": r"01", "Edition": r"06", "ObjPce": r".{1,160}",
    "NumDette": r"\d{1,15}", "Support": r"01", "TypePJ": r"010", "IdUnique": r"[0-9A-Za-z]{1,50}",
    "NumeroFacture": r"[0-9A-Za-z \-+_/]{1,20}", "IdLigne": r"[1-9]\d{0,5}", "CodProdLoc": r"[0-9A-Za-z]{1,4}",
    "Nature": r"\d{1,12}", "Majo": r"0", "TvaIntraCom": r"0",
    "RefTiers": r".{1,30}", "CatTiers": r"01", "NatJur": r"01", "TypTiers": r"01", "Civilite": r"Mr|Mme",
    "Nom": r".{1,38}", "Prenom": r".{1,38}", "TypAdr": r"1", "Adr2": r".{1,38}", "CP": r"\d{5}",
    "Ville": r".{1,38}", "CodRes": r"0", "NomPJ": r"[0-9A-Za-z._-]+\.[A-Za-z]{1,4}", "Description": r".{1,250}",
}
NS_ALLER = "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller"
ISSUED = date(2026, 4, 2)
APRIL = (date(2026, 4, 1), date(2026, 4, 30))


def check_structure(element: etree._Element, path: str = "") -> None:
    """Every element against SPEC (order and cardinalities) and VALUES (its V attribute)."""
    name = etree.QName(element).localname
    key = f"{path.rsplit('/', 1)[-1]}/{name}" if f"{path.rsplit('/', 1)[-1]}/{name}" in SPEC else name
    here = f"{path}/{name}"
    children = [etree.QName(c).localname for c in element if isinstance(c.tag, str)]
    if key in SPEC:
        assert element.get("V") is None, here
        position = 0
        for child, low, high in SPEC[key]:
            count = 0
            while position < len(children) and children[position] == child:
                position += 1
                count += 1
            assert count >= low and (high is None or count <= high), f"{here}/{child}: {count} occurrence(s)"
        assert position == len(children), f"{here}: unexpected or misplaced <{children[position]}>"
        for c in element:
            if isinstance(c.tag, str):
                assert etree.QName(c).namespace is None, f"{here}: children are unqualified"
                check_structure(c, here)
    elif name == "Fichier":
        assert element.get("MIMEType") == "application/pdf" and element.text
    else:
        assert children == [], f"{here} is a simple element"
        value = element.get("V")
        assert value is not None, f"{here} carries its value in V"
        if name in VALUES:
            assert re.fullmatch(VALUES[name], value), f"{here} = {value!r}"


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


async def _family(email: str, name: str, *, civility: str = "Mme", postal_code: str = "33360") -> Household:
    _, household, _ = await make_family(email, name=name, children=1)
    await Responsable.filter(household_id=household.id).update(civility=civility)
    await Household.filter(id=household.id).update(postal_code=postal_code)
    return household


async def _bill(lines_plugin, households: list[Household], *, key: str = "a", issued_on: date = ISSUED) -> None:
    for h in households:
        lines_plugin.add(h.id, f"{key}:alsh:{h.id}", "Journée ALSH avec repas", "3", 1250)
        lines_plugin.add(h.id, f"{key}:repas:{h.id}", "Repas périscolaire", "4", 345, service="scolaire_latresne")
        lines_plugin.add(h.id, f"{key}:stc:{h.id}", "Crèche", "10", 200, regie="st_caprais",
                         service="creche_petit_a_petit")
    await run_billing(BillingPeriod(date(2026, 3, 1), date(2026, 3, 31)), issued_on=issued_on)


async def _xml(export: PesExport) -> etree._Element:
    from core.billing.service import pes_export_content

    content = await pes_export_content(export)
    assert content.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
    return etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))


def V(root: etree._Element, path: str) -> list[str]:
    return [e.get("V") for e in root.iterfind(path)]


async def test_export_follows_the_documented_structure_with_amounts_debtors_and_pdfs(lines_plugin):
    a = await _family("a@example.org", "ARNAUD")
    b = await _family("b@example.org", "BERNARD", civility="M.")
    await _bill(lines_plugin, [a, b])
    export = await export_pes(None, "cdc", *APRIL)

    root = await _xml(export)
    assert etree.QName(root).namespace == NS_ALLER and etree.QName(root).localname == "PES_Aller"
    check_structure(root)
    assert V(root, "EnTetePES/IdPost") == ["033045"] and V(root, "EnTetePES/IdColl") == ["20006906100014"]
    assert V(root, "EnTetePES/CodCol") == ["A12"] and V(root, "EnTetePES/CodBud") == ["01"]
    bloc = "PES_RecetteAller/Bordereau/BlocBordereau"
    assert V(root, f"{bloc}/Exer") == ["2026"] and V(root, f"{bloc}/IdBord") == ["1"]
    assert V(root, f"{bloc}/NbrPce") == ["2"]
    pieces = root.findall("PES_RecetteAller/Bordereau/Piece")
    assert len(pieces) == 2
    line_sum = sum(cents(v) for v in V(root, ".//LigneDePiece/BlocLignePiece/InfoLignePiece/MtHT"))
    invoices = await Invoice.filter(regie_code="cdc").order_by("id")
    assert cents(V(root, f"{bloc}/MtBordHt")[0]) == line_sum == sum(i.total_cents for i in invoices) == 2 * (3750 + 1380)
    assert export.total_cents == line_sum and export.invoices_count == 2 and export.bordereau_number == 1

    first = pieces[0]
    assert V(first, "BlocPiece/NumeroFacture") == [invoices[0].number]
    assert V(first, "BlocPiece/NumDette") == [str(invoices[0].id)]
    # one line per product code: ALSH for the alsh service, the régie's default for the others
    assert V(first, "LigneDePiece/BlocLignePiece/InfoLignePiece/CodProdLoc") == ["ALSH", "EJ"]
    assert V(first, "LigneDePiece/BlocLignePiece/InfoLignePiece/MtHT") == ["37.50", "13.80"]
    assert set(V(first, "LigneDePiece/BlocLignePiece/InfoLignePiece/Nature")) == {"7066"}
    assert V(first, "LigneDePiece/Tiers/InfoTiers/Nom") == ["ARNAUD", "ARNAUD"]
    assert V(first, "LigneDePiece/Tiers/InfoTiers/Civilite") == ["Mme", "Mme"]
    assert V(first, "LigneDePiece/Tiers/Adresse/Adr2")[0] == "1 rue de la Paix"
    assert V(first, "LigneDePiece/Tiers/Adresse/CP")[0] == "33360"
    assert V(first, "LigneDePiece/Tiers/Adresse/Ville")[0] == "LATRESNE"
    assert V(pieces[1], "LigneDePiece/Tiers/InfoTiers/Civilite")[0] == "Mr"

    # each pièce references its PJ, which is the invoice's PDF (gzip then base64, Class_PJ.xsd)
    pjs = root.findall("PES_PJ/PJ")
    assert [V(p, "BlocPiece/PJRef/IdUnique")[0] for p in pieces] == [pj.find("IdUnique").get("V") for pj in pjs]
    for pj, invoice in zip(pjs, invoices, strict=True):
        pdf = gzip.decompress(base64.b64decode(pj.find("Contenu/Fichier").text))
        assert pdf.startswith(b"%PDF")
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        assert invoice.number in text
    # the st_caprais invoices are not in the cdc export
    assert await PesExportInvoice.filter(export_id=export.id).count() == 2


async def test_each_invoice_is_exported_once(lines_plugin):
    a = await _family("a@example.org", "ARNAUD")
    await _bill(lines_plugin, [a])
    first = await export_pes(None, "cdc", *APRIL)
    b = await _family("b@example.org", "BERNARD")
    await _bill(lines_plugin, [b], key="b", issued_on=date(2026, 4, 20))

    second = await export_pes(None, "cdc", *APRIL)
    assert (first.bordereau_number, second.bordereau_number) == (1, 2)
    assert second.invoices_count == 1
    root = await _xml(second)
    check_structure(root)
    assert V(root, ".//Piece/LigneDePiece/Tiers/InfoTiers/Nom")[0] == "BERNARD"
    assert V(root, "PES_RecetteAller/Bordereau/BlocBordereau/IdBord") == ["2"]

    with pytest.raises(PortailError) as exc:
        await export_pes(None, "cdc", *APRIL)
    assert exc.value.code == "PES_ALREADY_EXPORTED"
    assert await PesExport.all().count() == 2 and await PesExportInvoice.all().count() == 2


async def test_incomplete_debtor_is_left_out_and_listed(lines_plugin):
    good = await _family("a@example.org", "ARNAUD")
    bad = await _family("b@example.org", "BERNARD", civility="", postal_code="")
    await _bill(lines_plugin, [good, bad])
    export = await export_pes(None, "cdc", *APRIL)
    assert export.invoices_count == 1
    bad_invoice = await Invoice.get(household_id=bad.id, regie_code="cdc")
    assert export.left_out == [{"invoice_id": bad_invoice.id, "number": bad_invoice.number,
                                "reason": "civilité du responsable manquante (M. ou Mme)"}]
    with pytest.raises(PortailError) as exc:  # only the incomplete one is left: nothing to hand over
        await export_pes(None, "cdc", *APRIL)
    assert exc.value.code == "PES_NOTHING_TO_EXPORT" and bad_invoice.number in exc.value.message
    # fixed, it goes with the next bordereau
    await Responsable.filter(household_id=bad.id).update(civility="M.")
    await Household.filter(id=bad.id).update(postal_code="33360")
    later = await export_pes(None, "cdc", *APRIL)
    assert later.invoices_count == 1 and later.bordereau_number == 2


async def test_credit_note_before_export_changes_the_titre(lines_plugin):
    a = await _family("a@example.org", "ARNAUD")
    b = await _family("b@example.org", "BERNARD")
    await _bill(lines_plugin, [a, b])
    admin = Actor.for_user(await make_staff("admin@example.org", role="admin"))
    inv_a = await Invoice.get(household_id=a.id, regie_code="cdc")
    inv_b = await Invoice.get(household_id=b.id, regie_code="cdc")
    await issue_credit_note(admin, inv_a.id, "Erreur de saisie", amount_cents=inv_a.total_cents)  # nothing left
    await issue_credit_note(admin, inv_b.id, "Geste", amount_cents=1000)
    export = await export_pes(None, "cdc", *APRIL)
    root = await _xml(export)
    check_structure(root)
    assert export.invoices_count == 1
    assert V(root, ".//InfoLignePiece/MtHT") == [f"{(inv_b.total_cents - 1000) / 100:.2f}"]


QUERY_BUILD = """mutation($r: String!, $s: Date!, $e: Date!) {
  buildPesExport(regieCode: $r, start: $s, end: $e) {
    id regieCode exercice bordereauNumber invoicesCount totalCents fileName downloadUrl leftOut { number reason }
  }
}"""
QUERY_LIST = """query($r: String) { pesExports(regieCode: $r, limit: 10) { total hasMore items { id bordereauNumber } } }"""


async def test_staff_build_list_and_download_through_the_api(lines_plugin, gql, http):
    a = await _family("a@example.org", "ARNAUD")
    await _bill(lines_plugin, [a])
    agent = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))
    other = await gql.as_user(await make_staff("creche@example.org", services=["creche_petit_a_petit"]))
    family = await gql.as_user(await User.get(household_id=a.id))
    args = {"r": "cdc", "s": "2026-04-01", "e": "2026-04-30"}

    assert (await other.error(QUERY_BUILD, **args))["extensions"]["code"] == "FORBIDDEN"
    assert (await family.error(QUERY_BUILD, **args))["extensions"]["code"] == "FORBIDDEN"
    assert await PesExport.all().count() == 0

    built = (await agent.ok(QUERY_BUILD, **args))["buildPesExport"]
    assert built["bordereauNumber"] == 1 and built["invoicesCount"] == 1 and built["leftOut"] == []
    assert built["downloadUrl"] == f"/files/pes_export/{built['id']}"

    response = await http.get(built["downloadUrl"], headers={"Authorization": f"Bearer {agent.token}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    assert built["fileName"] in response.headers["content-disposition"]
    root = etree.fromstring(response.content, etree.XMLParser(resolve_entities=False, no_network=True))
    check_structure(root)
    assert cents(V(root, ".//BlocBordereau/MtBordHt")[0]) == built["totalCents"]
    refused = await http.get(built["downloadUrl"], headers={"Authorization": f"Bearer {other.token}"})
    assert refused.status_code == 404
    assert (await http.get(built["downloadUrl"], headers={"Authorization": f"Bearer {family.token}"})).status_code == 404

    listed = (await agent.ok(QUERY_LIST, r="cdc"))["pesExports"]
    assert listed["total"] == 1 and listed["items"][0]["id"] == built["id"] and listed["hasMore"] is False
    assert (await other.ok(QUERY_LIST, r=None))["pesExports"]["total"] == 0  # not their régie
    assert (await family.error(QUERY_LIST, r=None))["extensions"]["code"] == "FORBIDDEN"

    again = await agent.error(QUERY_BUILD, **args)
    assert again["extensions"]["code"] == "PES_ALREADY_EXPORTED"


async def test_refusals_named_by_code(lines_plugin, gql):
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    not_configured = await admin.error(QUERY_BUILD, r="st_caprais", s="2026-04-01", e="2026-04-30")
    assert not_configured["extensions"]["code"] == "PES_NOT_CONFIGURED"
    assert "[regies.pes]" in not_configured["message"]
    two_years = await admin.error(QUERY_BUILD, r="cdc", s="2025-12-01", e="2026-01-31")
    assert two_years["extensions"]["code"] == "INVALID_PERIOD"
    unknown = await admin.error(QUERY_BUILD, r="nope", s="2026-04-01", e="2026-04-30")
    assert unknown["extensions"]["code"] == "NOT_FOUND"
    empty = await admin.error(QUERY_BUILD, r="cdc", s="2026-04-01", e="2026-04-30")
    assert empty["extensions"]["code"] == "PES_NOTHING_TO_EXPORT"


def test_partial_pes_table_is_a_config_error_at_start_up(tmp_path):
    demo = (Path(__file__).parents[2] / "core" / "demo.toml").read_text(encoding="utf-8")
    broken = tmp_path / "portail.toml"
    broken.write_text(demo.replace('id_post = "033045"', "", 1).replace('cod_bud = "01"', 'cod_bud = "1"', 1),
                      encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings(broken, environ={})
    text = str(exc.value)
    assert "id_post" in text and "cod_bud" in text


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="needs PostgreSQL (DATABASE_URL=postgres://…)")
async def test_two_exports_at_once_hand_each_invoice_over_once(lines_plugin):
    households = [await _family(f"f{i}@example.org", f"F{i}") for i in range(6)]
    await _bill(lines_plugin, households)

    async def attempt() -> PesExport | str:
        try:
            return await export_pes(None, "cdc", *APRIL)
        except PortailError as exc:
            return exc.code

    results = await asyncio.gather(attempt(), attempt(), attempt())
    exports = [r for r in results if isinstance(r, PesExport)]
    assert len(exports) == 1 and sorted(r for r in results if isinstance(r, str)) == ["PES_ALREADY_EXPORTED"] * 2
    assert exports[0].invoices_count == 6 and await PesExportInvoice.all().count() == 6


def test_cli_writes_the_file(tmp_path):
    """`portail billing pes` as an operator runs it, on a database of its own."""
    from tests.test_server_and_migrations import PORTAIL, _env

    env = _env(tmp_path)
    migrate = subprocess.run([PORTAIL, "db", "migrate"], env=env, capture_output=True, text=True, timeout=240)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    seed = textwrap.dedent("""
        from datetime import date
        from core.cli import run_with_db

        async def seed():
            from core.billing.models import Invoice, InvoiceLine
            from core.households.models import Household, Responsable
            h = await Household.create(name="CLI", address_line1="4 rue du Port", postal_code="33360", city="LATRESNE")
            await Responsable.create(household=h, rank=1, civility="Mme", first_name="Anne", last_name="CLI")
            inv = await Invoice.create(number="CDC-2026-00001", regie_code="cdc", household=h, issued_on=date(2026, 4, 2),
                                       period_start=date(2026, 3, 1), period_end=date(2026, 3, 31), total_cents=4250)
            await InvoiceLine.create(invoice=inv, regie_code="cdc", designation="Journée ALSH", quantity="1",
                                     unit_price_cents=4250, amount_cents=4250, service_code="alsh")

        run_with_db(seed)
    """)
    import sys

    done = subprocess.run([sys.executable, "-c", seed], env=env, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "bordereau.xml"
    args = [PORTAIL, "billing", "pes", "--regie", "cdc", "--start", "2026-04-01", "--end", "2026-04-30"]
    run = subprocess.run([*args, "--output", str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:] + run.stdout
    assert "1 facture(s)" in run.stdout and "42,50" in run.stdout
    root = etree.fromstring(out.read_bytes(), etree.XMLParser(resolve_entities=False, no_network=True))
    check_structure(root)
    assert V(root, ".//InfoLignePiece/CodProdLoc") == ["ALSH"] and V(root, ".//InfoLignePiece/MtHT") == ["42.50"]
    again = subprocess.run([*args, "--output", str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "PES_ALREADY_EXPORTED" in again.stdout


async def test_accounting_purge_takes_the_exports_with_their_invoices(lines_plugin):
    """Past the accounting retention, the invoices go and so do the exports that carried them (and,
    as orphans, their files: the XML holds the debtors' names and PDFs)."""
    from core.files.models import StoredFile
    from core.rgpd.service import run_retention

    a = await _family("a@example.org", "ARNAUD")
    await _bill(lines_plugin, [a])
    export = await export_pes(None, "cdc", *APRIL)
    assert await StoredFile.exists(id=export.file_id)
    done = await run_retention(date(2040, 1, 2), dry_run=False)
    assert done["core.invoices"] >= 2
    assert not await Invoice.exists(household_id=a.id)
    assert await PesExport.all().count() == 0 and await PesExportInvoice.all().count() == 0
    assert not await StoredFile.exists(id=export.file_id)
