"""A real SMTP sink for tests: the app sends through aiosmtplib to an aiosmtpd server on localhost."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any


def free_port() -> int:
    """A TCP port nobody listens on right now (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """What the real SMTP server received (the aiosmtpd handler of the `smtp_server` fixture)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd handler
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    async def deliver(self) -> list[EmailMessage]:
        """Send what the app's outbox holds now (mail leaves through the outbox, not in the request)
        and return every message received so far."""
        from core.mail.service import send_pending

        await send_pending(ignore_schedule=True)
        return self.messages

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose `To` is exactly `address`."""
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def text(message: EmailMessage) -> str:
        """The plain-text body of a message ("" when it has none)."""
        part = message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    def clear(self) -> None:
        self.messages.clear()


def start_smtp_server(mailbox: Mailbox | None = None, port: int | None = None) -> Any:
    """A started `aiosmtpd.controller.Controller` on 127.0.0.1 whose handler is `mailbox`; `.stop()` it."""
    from aiosmtpd.controller import Controller

    controller = Controller(mailbox or Mailbox(), hostname="127.0.0.1", port=port or free_port())
    controller.start()
    return controller
