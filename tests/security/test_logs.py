"""What the log keeps of failed operations: the operation name and the code, never the document, its
literals, its variables or a value quoted in an error message (IBANs, passwords, medical texts)."""

from __future__ import annotations

import json
import logging

import pytest

import core.households.rules as household_rules
from tests.conftest import make_family
from tests.core.test_households import SET_MEDICAL, medical_input

IBAN = "FR7630006000011234567890189"
PASSWORD = "Tr0ub4dor&3-secret"
MEDICAL = "Allergie sévère aux arachides, adrénaline auto-injectable"
SECRETS = (IBAN, "FR76 3000 6000 0112 3456 7890 189", PASSWORD, MEDICAL, "arachides")


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record of every logger at every level, formatted as a handler would write it."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) + repr(r.args) for r in caplog.records)


async def post(http, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200
    return response.json()


async def test_failed_operations_leave_no_secret_in_the_log(gql, http, settings, caplog, monkeypatch):
    user, _, kids = await make_family()
    _, _, foreign_kids = await make_family("autre@example.org", name="MARTIN")
    family = await gql.as_user(user)
    caplog.set_level(logging.DEBUG)
    answers = []
    # Expected errors carrying the secrets as literals and as variables.
    answers.append(await post(http, f'mutation Connexion {{ login(email: "famille@example.org", password: "{PASSWORD}") {{ token }} }}'))
    answers.append(await post(http, 'mutation($pw: String!) { resetPassword(token: "nope", newPassword: $pw) { ok } }',
                              {"pw": PASSWORD}))
    answers.append(await post(http, f'mutation Iban {{ requestPrelevementMandate(input: {{regieCodes: ["cdc"], accountHolder: "X", '
                                    f'iban: "{IBAN[:-1]}8", bic: "", bankName: "", startMonth: "2030-01", information: ""}}) {{ id }} }}',
                              token=family.token))
    # A parse error and a coercion error quote the source or the value in their message.
    answers.append(await post(http, f'mutation Broken {{ requestPrelevementMandate(input: {{iban: "{IBAN}" }}'))
    answers.append(await post(http, "query Bad($n: Int!) { myInvoices(year: $n) { total } }", {"n": MEDICAL}))
    answers.append(await post(http, SET_MEDICAL, {"id": str(foreign_kids[0].id),
                                                  "input": medical_input(settings, antecedents=MEDICAL)}, family.token))
    # An unexpected error whose message holds the medical text.
    def broken(answers_, questions, antecedents):
        raise RuntimeError(f"cannot store {antecedents}")

    monkeypatch.setattr(household_rules, "medical_answers", broken)
    unexpected = await post(http, "mutation SaveMedical" + SET_MEDICAL.removeprefix("mutation"),
                            {"id": str(kids[0].id), "input": medical_input(settings, antecedents=MEDICAL)}, family.token)
    codes = [a["errors"][0]["extensions"]["code"] for a in answers]
    assert codes == ["INVALID_CREDENTIALS", "INVALID_TOKEN", "INVALID_IBAN", "GRAPHQL_VALIDATION_FAILED",
                     "GRAPHQL_VALIDATION_FAILED", "NOT_FOUND"], codes
    assert unexpected["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert MEDICAL not in json.dumps(unexpected, ensure_ascii=False)

    logged = everything_logged(caplog)
    for secret in SECRETS:
        assert secret not in logged, secret
    # Expected errors are not errors in the log; the unexpected one is, with its operation and traceback.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage()[:200] for r in errors]
    message = errors[0].getMessage()
    assert "SaveMedical" in message and "setChildMedical" in message
    assert "RuntimeError" in message and "broken" in message  # where it failed
    assert not any(r.levelno >= logging.WARNING for r in caplog.records if r is not errors[0])
    infos = [r.getMessage() for r in caplog.records if r.name == "portail.graphql" and r.levelno == logging.INFO]
    assert "graphql Connexion: INVALID_CREDENTIALS at login" in infos


async def test_an_unexpected_error_outside_graphql_is_answered_and_logged_without_its_message(caplog):
    """A download or health route that fails: the client gets a JSON 500 with the request id, the log
    gets the place and the exception type, never the message (which echoes the IBAN)."""
    import httpx

    from core.ops.logs import RequestContextMiddleware

    async def failing(scope, receive, send):
        account = IBAN
        int(account)  # ValueError whose message quotes the value

    transport = httpx.ASGITransport(app=RequestContextMiddleware(failing), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://portail.test") as client:
        with caplog.at_level(logging.DEBUG):
            response = await client.get("/files/invoice/12", headers={"X-Request-ID": "abcdef0123456789"})
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "abcdef0123456789"
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    logged = everything_logged(caplog)
    assert "builtins.ValueError" in logged and "test_logs.py" in logged and "/files/invoice/{id}" in logged
    assert IBAN not in logged and "invalid literal" not in logged
