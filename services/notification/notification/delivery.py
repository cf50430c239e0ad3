"""SMTP delivery with aiosmtplib: a small pool of connections, one email per transaction.

As MTAs do, a connection stays open and carries one message after another (MAIL, RCPT,
DATA, and MAIL again on the same connection, no QUIT and no new EHLO between them): no
connection set-up per email. At most ``connections`` are open at once; a sender with more
emails in hand waits for one to be free. A connection that fails is closed and replaced by
a new one for the next email; one the server dropped while idle is replaced at once.

``send`` speaks MAIL and RCPT first and asks ``before_data`` for permission before DATA,
because DATA is the only step after which the server may have taken the message. The
caller records that moment (see ``outbound``), which keeps the window in which a crash
leaves the outcome unknown down to the DATA exchange itself.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from aiosmtplib import SMTP, SMTPException, SMTPResponseException, SMTPServerDisconnected

from plumbing.settings import ServiceSettings

from . import domain


class DeliveryFailed(Exception):
    """The server refused the email, or could not be reached. ``code`` is its SMTP reply."""

    def __init__(self, code: int | None, error: str) -> None:
        super().__init__(error)
        self.code = code
        self.error = error

    @property
    def permanent(self) -> bool:
        return domain.is_permanent(self.code)


class ClaimLost(Exception):
    """The worker's claim on the email ran out before DATA: nothing was sent."""


class OutcomeUnknown(Exception):
    """The connection failed inside DATA without the server's answer: the server may have
    taken the message, so it is not sent again (at most once)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SMTPResponseException):
        return f"{exc.code} {exc.message}"
    kind = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
    return f"{kind}: {exc}" if str(exc) else kind


class SmtpTransport:
    def __init__(self, settings: ServiceSettings, connections: int = 16) -> None:
        self.settings = settings
        self._idle: list[SMTP] = []
        self._slots = asyncio.Semaphore(connections)
        #: Connections opened so far (the pool's reuse is tested on it).
        self.opened = 0
        self._local_hostname = socket.gethostname() or "localhost"

    async def send(
        self,
        *,
        sender: str,
        recipient: str,
        message: bytes,
        utf8: bool,
        before_data: Callable[[], Awaitable[bool]],
    ) -> str:
        """Send ``message``; return the server's acceptance. Raises DeliveryFailed, ClaimLost
        or OutcomeUnknown.

        ``utf8``: an address is not ASCII, so the server must offer SMTPUTF8.
        """
        async with self._slots:
            return await self._send(sender, recipient, message, utf8, before_data)

    async def _send(
        self, sender: str, recipient: str, message: bytes, utf8: bool, before_data: Callable[[], Awaitable[bool]]
    ) -> str:
        client: SMTP | None = None
        try:
            client, reused = await self._connection()
            try:
                await self._envelope(client, sender, recipient, utf8)
            except (SMTPServerDisconnected, SMTPResponseException) as exc:
                # A pooled connection the server dropped while idle: try once on a new one.
                if not reused or (isinstance(exc, SMTPResponseException) and exc.code != 421):
                    raise
                client.close()
                client, reused = await self._connection(fresh=True)
                await self._envelope(client, sender, recipient, utf8)
            if not await before_data():
                await client.rset()
                self._idle.append(client)
                client = None
                raise ClaimLost()
            try:
                response = await client.data(message)
            except (SMTPServerDisconnected, OSError, TimeoutError) as exc:
                # No answer to the message: taken or not, only the server knows.
                client.close()
                client = None
                raise OutcomeUnknown(_describe(exc)) from exc
        except (ClaimLost, OutcomeUnknown):
            raise
        except (SMTPException, OSError, TimeoutError) as exc:
            if client is not None:
                client.close()
            code = exc.code if isinstance(exc, SMTPResponseException) else None
            raise DeliveryFailed(code, _describe(exc)) from exc
        except BaseException:
            if client is not None:
                client.close()  # cancelled mid-conversation: the connection is in an unknown state
            raise
        self._idle.append(client)
        return f"{response.code} {response.message}"

    async def _envelope(self, client: SMTP, sender: str, recipient: str, utf8: bool) -> None:
        if utf8 and client.is_ehlo_or_helo_needed:
            await client.ehlo()
        if utf8 and not client.supports_extension("smtputf8"):
            # 553 "mailbox name not allowed": no retry will make this server take it.
            raise SMTPResponseException(553, "the address needs SMTPUTF8, which the server does not offer")
        options = ["SMTPUTF8"] if utf8 else None
        encoding = "utf-8" if utf8 else "ascii"
        await client.mail(sender, options=options, encoding=encoding)
        await client.rcpt(recipient, encoding=encoding)

    async def _connection(self, *, fresh: bool = False) -> tuple[SMTP, bool]:
        while self._idle and not fresh:
            client = self._idle.pop()
            if client.is_connected:
                return client, True
        s = self.settings
        client = SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            timeout=s.smtp_timeout_seconds,
            start_tls=s.smtp_start_tls,
            username=s.smtp_username,
            password=s.smtp_password,
            local_hostname=self._local_hostname,
        )
        await client.connect()
        self.opened += 1
        return client, False

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await asyncio.wait_for(client.quit(), 2)
            except (SMTPException, OSError, TimeoutError):
                client.close()
