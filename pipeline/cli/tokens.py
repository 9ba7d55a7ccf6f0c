"""``bedflow token create|list|revoke``: bearer tokens of the JSON API (:mod:`pipeline.tokens`)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .output import echo, echo_json

app = typer.Typer(help="Bearer tokens of the JSON API (/api/v1): create, list, revoke.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("create")
def create_command(
    user: Annotated[str, typer.Argument(help="Whose token: runs it submits are theirs.", show_default=False)],
    expires: Annotated[Optional[str], typer.Option("--expires", help="Lifetime: 30d, 12h, 90m (default: until "
                                                                     "revoked).")] = None,
    name: Annotated[str, typer.Option("--name", help="What the token is for (shown in lists).")] = "",
) -> None:
    """Make a token for USER and print it, once, alone on the last line (only its hash is kept)."""
    from ..tokens import create_token, parse_lifetime

    info, secret = create_token(user, name=name, expires_in=parse_lifetime(expires) if expires else None)
    until = info.expires_at.isoformat(timespec="seconds") if info.expires_at else "until revoked"
    echo(f"token {info.id} of {info.user} ({until}); it is shown only now: keep it as a secret, e.g. "
         "BEDFLOW_TOKEN=...", err=True)
    typer.echo(secret)


@app.command("list")
def list_command(
    user: Annotated[Optional[str], typer.Argument(help="Only this user's tokens.", show_default=False)] = None,
    json_output: JsonOption = False,
) -> None:
    """List tokens (never their secrets): id, user, name, prefix, created, expires, revoked, last used."""
    from ..tokens import list_tokens

    tokens = list_tokens(user)
    if json_output:
        echo_json([token.to_dict() for token in tokens])
        return
    for token in tokens:
        data = token.to_dict()
        state = "active" if token.active else ("revoked" if token.revoked_at else "expired")
        echo(f"{token.id:>5}  {token.user:<20} {token.prefix}…  {state:<8} created {data['created_at']}  "
             f"expires {data['expires_at'] or 'never'}  last used {data['last_used_at'] or 'never'}"
             + (f"  ({token.name})" if token.name else ""))
    if not tokens:
        echo("no tokens", err=True)


@app.command("revoke")
def revoke_command(token_id: Annotated[int, typer.Argument(help="The token's id (bedflow token list).",
                                                           show_default=False)]) -> None:
    """Revoke a token: requests with it are refused from now on."""
    from ..tokens import revoke_token

    info = revoke_token(token_id)
    echo(f"token {info.id} of {info.user} revoked")


def register(main: typer.Typer) -> None:
    main.add_typer(app, name="token")
