"""A tiny in-test ACS handler for the asyncio and interop tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from protocols.sip2 import (
    AcsStatus,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    CodecConfig,
    ConnectionInfo,
    EndPatronSessionRequest,
    EndSessionResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    Leniency,
    LoginRequest,
    LoginResponse,
    Message,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    RenewRequest,
    RenewResponse,
    ScStatusRequest,
)

DATE = "20261125    120000"
DUE = "20261225    235900"
TITLES = {"39001000123": "红楼梦", "39001000124": "Dream of the Red Chamber"}


@dataclass
class Terminal:
    name: str
    encoding: str


@dataclass
class TinyAcs:
    """Accepts login sc01/secret; CP ``GB`` binds a GB18030 terminal."""

    calls: list[Message] = field(default_factory=list)

    async def __call__(self, info: ConnectionInfo, req: Message) -> Message:
        self.calls.append(req)
        if isinstance(req, LoginRequest):
            ok = req.login_user_id == "sc01" and req.login_password == "secret"
            if ok:
                encoding = "gb18030" if req.location_code == "GB" else "utf-8"
                info.bind(
                    codec=CodecConfig(encoding=encoding, accept=Leniency.COMMON),
                    terminal=Terminal(req.location_code or "", encoding),
                )
            return LoginResponse(ok="1" if ok else "0")
        if isinstance(req, ScStatusRequest):
            return AcsStatus.create(
                timeout_period="050",
                retries_allowed="003",
                date_time_sync=DATE,
                AO="CN-440100-ZG",
                AM="中心馆",
                BX="YYYYYYYYYYYYYYYY",
            )
        inst = req.institution_id or "CN-440100-ZG"
        patron = req.patron_identifier or ""
        if isinstance(req, PatronStatusRequest):
            return PatronStatusResponse.create(
                language="019", transaction_date=DATE, AO=inst, AA=patron, AE="张三", BL="Y"
            )
        if isinstance(req, PatronInformationRequest):
            return PatronInformationResponse.create(
                language="019",
                transaction_date=DATE,
                charged_items_count="0001",
                AO=inst,
                AA=patron,
                AE="张三",
                BL="Y",
                AU=["39001000123"],
            )
        if isinstance(req, CheckoutRequest | RenewRequest):
            item = req.item_identifier or ""
            title = TITLES.get(item)
            cls = CheckoutResponse if isinstance(req, CheckoutRequest) else RenewResponse
            return cls.create(
                ok="1" if title else "0",
                renewal_ok="Y" if isinstance(req, RenewRequest) else "N",
                transaction_date=DATE,
                AO=inst,
                AA=patron,
                AB=item,
                AJ=title or "",
                AH=DUE if title else "",
                AF=["借书成功" if title else "无此条码"],
            )
        if isinstance(req, CheckinRequest):
            item = req.item_identifier or ""
            return CheckinResponse.create(
                ok="1", transaction_date=DATE, AO=inst, AB=item, AQ="流通库", AJ=TITLES.get(item)
            )
        if isinstance(req, ItemInformationRequest):
            item = req.item_identifier or ""
            return ItemInformationResponse.create(
                circulation_status="03", transaction_date=DATE, AB=item, AJ=TITLES.get(item, "")
            )
        if isinstance(req, EndPatronSessionRequest):
            return EndSessionResponse.create(transaction_date=DATE, AO=inst, AA=patron)
        raise NotImplementedError(req.CODE)
