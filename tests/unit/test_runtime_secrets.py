"""No public secret: a service refuses to start without its secrets outside development mode,
installations generate their own, and token lifetimes are capped (issue 14, items 8 and 12)."""

from __future__ import annotations

import stat
import time

import jwt
import pytest
from pydantic import Field, SecretStr
from typer.testing import CliRunner

from pathways_cli import stack
from pathways_cli.main import app as cli
from pathways_runtime.auth import ISSUER, Role, issue_token, verify_token
from pathways_runtime.service import Service
from pathways_runtime.settings import MissingSecrets, Settings, installation_secret
from pathways_runtime.testing import isolated_settings

pytestmark = pytest.mark.unit
SECRET = "unit-test-secret-of-at-least-32-bytes!"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    isolated_settings(monkeypatch, tmp_path, "PATHWAYS_JWT_SECRET", "PATHWAYS_DEV_MODE", "PATHWAYS_FIELD_KEY",
                      "PATHWAYS_TOKEN_MAX_TTL_SECONDS")


def _service(settings: Settings) -> Service:
    return Service("probe", schema="probe", migrations=None, description="", settings=settings)


def test_no_secret_has_a_default():
    assert Settings(_env_file=None).jwt_secret is None


def test_outside_development_mode_a_service_without_a_jwt_secret_does_not_start():
    with pytest.raises(MissingSecrets, match="PATHWAYS_JWT_SECRET"):
        _service(Settings(_env_file=None)).app()


def test_a_service_names_every_secret_it_needs():
    class ReferralLike(Settings):
        required_secrets = Settings.required_secrets + ("field_key",)
        field_key: SecretStr | None = Field(None, validation_alias="PATHWAYS_FIELD_KEY")

    with pytest.raises(MissingSecrets, match="PATHWAYS_FIELD_KEY") as refused:
        ReferralLike(_env_file=None, PATHWAYS_JWT_SECRET=SECRET).check_secrets()
    assert "PATHWAYS_JWT_SECRET" not in str(refused.value)
    ReferralLike(_env_file=None, PATHWAYS_JWT_SECRET=SECRET, PATHWAYS_FIELD_KEY="k:AAAA").check_secrets()


def test_the_referral_service_does_not_start_without_its_field_key_outside_development_mode():
    from pathways_referral.bootstrap import bootstrap
    from pathways_referral.settings import ReferralSettings

    with pytest.raises(MissingSecrets, match="PATHWAYS_FIELD_KEY"):
        bootstrap(ReferralSettings(_env_file=None, PATHWAYS_JWT_SECRET=SECRET)).app()


def test_a_short_jwt_secret_is_refused_outside_development_mode():
    with pytest.raises(MissingSecrets, match="shorter"):
        Settings(_env_file=None, PATHWAYS_JWT_SECRET="short").check_secrets()


def test_with_a_secret_the_service_starts_and_checks_tokens_with_it():
    from fastapi.testclient import TestClient

    client = TestClient(_service(Settings(_env_file=None, PATHWAYS_JWT_SECRET=SECRET)).app())
    token = issue_token(SECRET, subject="s", role=Role.OPS, org="ops")
    # /asyncapi.json is public; a protected unknown path answers 404 with a good token, 401 with a forged one.
    assert client.get("/nothing-here", headers={"Authorization": f"Bearer {token}"}).status_code == 404
    forged = issue_token("pathways-development-secret-change-me", subject="s", role=Role.OPS, org="ops")
    assert client.get("/nothing-here", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_development_mode_uses_a_generated_installation_secret_and_says_so(tmp_path, capsys):
    settings = Settings(_env_file=None, PATHWAYS_DEV_MODE=True)
    _service(settings).app()  # its log goes to stdout, as JSON lines
    assert "DEVELOPMENT MODE" in capsys.readouterr().out
    secret_file = settings.state_dir / "jwt.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert settings.signing_secret() == secret_file.read_text().strip()
    assert len(settings.signing_secret()) >= 32


def test_an_installation_secret_is_generated_once_private_and_reused(tmp_path):
    first = installation_secret(tmp_path / "a", "jwt.secret")
    assert installation_secret(tmp_path / "a", "jwt.secret") == first
    assert installation_secret(tmp_path / "b", "jwt.secret") != first  # each installation its own
    (tmp_path / "a" / "jwt.secret").chmod(0o644)
    installation_secret(tmp_path / "a", "jwt.secret")
    assert stat.S_IMODE((tmp_path / "a" / "jwt.secret").stat().st_mode) == 0o600


def test_pathways_run_hands_the_services_generated_secrets_that_survive_a_restart(tmp_path):
    settings = Settings(_env_file=None)
    given = stack.service_secrets(settings, environ={})
    assert given == stack.service_secrets(settings, environ={})
    key_id, _, key = given["PATHWAYS_FIELD_KEY"].rpartition(":")
    assert key_id.startswith("local-") and len(__import__("base64").b64decode(key)) == 32
    assert given["PATHWAYS_JWT_SECRET"] == stack.signing_secret(settings)
    for name in ("jwt.secret", "field.key"):
        assert stat.S_IMODE((settings.state_dir / name).stat().st_mode) == 0o600
    # The operator's own values win.
    assert stack.service_secrets(settings, environ={"PATHWAYS_FIELD_KEY": "mine"})["PATHWAYS_FIELD_KEY"] == "mine"


def _claims_token(lifetime: int, *, iat_offset: int = 0) -> str:
    now = int(time.time()) + iat_offset
    return jwt.encode({"iss": ISSUER, "sub": "s", "role": "ops", "org": "ops", "iat": now, "exp": now + lifetime},
                      SECRET, algorithm="HS256")


def test_a_ten_year_token_is_refused_though_correctly_signed():
    with pytest.raises(jwt.InvalidTokenError, match="lifetime"):
        verify_token(SECRET, _claims_token(10 * 365 * 24 * 3600))


def test_token_lifetime_is_capped_by_the_setting():
    assert verify_token(SECRET, _claims_token(3600), max_ttl_seconds=3600).role is Role.OPS
    with pytest.raises(jwt.InvalidTokenError):
        verify_token(SECRET, _claims_token(3601), max_ttl_seconds=3600)
    with pytest.raises(jwt.InvalidTokenError):  # no issue time, no way to know its lifetime
        verify_token(SECRET, jwt.encode({"iss": ISSUER, "sub": "s", "role": "ops", "org": "ops",
                                         "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"))


def test_pathways_tokens_prints_the_development_set_signed_with_the_installation_secret():
    result = CliRunner().invoke(cli, ["tokens"])
    assert result.exit_code == 0, result.output
    exports = dict(line.removeprefix("export ").split("=", 1) for line in result.output.splitlines())
    assert set(stack.DEV_IDENTITIES) <= set(exports)
    secret = stack.signing_secret()
    assert verify_token(secret, exports["POLICE_TOKEN"]).org == "police-department"
    assert verify_token(secret, exports["OPS_TOKEN"]).role is Role.OPS


@pytest.mark.parametrize(("role", "org"), [("agency", "agency-safe-harbor"), ("department", "police-department")])
def test_pathways_tokens_issues_a_token_for_any_role_and_organisation(role, org):
    result = CliRunner().invoke(cli, ["tokens", "--role", role, "--org", org])
    assert result.exit_code == 0, result.output
    who = verify_token(stack.signing_secret(), result.output.strip())
    assert (who.role.value, who.org) == (role, org)


def test_pathways_tokens_refuses_a_lifetime_the_services_would_refuse():
    result = CliRunner().invoke(cli, ["tokens", "--role", "ops", "--org", "ops", "--ttl", str(30 * 24 * 3600)])
    assert result.exit_code != 0
    assert CliRunner().invoke(cli, ["tokens", "--role", "ops"]).exit_code != 0  # --org is needed too
