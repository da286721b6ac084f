"""The SIP2 ACS: self-check machines speak SIP2, the hub's circulation services answer.

Login (93) binds the connection to a registered terminal and so to its library; AO/AP in
later requests cannot move it elsewhere unless the terminal is configured as mobile. Every
business refusal is a complete response with ok=0 and a Chinese screen message (AF) that
says what to do next; protocol errors (96, closing) are the session's job.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from protocols.sip2 import (
    AcsStatus,
    BlockPatronRequest,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    CodecConfig,
    ConnectionInfo,
    EndPatronSessionRequest,
    EndSessionResponse,
    FeePaidRequest,
    FeePaidResponse,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    ItemStatusUpdateRequest,
    ItemStatusUpdateResponse,
    LoginRequest,
    LoginResponse,
    Message,
    PatronEnableRequest,
    PatronEnableResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
    ScStatusRequest,
    SessionConfig,
    format_date,
    patron_status,
    summary_category,
    supported_messages,
)

from ..circulation import Circulation, Ctx
from ..terminals import Terminal, Terminals

log = logging.getLogger(__name__)

SUPPORTED = ("23", "11", "09", "01", "99", "97", "93", "63", "35", "37", "17", "19", "25", "15", "29", "65")


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def _ok(flag: bool) -> str:
    return "1" if flag else "0"


def _money(cents: int) -> str:
    return f"{cents / 100:.2f}"


class Sip2Acs:
    """The handler given to :class:`protocols.sip2.Sip2Server`."""

    def __init__(
        self,
        circulation: Circulation,
        terminals: Terminals,
        *,
        timezone: str = "Asia/Shanghai",
        anonymous_library: str | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        group_commit: bool = True,
    ) -> None:
        self.circ = circulation
        self.terminals = terminals
        self.tz = ZoneInfo(timezone)
        self.anonymous_library = anonymous_library
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._login_pool: ThreadPoolExecutor | None = None
        self.group_commit = group_commit
        self._grouped = False

    def session_config(self) -> SessionConfig:
        return SessionConfig(login_required=self.anonymous_library is None)

    # ------------------------------------------------------------------ helpers
    def _date(self, when: dt.datetime | None) -> str:
        if when is None:
            return format_date(None)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return format_date(when.astimezone(self.tz).replace(tzinfo=None))

    def _now(self) -> str:
        return self._date(self.clock())

    def _ctx(self, info: ConnectionInfo, req: Message) -> Ctx:
        terminal: Terminal | None = info.terminal
        if terminal is None:
            library = self.anonymous_library or ""
            name = None
        else:
            library, name = terminal.library, terminal.login
            if terminal.mobile:
                # A book bus or roaming staff client may act for the library it names.
                wanted = (req.get("AP") or req.get("AO") or "").strip().upper()
                if wanted and self.circ.library_exists(wanted):
                    library = wanted
        return Ctx(library=library, terminal=name)

    def _institution(self, info: ConnectionInfo, req: Message) -> str:
        return req.get("AO") or (info.terminal.library if info.terminal else self.anonymous_library or "")

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # The services are synchronous and short (one transaction): run them inline; the
        # event loop is the hub's only writer on SQLite anyway. The write transactions of one
        # loop iteration are committed together (Circulation.enable_group_commit): the answer
        # waits for that commit, and a failed commit becomes the ok=0 answer of _failure.
        if not self._grouped:
            self._grouped = True
            if self.group_commit:
                self.circ.enable_group_commit()
        result = fn(*args, **kwargs)
        commit = self.circ.take_commit()
        if commit is not None:
            await commit
        return result

    # ------------------------------------------------------------------ dispatch
    async def __call__(self, info: ConnectionInfo, req: Message) -> Message:
        handler = self._handlers.get(type(req))
        if handler is None:  # pragma: no cover - the session only yields known requests
            raise ValueError(f"no handler for {req.CODE}")
        try:
            response: Message = await handler(self, info, req)
            return response
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("SIP2 %s failed", req.CODE)
            return self._failure(info, req)

    def _failure(self, info: ConnectionInfo, req: Message) -> Message:
        """A complete ok=0 answer when the hub itself failed (database down …): the machine
        shows the message and the patron goes to the desk; nothing was half-applied."""
        msg = "系统暂时无法处理，请稍后再试或联系工作人员。"
        ao = self._institution(info, req)
        aa, ab = req.get("AA") or "", req.get("AB") or ""
        now = self._now()
        denied = patron_status("charge_privileges_denied", "renewal_privileges_denied", "hold_privileges_denied")
        if isinstance(req, LoginRequest):
            return LoginResponse(ok="0")
        if isinstance(req, ScStatusRequest):
            return AcsStatus.create(online_status="N", checkin_ok="N", checkout_ok="N", date_time_sync=now,
                                    AO=ao, BX=supported_messages(SUPPORTED), AF=msg)
        if isinstance(req, CheckoutRequest):
            return CheckoutResponse.create(ok="0", transaction_date=now, AO=ao, AA=aa, AB=ab, AJ="", AH="", AF=msg)
        if isinstance(req, RenewRequest):
            return RenewResponse.create(ok="0", transaction_date=now, AO=ao, AA=aa, AB=ab, AJ="", AH="", AF=msg)
        if isinstance(req, CheckinRequest):
            return CheckinResponse.create(ok="0", transaction_date=now, AO=ao, AB=ab, AQ="", AF=msg)
        if isinstance(req, RenewAllRequest):
            return RenewAllResponse.create(ok="0", transaction_date=now, AO=ao, AF=msg)
        if isinstance(req, ItemInformationRequest):
            return ItemInformationResponse.create(circulation_status="01", transaction_date=now, AB=ab, AJ="", AF=msg)
        if isinstance(req, ItemStatusUpdateRequest):
            return ItemStatusUpdateResponse.create(item_properties_ok="0", transaction_date=now, AB=ab, AF=msg)
        if isinstance(req, FeePaidRequest):
            return FeePaidResponse.create(payment_accepted="N", transaction_date=now, AO=ao, AA=aa, AF=msg)
        if isinstance(req, HoldRequest):
            return HoldResponse.create(ok="0", available="N", transaction_date=now, AO=ao, AA=aa, AF=msg)
        if isinstance(req, EndPatronSessionRequest):
            return EndSessionResponse.create(end_session="N", transaction_date=now, AO=ao, AA=aa, AF=msg)
        if isinstance(req, PatronEnableRequest):
            return PatronEnableResponse.create(patron_status=denied, transaction_date=now, AO=ao, AA=aa, AE="", AF=msg)
        if isinstance(req, PatronInformationRequest):
            return PatronInformationResponse.create(patron_status=denied, transaction_date=now, AO=ao, AA=aa,
                                                    AE="", BL="N", AF=msg)
        return PatronStatusResponse.create(patron_status=denied, transaction_date=now, AO=ao, AA=aa, AE="",
                                           BL="N", AF=msg)

    # ------------------------------------------------------------------ 93 / 99
    async def login(self, info: ConnectionInfo, req: Message) -> Message:
        assert isinstance(req, LoginRequest)
        user = req.get("CN") or ""
        password = req.get("CO") or ""
        address = info.peer[0] if info.peer else None
        # The password check is a deliberately slow scrypt (tens of ms): run it off the event
        # loop so one terminal logging in does not stall every other terminal's transactions.
        # One login thread: scrypt needs 16 MiB per check, so logins stay one at a time.
        if self._login_pool is None:
            self._login_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sip2-login")
        result = await asyncio.get_running_loop().run_in_executor(
            self._login_pool, self.terminals.authenticate, user, password, address)
        if isinstance(result, str):
            log.warning("SIP2 login refused from %s: %s", address, result)
            return LoginResponse(ok="0")
        info.bind(
            codec=CodecConfig(encoding=result.encoding, terminator=b"\r\n" if result.terminator == "CRLF" else b"\r",
                              accept=info.codec.accept),
            terminal=result,
        )
        log.info("SIP2 terminal %s logged in for %s from %s", result.login, result.library, address)
        return LoginResponse(ok="1")

    async def sc_status(self, info: ConnectionInfo, req: Message) -> Message:
        ctx = self._ctx(info, req)
        name = self.circ.library_name(ctx.library) if ctx.library else None
        return AcsStatus.create(
            online_status="Y", checkin_ok="Y", checkout_ok="Y", acs_renewal_policy="Y",
            status_update_ok="Y", offline_ok="N", timeout_period="030", retries_allowed="003",
            date_time_sync=self._now(), protocol_version="2.00",
            AO=ctx.library, AM=name, BX=supported_messages(SUPPORTED), AN=info.terminal.login if info.terminal else None,
            AF=f"ils-bridge 已连接：{name}" if name else "ils-bridge 已连接",
        )

    # ------------------------------------------------------------------ patrons
    def _patron_flags(self, st: Any) -> str:
        flags = [name for name in (
            "charge_privileges_denied", "renewal_privileges_denied", "recall_privileges_denied",
            "hold_privileges_denied", "card_reported_lost", "too_many_items_charged",
            "too_many_items_overdue", "too_many_renewals", "too_many_claims_of_items_returned",
            "too_many_items_lost", "excessive_outstanding_fines", "excessive_outstanding_fees",
            "recall_overdue", "too_many_items_billed") if getattr(st, name, False)]
        return patron_status(*flags)

    async def patron_status_(self, info: ConnectionInfo, req: Message) -> Message:
        ctx = self._ctx(info, req)
        card = req.get("AA") or ""
        st = await self._run(self.circ.patron_status, ctx, card, password=req.get("AD"))
        return PatronStatusResponse.create(
            patron_status=self._patron_flags(st), language="019", transaction_date=self._now(),
            AO=self._institution(info, req), AA=card, AE=st.name or "", BL=_yn(st.valid_patron),
            CQ=_yn(st.valid_password) if req.get("AD") is not None else None,
            BH="CNY" if st.fines_cents else None, BV=_money(st.fines_cents) if st.fines_cents else None,
            AF=st.screen_message, AG=st.print_line,
        )

    async def block_patron(self, info: ConnectionInfo, req: Message) -> Message:
        ctx = self._ctx(info, req)
        card = req.get("AA") or ""
        reason = req.get("AL") or "自助机报告（SIP2 01）"
        st = await self._run(self.circ.block_patron, ctx, card, reason)
        return PatronStatusResponse.create(
            patron_status=self._patron_flags(st), language="019", transaction_date=self._now(),
            AO=self._institution(info, req), AA=card, AE=st.name or "", BL=_yn(st.valid_patron),
            AF=st.screen_message,
        )

    async def patron_enable(self, info: ConnectionInfo, req: Message) -> Message:
        ctx = self._ctx(info, req)
        card = req.get("AA") or ""
        st = await self._run(self.circ.unblock_patron, ctx, card)
        return PatronEnableResponse.create(
            patron_status=self._patron_flags(st), language="019", transaction_date=self._now(),
            AO=self._institution(info, req), AA=card, AE=st.name or "", BL=_yn(st.valid_patron),
            AF=st.screen_message,
        )

    async def patron_information(self, info: ConnectionInfo, req: Message) -> Message:
        assert isinstance(req, PatronInformationRequest)
        ctx = self._ctx(info, req)
        card = req.get("AA") or ""
        start = int(req.get("BP") or 1) if (req.get("BP") or "1").isdigit() else 1
        end_text = req.get("BQ") or ""
        end = int(end_text) if end_text.isdigit() else None
        pi = await self._run(self.circ.patron_information, ctx, card, password=req.get("AD"), start=start, end=end)
        wanted = summary_category(req.summary)
        lists: dict[str, tuple[str, list[str]]] = {
            "hold": ("AS", pi.hold_items), "overdue": ("AT", pi.overdue_items),
            "charged": ("AU", pi.charged_items), "fine": ("AV", pi.fine_items),
            "unavailable": ("CD", pi.unavailable_holds),
        }
        chosen: dict[str, list[str]] = {}
        if wanted in lists:
            code, values = lists[wanted]
            chosen[code] = values[start - 1 : end]
        return PatronInformationResponse.create(
            patron_status=self._patron_flags(pi), language="019", transaction_date=self._now(),
            hold_items_count=f"{min(len(pi.hold_items), 9999):04d}",
            overdue_items_count=f"{min(len(pi.overdue_items), 9999):04d}",
            charged_items_count=f"{min(len(pi.charged_items), 9999):04d}",
            fine_items_count=f"{min(len(pi.fine_items), 9999):04d}",
            recall_items_count="0000",
            unavailable_holds_count=f"{min(len(pi.unavailable_holds), 9999):04d}",
            AO=self._institution(info, req), AA=card, AE=pi.name or "",
            BZ=f"{pi.hold_limit:04d}" if pi.valid_patron else None,
            CB=f"{pi.charge_limit:04d}" if pi.valid_patron else None,
            BL=_yn(pi.valid_patron), CQ=_yn(pi.valid_password) if req.get("AD") is not None else None,
            BH="CNY" if pi.fines_cents else None, BV=_money(pi.fines_cents) if pi.fines_cents else None,
            AS=chosen.get("AS"), AT=chosen.get("AT"), AU=chosen.get("AU"), AV=chosen.get("AV"),
            CD=chosen.get("CD"), AQ=pi.home_library, AF=pi.screen_message, AG=pi.print_line,
        )

    async def end_session(self, info: ConnectionInfo, req: Message) -> Message:
        return EndSessionResponse.create(
            end_session="Y", transaction_date=self._now(), AO=self._institution(info, req),
            AA=req.get("AA") or "", AF="再见，欢迎再来！",
        )

    # ------------------------------------------------------------------ items
    async def checkout(self, info: ConnectionInfo, req: Message) -> Message:
        ctx = self._ctx(info, req)
        card, barcode = req.get("AA") or "", req.get("AB") or ""
        r = await self._run(self.circ.checkout, ctx, card, barcode)
        return CheckoutResponse.create(
            ok=_ok(r.ok), renewal_ok=_yn(r.renewal), magnetic_media=_yn(r.magnetic_media),
            desensitize=_yn(r.desensitize), transaction_date=self._now(),
            AO=self._institution(info, req), AA=card, AB=barcode, AJ=r.title or "",
            AH=self._date(r.due_at) if r.ok and r.due_at else "",
            BT="01" if r.fee_cents else None, BH="CNY" if r.fee_cents else None,
            BV=_money(r.fee_cents) if r.fee_cents else None,
            AF=r.screen_message, AG=r.print_line,
        )

    async def renew(self, info: ConnectionInfo, req: Message) -> Message:
        ctx = self._ctx(info, req)
        card, barcode = req.get("AA") or "", req.get("AB") or ""
        r = await self._run(self.circ.renew, ctx, card, barcode)
        return RenewResponse.create(
            ok=_ok(r.ok), renewal_ok=_yn(r.ok), magnetic_media=_yn(r.magnetic_media),
            desensitize=_yn(r.desensitize), transaction_date=self._now(),
            AO=self._institution(info, req), AA=card, AB=barcode, AJ=r.title or "",
            AH=self._date(r.due_at) if r.ok and r.due_at else "", AF=r.screen_message, AG=r.print_line,
        )

    async def renew_all(self, info: ConnectionInfo, req: Message) -> Message:
        ctx = self._ctx(info, req)
        card = req.get("AA") or ""
        r = await self._run(self.circ.renew_all, ctx, card)
        return RenewAllResponse.create(
            ok=_ok(r.ok), renewed_count=f"{min(len(r.renewed), 9999):04d}",
            unrenewed_count=f"{min(len(r.unrenewed), 9999):04d}", transaction_date=self._now(),
            AO=self._institution(info, req), BM=list(r.renewed), BN=list(r.unrenewed),
            AF=r.screen_message, AG=r.print_line,
        )

    async def checkin(self, info: ConnectionInfo, req: Message) -> Message:
        ctx = self._ctx(info, req)
        barcode = req.get("AB") or ""
        r = await self._run(self.circ.checkin, ctx, barcode)
        return CheckinResponse.create(
            ok=_ok(r.ok), resensitize=_yn(r.resensitize), magnetic_media=_yn(r.magnetic_media),
            alert=_yn(r.alert), transaction_date=self._now(),
            AO=self._institution(info, req), AB=barcode, AQ=r.permanent_location or "", AJ=r.title,
            CT=r.destination, CV=r.alert_type, CY=r.hold_patron, DA=r.hold_patron_name,
            AF=r.screen_message, AG=r.print_line,
        )

    async def item_information(self, info: ConnectionInfo, req: Message) -> Message:
        ctx = self._ctx(info, req)
        barcode = req.get("AB") or ""
        it = await self._run(self.circ.item_information, ctx, barcode)
        return ItemInformationResponse.create(
            circulation_status=it.circulation_status, security_marker="02", fee_type="01",
            transaction_date=self._now(), CF=f"{it.hold_queue_length:04d}" if it.hold_queue_length else None,
            AH=self._date(it.due_at) if it.due_at else None, AB=barcode, AJ=it.title or "",
            BG=it.owner, AQ=it.permanent_location, AP=it.current_location, CT=it.destination,
            AF=it.screen_message, AG=it.print_line,
        )

    async def item_status_update(self, info: ConnectionInfo, req: Message) -> Message:
        ctx = self._ctx(info, req)
        barcode = req.get("AB") or ""
        it = await self._run(self.circ.item_status_update, ctx, barcode, req.get("CH") or "")
        return ItemStatusUpdateResponse.create(
            item_properties_ok=_ok(it.ok), transaction_date=self._now(), AB=barcode,
            AJ=it.title, CH=req.get("CH"), AF=it.screen_message,
        )

    async def fee_paid(self, info: ConnectionInfo, req: Message) -> Message:
        ctx = self._ctx(info, req)
        card = req.get("AA") or ""
        amount_text = (req.get("BV") or "").strip()
        try:
            cents = round(float(amount_text) * 100)
        except ValueError:
            cents = -1
        fee_id = req.get("CG")
        r = await self._run(self.circ.fee_paid, ctx, card, cents,
                            fee_id=int(fee_id) if fee_id and fee_id.isdigit() else None,
                            transaction_id=req.get("BK"))
        return FeePaidResponse.create(
            payment_accepted=_yn(r.ok), transaction_date=self._now(), AO=self._institution(info, req),
            AA=card, BK=req.get("BK"), AF=r.screen_message, AG=r.print_line,
        )

    async def hold(self, info: ConnectionInfo, req: Message) -> Message:
        assert isinstance(req, HoldRequest)
        ctx = self._ctx(info, req)
        card = req.get("AA") or ""
        barcode = req.get("AB")
        pickup = req.get("BS")
        if req.hold_mode == "-":
            r = await self._run(self.circ.cancel_hold, ctx, card, barcode=barcode)
        else:
            r = await self._run(self.circ.place_hold, ctx, card, barcode=barcode, pickup=pickup)
        return HoldResponse.create(
            ok=_ok(r.ok), available=_yn(r.available), transaction_date=self._now(),
            BR=str(r.queue_position) if r.ok and r.queue_position else None,
            BS=r.pickup, AO=self._institution(info, req), AA=card, AB=barcode, AJ=r.title,
            AF=r.screen_message, AG=r.print_line,
        )

    _handlers: ClassVar[dict[type[Message], Callable[..., Any]]] = {
        LoginRequest: login,
        ScStatusRequest: sc_status,
        PatronStatusRequest: patron_status_,
        BlockPatronRequest: block_patron,
        PatronEnableRequest: patron_enable,
        PatronInformationRequest: patron_information,
        EndPatronSessionRequest: end_session,
        CheckoutRequest: checkout,
        RenewRequest: renew,
        RenewAllRequest: renew_all,
        CheckinRequest: checkin,
        ItemInformationRequest: item_information,
        ItemStatusUpdateRequest: item_status_update,
        FeePaidRequest: fee_paid,
        HoldRequest: hold,
    }

