"""The API tokens page: a signed-in user's bearer tokens for the JSON API (``/api/v1``), made and revoked here.

A new token's secret is shown once, in ``bf-token-secret``, and never again (only its hash is kept:
:mod:`pipeline.tokens`). The table (``bf-token-table``) lists the user's tokens, newest first; ``bf-token-revoke``
revokes the one picked in ``bf-token-pick``. Without sign-in a token would belong to nobody: the page says to make
them with ``bedflow token create USER`` instead.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import panel as pn

from app.session import AppSession
from pipeline.tokens import TokenInfo, create_token, list_tokens, revoke_token

#: The lifetimes offered (label → lifetime; ``None``: until revoked).
LIFETIMES: dict[str, timedelta | None] = {"30 days": timedelta(days=30), "90 days": timedelta(days=90),
                                          "1 year": timedelta(days=365), "until revoked": None}
COLUMNS = ("id", "name", "prefix", "state", "created", "expires", "last used")


def token_rows(tokens: list[TokenInfo]) -> pd.DataFrame:
    """The table of tokens: one row each, times to the minute (UTC), never a secret."""
    def when(value: Any) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value else "–"

    rows = [{"id": t.id, "name": t.name, "prefix": t.prefix + "…",
             "state": "active" if t.active else ("revoked" if t.revoked_at else "expired"),
             "created": when(t.created_at), "expires": when(t.expires_at) if t.expires_at else "never",
             "last used": when(t.last_used_at)} for t in tokens]
    return pd.DataFrame(rows, columns=list(COLUMNS))


class TokensPage(pn.viewable.Viewer):
    """The signed-in user's API tokens."""

    title = "API tokens"

    def __init__(self, session: AppSession, **params: Any) -> None:
        super().__init__(**params)
        self.session = session
        self.name_input = pn.widgets.TextInput(label="What it is for", placeholder="laptop notebook",
                                               css_classes=["bf-token-name"], max_length=200, width=260)
        self.lifetime = pn.widgets.Select(label="Valid for", options=list(LIFETIMES), value="90 days",
                                          css_classes=["bf-token-lifetime"], width=160)
        self.create_button = pn.widgets.Button(label="Create token", color="primary",
                                               css_classes=["bf-token-create"], width=140, align="end")
        self.secret = pn.widgets.TextInput(label="The new token (shown only now: copy it, e.g. into BEDFLOW_TOKEN)",
                                           disabled=True, visible=False, css_classes=["bf-token-secret"],
                                           sizing_mode="stretch_width")
        self.table = pn.widgets.Tabulator(token_rows([]), show_index=False, disabled=True, layout="fit_data_table",
                                          css_classes=["bf-token-table"], sizing_mode="stretch_width")
        self.pick = pn.widgets.Select(label="Token", options={}, css_classes=["bf-token-pick"], width=260)
        self.revoke_button = pn.widgets.Button(label="Revoke", color="danger", variant="outline",
                                               css_classes=["bf-token-revoke"], width=110, align="end")
        self.create_button.on_click(lambda _: self.session.guard(self.create))
        self.revoke_button.on_click(lambda _: self.session.guard(self.revoke))
        self.refresh()

    def refresh(self) -> None:
        """Read the user's tokens again."""
        if not self.session.user:
            return
        tokens = list_tokens(self.session.user, services=self.session.services)
        self.table.value = token_rows(tokens)
        options = {f"{t.id}: {t.name or t.prefix + '…'}": t.id for t in tokens if t.active}
        self.pick.param.update(options=options, value=self.pick.value if self.pick.value in options.values()
                               else next(iter(options.values()), None))
        self.revoke_button.disabled = not options

    def create(self) -> str:
        """Make a token for the signed-in user with the name and lifetime chosen; show its secret once."""
        info, secret = create_token(self.session.user, name=self.name_input.value or "",
                                    expires_in=LIFETIMES[self.lifetime.value], services=self.session.services)
        self.secret.param.update(value=secret, visible=True)
        self.name_input.value = ""
        self.refresh()
        self.session.info(f"token {info.id} created: copy it now, it is not shown again")
        return secret

    def revoke(self) -> None:
        """Revoke the picked token (the user's own only)."""
        if self.pick.value is None:
            return
        info = revoke_token(int(self.pick.value), by=self.session.user, services=self.session.services)
        self.secret.param.update(value="", visible=False)
        self.refresh()
        self.session.info(f"token {info.id} revoked")

    def __panel__(self) -> pn.viewable.Viewable:
        if not self.session.user:
            return pn.pane.Markdown(
                "API tokens belong to a signed-in user, and this dashboard has no sign-in (it serves this machine "
                "only). Make one in a terminal: `bedflow token create USER`.", css_classes=["bf-token-none"])
        return pn.Column(
            pn.pane.Markdown(f"Tokens of **{self.session.user}** for bedflow's JSON API (`/api/v1`): set "
                             "`BEDFLOW_URL` to this server's address and `BEDFLOW_TOKEN` to a token, and "
                             "`pipeline.submit`, `pipeline.watch`, `pipeline.runs_frame`, … work on this server.",
                             sizing_mode="stretch_width"),
            pn.Row(self.name_input, self.lifetime, self.create_button), self.secret, self.table,
            pn.Row(self.pick, self.revoke_button), sizing_mode="stretch_width")
