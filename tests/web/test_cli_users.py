"""``icploop user add`` and ``icploop user token`` make logins and tokens the web app accepts."""

from __future__ import annotations

from typer.testing import CliRunner

from icploop.cli.main import app

from .conftest import WebWorld, csrf_of


def test_a_user_and_token_made_on_the_command_line_work_in_the_web_app(web: WebWorld) -> None:
    runner = CliRunner()
    ws = ["--workspace", str(web.workspace)]
    weak = runner.invoke(app, ["user", "add", "new.admin@example.test", "--role", "admin",
                               "--password-stdin", *ws], input="short\n")  # fmt: skip
    assert weak.exit_code == 1
    made = runner.invoke(app, ["user", "add", "new.admin@example.test", "--role", "admin",
                               "--password-stdin", *ws], input="a-good-long-passphrase\n")  # fmt: skip
    assert made.exit_code == 0, made.output
    token = runner.invoke(app, ["user", "token", "new.admin@example.test", "--name", "ci", *ws])
    assert token.exit_code == 0
    client = web.client()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.output.strip()}"})
    assert me.status_code == 200 and me.json()["role"] == "admin"
    csrf = csrf_of(client.get("/login").text)
    login = client.post(
        "/login",
        data={"email": "new.admin@example.test", "password": "a-good-long-passphrase",
              "csrf_token": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert login.status_code == 303
    assert client.get("/audit").status_code == 200
