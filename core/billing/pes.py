"""PES V2 Recette « ORMC » (ordre de recette multi-créanciers): the XML file a régie hands to the
comptable public through Hélios. Pure: data in, XML bytes out (like plugins/prelevement/pain008.py).

Structure, element order and cardinalities follow the DGFiP PES V2 schemas (release 5.11) as vendored
by megalis-bretagne/parapheur-v5 under `src/test/resources/xsd/schemas_pes_v5.11/PES_V2/`:
`Rev0/PES_Aller.xsd` (root), `Class_EntetePES.xsd` (EnTetePES), `NS_Recette/r0/PES_RecetteAller.xsd`
(EnTeteRecette, Bordereau, Piece, LigneDePiece, Tiers), `NS_Recette/r0/Class_BordereauRecetteAller.xsd`
(BlocBordereau), `NS_Recette/r0/Class_TitreAller.xsd` (BlocPiece), `NS_Recette/r0/Class_LigneTitreAller.xsd`
(InfoLignePiece), `NS_Recette/r0/Class_TiersRecette.xsd` (InfoTiers), `Class_Adresse.xsd` (Adresse),
`Class_PJ.xsd` and `Class_PJReference.xsd` (PES_PJ, PJRef), `CommunPES.xsd` (code lists). That copy
lacks files the schema imports (Class_SchemasCommuns.xsd, Class_Signature.xsd…), so the file is checked
field by field against those definitions (tests/billing/test_pes.py), not validated by an XSD
processor. The Enveloppe block (not in those files) and the ORMC triplet TypBord 06 / TypPce 15 /
NatPce 01 follow Noethys (GPL, `Utils/UTILS_Pes.py`, « Bordereau PES Recette ORMC »).
"""

from __future__ import annotations

import base64
import gzip
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from lxml import etree

from core.households.rules import PostalAddress

NS_ALLER = "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller"
NS_RECETTE = "http://www.minefi.gouv.fr/cp/helios/pes_v2/recette/r0/aller"
NS_COMMUN = "http://www.minefi.gouv.fr/cp/helios/pes_v2/commun"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"

TYP_BORD_ORMC = "06"  # TTypBordAller: bordereau ORMC (Class_BordereauRecetteAller.xsd)
TYP_PCE_ORMC = "15"  # TTypPce: titre ORMC (Class_TitreAller.xsd)
NAT_PCE_ORDINAIRE = "01"  # TNatPce: ordinaire (triplet 06 / 15 / 01)
EDITION_ASAP_ORMC_HORS_CPP = "06"  # BlocPiece/Edition 06: « ASAP ORMC hors CPP », needs a PJRef
TYPE_PJ_FACTURE_ASAP_ORMC = "010"  # TPJ 010: « Facture ASAP ORMC hors CPP » (CommunPES.xsd)
CAT_TIERS_PERSONNE_PHYSIQUE = "01"  # TCatTiers
NAT_JUR_PARTICULIER = "01"  # TNatJur
TYP_TIERS_DEBITEUR = "01"  # TTypTiersRecette: débiteur principal
# Civilite (Base_Texte10): « Mr, Mme… »; « Mademoiselle » is refused by Hélios (Class_TiersRecette.xsd).
CIVILITIES = {"m": "Mr", "m.": "Mr", "mr": "Mr", "mr.": "Mr", "monsieur": "Mr", "mme": "Mme", "mme.": "Mme",
              "madame": "Mme", "mlle": "Mme", "melle": "Mme", "mademoiselle": "Mme"}


@dataclass(frozen=True)
class PesHeader:
    """EnTetePES and Enveloppe: who sends, for which poste comptable and budget."""

    file_name: str  # Enveloppe/Parametres/NomFic
    emitter: str  # Enveloppe/Emetteur/Sigle (the community)
    emitter_address: str  # Enveloppe/Emetteur/Adresse
    created_on: date  # EnTetePES/DteStr
    id_post: str
    id_coll: str
    cod_col: str
    cod_bud: str
    libelle_col_bud: str = ""


@dataclass(frozen=True)
class PesDebtor:
    """The tiers of a titre: the household's first responsable, at the household's address."""

    reference: str  # InfoTiers/RefTiers: the household id, groups the debts of one debtor
    civility: str
    last_name: str
    first_name: str
    address: PostalAddress


@dataclass(frozen=True)
class PesLine:
    """One LigneDePiece (sous-article de rôle): a product code and its amount."""

    label: str
    product_code: str
    nature: str
    fonction: str
    amount_cents: int


@dataclass(frozen=True)
class PesAttachment:
    """The invoice PDF (the avis des sommes à payer), carried in PES_PJ and referenced by PJRef."""

    id_unique: str
    file_name: str
    description: str
    content: bytes


@dataclass(frozen=True)
class PesPiece:
    """One titre (article de rôle) = one invoice of one household."""

    id_pce: int  # article number in the bordereau, 1…n
    debt_number: int  # NumDette (Base_Num15): the invoice's database id
    invoice_number: str  # NumeroFacture
    label: str  # ObjPce
    debtor: PesDebtor
    lines: tuple[PesLine, ...]
    attachment: PesAttachment

    @property
    def amount_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


@dataclass(frozen=True)
class PesBordereau:
    exercice: int  # Exer
    number: int  # IdBord: per régie budget and exercice, sequential (the rôle number in Hélios)
    issued_on: date  # DteBordEm
    label: str  # Objet
    pieces: tuple[PesPiece, ...] = field(default_factory=tuple)

    @property
    def amount_cents(self) -> int:
        return sum(p.amount_cents for p in self.pieces)


class PesDataError(ValueError):
    """The data cannot make a valid PES file (a bug of the caller: the service checks first)."""


# ---- formats ---------------------------------------------------------------------------------------
def amount_text(cents: int) -> str:
    """Base_Montant: a decimal with a dot and two decimals (1234 -> "12.34")."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


_INVOICE_NUMBER_KEEP = re.compile(r"[^0-9A-Za-z \-+_/]")


def invoice_number_text(number: str) -> str:
    """NumeroFacture (Base_NumFactureCPP20): letters, digits and « -+_/ » and space, 20 characters."""
    return _INVOICE_NUMBER_KEEP.sub("-", number)[:20]


def text(value: str, length: int) -> str:
    """A free text element: one line, spaces collapsed, cut to the schema's length."""
    return " ".join((value or "").split())[:length]


def ascii_name(value: str) -> str:
    """A file name for NomPJ / NomFic: ASCII letters, digits, « ._- »."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^0-9A-Za-z._-]+", "_", folded).strip("_") or "fichier"


def civility(value: str) -> str:
    return CIVILITIES.get((value or "").strip().lower(), "")


def debtor_problem(debtor: PesDebtor) -> str:
    """Why Hélios would reject this tiers, in French, or "" when it is complete (Class_TiersRecette.xsd,
    Class_Adresse.xsd: Civilite and Prenom required for a personne physique; Adr2, a 5-digit CP and
    Ville required; a non-resident needs an INSEE country code, which the portal does not hold)."""
    a = debtor.address
    if not civility(debtor.civility):
        return "civilité du responsable manquante (M. ou Mme)"
    if not debtor.last_name.strip() or not debtor.first_name.strip():
        return "nom ou prénom du responsable manquant"
    if a.country != "FR":
        return "adresse hors de France (code pays INSEE non géré)"
    if not (a.street_name or a.building_number).strip():
        return "adresse sans voie"
    if not re.fullmatch(r"\d{5}", a.postal_code or ""):
        return "code postal absent ou invalide"
    if not a.town.strip():
        return "commune absente"
    return ""


def pj_content(pdf: bytes) -> str:
    """PES_PJ/PJ/Contenu/Fichier: « compressé avec Gzip puis converti en base 64 » (Class_PJ.xsd).
    mtime=0 keeps the bytes reproducible."""
    return base64.b64encode(gzip.compress(pdf, mtime=0)).decode("ascii")


# ---- the document ----------------------------------------------------------------------------------
def _v(parent: etree._Element, tag: str, value: str | int) -> etree._Element:
    """PES elements carry their value in the V attribute: `<IdVer V="2"/>`."""
    el = etree.SubElement(parent, tag)
    el.set("V", str(value))
    return el


def _check(bordereau: PesBordereau) -> None:
    if not bordereau.pieces:
        raise PesDataError("NbrPce must be >= 1")
    if not 1 <= bordereau.number <= 9_999_999:
        raise PesDataError("IdBord is Base_Num7")
    for piece in bordereau.pieces:
        if not piece.lines:
            raise PesDataError(f"pièce {piece.id_pce} sans ligne")
        if any(line.amount_cents <= 0 for line in piece.lines):
            raise PesDataError(f"pièce {piece.id_pce}: MtHT must be > 0")
        problem = debtor_problem(piece.debtor)
        if problem:
            raise PesDataError(f"pièce {piece.id_pce}: {problem}")


def build_pes(header: PesHeader, bordereau: PesBordereau) -> bytes:
    """The PES_Aller document (ISO-8859-1, as Hélios and Noethys write it)."""
    _check(bordereau)
    root = etree.Element(etree.QName(NS_ALLER, "PES_Aller"),
                         nsmap={"n": NS_ALLER, "xsi": NS_XSI, "reca": NS_RECETTE, "cm": NS_COMMUN})

    enveloppe = etree.SubElement(root, "Enveloppe")
    parametres = etree.SubElement(enveloppe, "Parametres")
    _v(parametres, "Version", 2)
    _v(parametres, "TypFic", "PESORMC")
    _v(parametres, "NomFic", text(header.file_name, 100))
    emetteur = etree.SubElement(enveloppe, "Emetteur")
    _v(emetteur, "Sigle", text(header.emitter, 38))
    _v(emetteur, "Adresse", text(header.emitter_address, 160))

    entete = etree.SubElement(root, "EnTetePES")
    _v(entete, "DteStr", header.created_on.isoformat())
    _v(entete, "IdPost", header.id_post)
    _v(entete, "IdColl", header.id_coll)
    _v(entete, "CodCol", header.cod_col)
    _v(entete, "CodBud", header.cod_bud)
    if header.libelle_col_bud:
        _v(entete, "LibelleColBud", text(header.libelle_col_bud, 38))

    recette = etree.SubElement(root, "PES_RecetteAller")
    entete_recette = etree.SubElement(recette, "EnTeteRecette")
    _v(entete_recette, "IdVer", 2)
    _v(entete_recette, "InfoDematerialisee", 0)  # 1 needs an electronic signature (not done)

    bord = etree.SubElement(recette, "Bordereau")
    bloc = etree.SubElement(bord, "BlocBordereau")
    _v(bloc, "Exer", bordereau.exercice)
    _v(bloc, "IdBord", bordereau.number)
    _v(bloc, "DteBordEm", bordereau.issued_on.isoformat())
    _v(bloc, "TypBord", TYP_BORD_ORMC)
    _v(bloc, "NbrPce", len(bordereau.pieces))
    _v(bloc, "MtBordHt", amount_text(bordereau.amount_cents))
    _v(bloc, "Objet", text(bordereau.label, 160))

    for piece in bordereau.pieces:
        pce = etree.SubElement(bord, "Piece")
        bp = etree.SubElement(pce, "BlocPiece")
        _v(bp, "IdPce", piece.id_pce)
        _v(bp, "TypPce", TYP_PCE_ORMC)
        _v(bp, "NatPce", NAT_PCE_ORDINAIRE)
        _v(bp, "Edition", EDITION_ASAP_ORMC_HORS_CPP)
        _v(bp, "ObjPce", text(piece.label, 160))
        _v(bp, "NumDette", piece.debt_number)
        ref = etree.SubElement(bp, "PJRef")
        _v(ref, "Support", "01")  # électronique: the PJ travels in PES_PJ
        _v(ref, "IdUnique", piece.attachment.id_unique)
        _v(ref, "NomPJ", piece.attachment.file_name)
        _v(ref, "TypePJ", TYPE_PJ_FACTURE_ASAP_ORMC)
        _v(bp, "NumeroFacture", invoice_number_text(piece.invoice_number))
        for index, line in enumerate(piece.lines, start=1):
            lp = etree.SubElement(pce, "LigneDePiece")
            blp = etree.SubElement(lp, "BlocLignePiece")
            info = etree.SubElement(blp, "InfoLignePiece")
            _v(info, "IdLigne", index)
            _v(info, "ObjLignePce", text(line.label, 160))
            _v(info, "CodProdLoc", line.product_code)
            _v(info, "Nature", line.nature)
            if line.fonction:
                _v(info, "Fonction", line.fonction)
            _v(info, "Majo", 0)
            _v(info, "TvaIntraCom", 0)
            _v(info, "MtHT", amount_text(line.amount_cents))
            _tiers(lp, piece.debtor)

    pjs = etree.SubElement(root, "PES_PJ")
    _v(etree.SubElement(pjs, "EnTetePES_PJ"), "IdVer", 1)
    for piece in bordereau.pieces:
        att = piece.attachment
        pj = etree.SubElement(pjs, "PJ")
        fichier = etree.SubElement(etree.SubElement(pj, "Contenu"), "Fichier")
        fichier.set("MIMEType", "application/pdf")
        fichier.text = pj_content(att.content)
        _v(pj, "IdUnique", att.id_unique)
        _v(pj, "NomPJ", att.file_name)
        _v(pj, "TypePJ", TYPE_PJ_FACTURE_ASAP_ORMC)
        _v(pj, "Description", text(att.description, 250))
    return etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1", pretty_print=True)


def _tiers(parent: etree._Element, debtor: PesDebtor) -> None:
    tiers = etree.SubElement(parent, "Tiers")
    info = etree.SubElement(tiers, "InfoTiers")
    _v(info, "RefTiers", text(debtor.reference, 30))
    _v(info, "CatTiers", CAT_TIERS_PERSONNE_PHYSIQUE)
    _v(info, "NatJur", NAT_JUR_PARTICULIER)
    _v(info, "TypTiers", TYP_TIERS_DEBITEUR)
    _v(info, "Civilite", civility(debtor.civility))
    _v(info, "Nom", text(debtor.last_name, 38))
    _v(info, "Prenom", text(debtor.first_name, 38))
    a = debtor.address
    adresse = etree.SubElement(tiers, "Adresse")
    _v(adresse, "TypAdr", 1)  # principale
    _v(adresse, "Adr2", text(f"{a.building_number} {a.street_name}", 38))
    _v(adresse, "CP", a.postal_code)
    _v(adresse, "Ville", text(a.town, 38))
    _v(adresse, "CodRes", 0)  # résident (a non-resident is left out: debtor_problem)
