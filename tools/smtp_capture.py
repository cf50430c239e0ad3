"""A real SMTP server (aiosmtpd) that keeps every message it accepts.

Used by the local stack (``python -m tools.smtp_capture``, mail written as ``.eml`` files)
and by tests (``CapturedMail`` in-process, optionally refusing the first deliveries with
a transient error to exercise retries).
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class CapturedMail:
    """aiosmtpd handler: accepts mail, keeps it in memory and optionally on disk."""

    mail_dir: Path | None = None
    #: Answer the next N DATA commands with this transient (4xx) reply before accepting.
    refuse_next: int = 0
    refusal: str = "451 4.3.0 Try again later"
    messages: list[EmailMessage] = field(default_factory=list)
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counter: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content
        if content is None:  # aiosmtpd sets it on every DATA; a message without one is refused
            return "554 Transaction failed: no message content"
        with self._lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                self.refused += 1
                return self.refusal
            message = email.message_from_bytes(content, policy=email.policy.default)
            self.messages.append(message)
            self._counter += 1
            counter = self._counter
        if self.mail_dir is not None:
            self.mail_dir.mkdir(parents=True, exist_ok=True)
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{counter:06d}.eml"
            (self.mail_dir / name).write_bytes(content)
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Block until ``count`` messages arrived; return them (fails loudly on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise TimeoutError(f"expected {count} message(s), got {len(self.messages)}")


@contextmanager
def smtp_server(handler: CapturedMail, host: str = "127.0.0.1", port: int = 0) -> Iterator[int]:
    """Run the server in a thread for the duration of the block; yields the port."""
    controller = Controller(handler, hostname=host, port=port or _free_port(host))
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def read_mail_dir(mail_dir: Path) -> list[EmailMessage]:
    """Every message the capture server wrote, oldest first."""
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(mail_dir.glob("*.eml"))
    ]


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--mail-dir", type=Path, required=True)
    args = parser.parse_args()

    handler = CapturedMail(mail_dir=args.mail_dir)
    with smtp_server(handler, args.host, args.port) as port:
        print(f"SMTP capture listening on {args.host}:{port}, writing to {args.mail_dir}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.new_event_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.run_until_complete(stop.wait())


if __name__ == "__main__":
    main()
