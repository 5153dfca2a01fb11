"""Downloads of files with any name: RFC 6266 Content-Disposition, extension from the sniffed type."""

from __future__ import annotations

from urllib.parse import unquote

from tests.conftest import make_family, make_staff
from tests.core.test_documents import PDF, PNG, upload


async def test_unicode_filename_downloads_with_rfc6266_header(gql):
    user, _, _ = await make_family()
    family = await gql.as_user(user)
    doc = (await upload(family, "justificatif_domicile", PDF, "文件.pdf"))["data"]["uploadDocument"]
    staff = await gql.as_user(await make_staff(services=["creche"], role="admin"))
    for client in (family, staff):
        response = await client.download(doc["downloadUrl"])
        assert response.status_code == 200 and response.content == PDF
        header = response.headers["content-disposition"]
        assert header.isascii()
        assert header.startswith('attachment; filename="fichier.pdf"')
        assert "filename*=UTF-8''" in header
        assert unquote(header.split("filename*=UTF-8''")[1]) == "文件.pdf"


async def test_downloaded_extension_follows_the_sniffed_type(gql):
    user, _, kids = await make_family()
    family = await gql.as_user(user)
    doc = (await upload(family, "justificatif_domicile", PDF, "x.html", mime="text/html"))["data"]["uploadDocument"]
    response = await family.download(doc["downloadUrl"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="x.pdf"'
    png = (await upload(family, "carnet_sante", PNG, "Élève été.jpeg", child=kids[0].id,
                        mime="image/jpeg"))["data"]["uploadDocument"]
    header = (await family.download(png["downloadUrl"] + "?inline=1")).headers["content-disposition"]
    assert header.startswith('inline; filename="Eleve ete.png"')
    assert unquote(header.split("filename*=UTF-8''")[1]) == "Élève été.png"
