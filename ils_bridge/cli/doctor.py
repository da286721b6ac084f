"""``doctor``: is this hub fit to run? Database, schema, secret key, plugins, branch endpoints."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

import click

from ..cluster import Cluster, secret_check
from ..errors import HubError
from ..secret import load_secret
from ..store import migrate
from ..store.engine import describe_url
from .app import App, echo_json, pass_app


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    warn: bool = False


@click.command()
@click.option("--probe", is_flag=True, help="Also ask each branch adapter to reach its branch system.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def doctor(app: App, probe: bool, as_json: bool) -> None:
    """Check the database, migrations, secret key, plugins and branch endpoints."""
    checks: list[Check] = []
    store = None
    try:
        store = app.open()
        with store.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        checks.append(Check("database", True, f"{store.dialect} at {describe_url(store.url)}"))
    except Exception as exc:  # every failure is a finding, not a crash
        checks.append(Check("database", False, f"cannot connect: {exc}"))
    schema_ok = False
    if store is not None and checks[-1].ok:
        current, head = migrate.current_revision(store), migrate.head_revision()
        schema_ok = current == head
        detail = f"schema {current}" if schema_ok else f"schema {current or 'missing'}, need {head}: run `ils-bridge init`"
        checks.append(Check("migrations", schema_ok, detail))
        if schema_ok:
            try:
                problem = secret_check(store, load_secret(create=False), claim=False)
                checks.append(Check("secret key", problem is None, problem or "matches this database"))
            except HubError as exc:
                checks.append(Check("secret key", False, exc.message))
    try:
        app.pm.check_pending()
        registries = app.registries
        names = sorted(name for name, _ in app.pm.list_name_plugin())
        checks.append(Check("plugins", True, f"{len(names)} loaded ({', '.join(names)}); "
                                              f"adapters: {', '.join(registries.adapters.ids())}"))
    except Exception as exc:
        checks.append(Check("plugins", False, str(exc)))
        registries = None
    if schema_ok and store is not None and registries is not None:
        cluster = Cluster(store, normalisers=registries.normalisers, adapters=registries.adapters)
        libs = cluster.list_libraries()
        if not libs:
            checks.append(Check("libraries", False, "none registered yet: `ils-bridge branch add …`", warn=True))
        if libs and not any(lib.kind == "central" for lib in libs):
            checks.append(Check("libraries", False, "no central library registered", warn=True))
        for lib in libs:
            adapter_cls = registries.adapters.get(lib.adapter)
            name = f"branch {lib.code}"
            if adapter_cls is None:
                checks.append(Check(name, False, f"adapter {lib.adapter!r} is not installed"))
                continue
            if adapter_cls.needs_endpoint and lib.endpoint.kind is None:
                checks.append(Check(name, False, f"adapter {lib.adapter} needs an endpoint: `branch set-endpoint`"))
                continue
            detail = f"adapter {lib.adapter}, endpoint {lib.endpoint.kind or 'none'}"
            if lib.endpoint.kind == "dynamic" and not lib.endpoint.host:
                checks.append(Check(name, False, detail + ": dynamic address not yet reported", warn=True))
                continue
            if probe:
                try:
                    result = asyncio.run(asyncio.wait_for(adapter_cls(lib.code, lib.endpoint).probe(), 10))
                    checks.append(Check(name, result.ok, f"{detail}; probe: {result.detail}"))
                except Exception as exc:
                    checks.append(Check(name, False, f"{detail}; probe failed: {exc}"))
            else:
                checks.append(Check(name, True, detail))
    failed = [c for c in checks if not c.ok and not c.warn]
    if as_json:
        echo_json({"ok": not failed, "checks": [c.__dict__ for c in checks]})
    else:
        for c in checks:
            mark = "ok  " if c.ok else ("warn" if c.warn else "FAIL")
            click.echo(f"[{mark}] {c.name}: {c.detail}")
    if failed:
        sys.exit(1)


COMMANDS = [doctor]
