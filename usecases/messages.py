"""What a person reads, as neutral data: a template with its values, actions, recipients.

Adapters render a ``Say`` for their messenger (Telegram: HTML and inline buttons; 钉钉:
markdown and action links) and deliver each ``Out`` to its recipient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sqlmodel import Session

Copy = tuple[str, str, str]  # where a card was delivered: (messenger, chat, message)


@dataclass(frozen=True)
class Action:
    """A button or action link: its label and the verb it invokes with its arguments."""

    label: str
    verb: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """A file sent with the text as its caption.

    ``ref`` is a file the messenger ``messenger`` already holds (a Telegram file id, a 钉钉
    download code), or ``data`` the bytes to upload.
    """

    kind: Literal["photo", "document"]
    ref: str = ""
    messenger: str = ""
    data: bytes | None = None
    filename: str = ""


@dataclass(frozen=True)
class Say:
    """One message: a template named after its screen, its values, rows of actions."""

    template: str
    values: Mapping[str, Any] = field(default_factory=dict)
    actions: tuple[tuple[Action, ...], ...] = ()
    file: Attachment | None = None


def say(
    template: str, *rows: Sequence[Action], file: Attachment | None = None, **values: Any
) -> Say:
    """A ``Say`` with its values as keywords and its actions as rows."""
    return Say(template, values, tuple(tuple(r) for r in rows), file)


@dataclass(frozen=True)
class Person:
    """A roster person as a recipient: every messenger account they bound."""

    person_id: int
    addresses: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Group:
    """The bureau's group chat(s): every configured messenger's group."""


@dataclass(frozen=True)
class Copies:
    """Every copy of a card sent out, the pressed one first: a decision replaces each
    (their actions go); ``caption`` where the copies are files with the card as caption."""

    copies: tuple[Copy, ...]
    caption: bool = False


# Where an ``Out`` goes: the chat the event came from, the message pressed (edited where the
# messenger can, else a new message), the sender's private chat in the same messenger, a
# person's accounts, or the group.
Reply = Literal["reply"]
Edit = Literal["edit"]
Direct = Literal["direct"]
REPLY: Reply = "reply"
EDIT: Edit = "edit"
DIRECT: Direct = "direct"
Target = Reply | Edit | Direct | Person | Group | Copies


@dataclass(frozen=True)
class Out:
    """A message and where it goes; ``card`` asks for the delivered copy to be remembered."""

    say: Say
    to: Target = REPLY
    card: int | None = None


@dataclass
class Result:
    """What a verb did, for the adapter to tell people.

    ``alert`` answers a pressed button briefly; ``refusal`` is why nothing was done (on a
    button, its alert; else a message); ``state`` is a conversation's next step;
    ``duplicate`` means the event was processed before and nothing is to be done.
    """

    out: list[Out] = field(default_factory=list)
    alert: Say | None = None
    refusal: Say | None = None
    state: str | None = None
    duplicate: bool = False
    value: Any = None
    # database work once every message was delivered (``delivered(session)``), e.g. noting
    # that the people charged were told; ``undelivered`` is said in the chat instead when a
    # person could not be reached for now
    delivered: Callable[[Session], None] | None = None
    undelivered: Say | None = None

    def reply(self, message: Say) -> Result:
        """Add a message to the chat the event came from."""
        self.out.append(Out(message))
        return self
