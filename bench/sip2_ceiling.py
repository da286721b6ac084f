"""A bare asyncio SIP2 responder using our codec and session, without the hub: the ceiling
against which bench_sip2_load.py measures `ils-bridge serve`. Prints the bound port, then serves
until killed.

    PYTHONPATH=. .venv/bin/python bench/sip2_ceiling.py [PORT]
"""

from __future__ import annotations

import asyncio
import sys

from protocols.sip2 import (
    CheckinRequest,
    CheckinResponse,
    CheckoutResponse,
    ConnectionInfo,
    LoginRequest,
    LoginResponse,
    Message,
    SessionConfig,
    Sip2Server,
)


async def handler(info: ConnectionInfo, req: Message) -> Message:
    if isinstance(req, LoginRequest):
        return LoginResponse(ok="1")
    if isinstance(req, CheckinRequest):
        return CheckinResponse.create(ok="1", resensitize="Y", AO="XT", AB=req.get("AB") or "", AQ="XT",
                                      AJ="红楼梦", AF="还书成功")
    return CheckoutResponse.create(ok="1", renewal_ok="N", desensitize="Y", AO="XT", AA=req.get("AA") or "",
                                   AB=req.get("AB") or "", AJ="红楼梦", AH="20261225    120000", AF="借书成功")


async def main() -> None:
    server = Sip2Server(handler, SessionConfig(login_required=True))
    await server.start("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"listening: sip2 on 127.0.0.1:{server.port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
