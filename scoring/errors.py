"""Domain errors: each carries the message the user should read (zh-CN)."""

from __future__ import annotations

from dataclasses import dataclass


class KaoheError(Exception):
    """Base of every error a user can cause; str() is the message to show them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RulesError(KaoheError):
    """The rules file has problems; every one is listed with its place."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"规则文件 {source} 有 {len(problems)} 处问题:\n{lines}")


class ParseError(KaoheError):
    """A finding could not be read; nothing is stored.

    ``wrong`` is what was typed, ``suggestions`` what it may have meant, ``about`` says
    whether it names a person or an item (so a picked suggestion can replace it).
    """

    about = ""

    def __init__(
        self, message: str, *, wrong: str = "", suggestions: list[Suggestion] | None = None
    ) -> None:
        super().__init__(message)
        self.wrong = wrong
        self.suggestions: list[Suggestion] = suggestions or []


@dataclass(frozen=True)
class Suggestion:
    """A candidate the user may have meant: the text to use and how it reads."""

    text: str
    label: str


class UnknownPerson(ParseError):
    """No one on the roster has this name."""

    about = "person"

    def __init__(self, name: str, suggestions: list[Suggestion]) -> None:
        hint = "、".join(s.label for s in suggestions)
        msg = f"花名册中没有“{name}”。"
        msg += f"您是不是要找:{hint}?" if hint else "请核对姓名或科室名称。"
        super().__init__(msg, wrong=name, suggestions=suggestions)
        self.name = name


class AmbiguousPerson(ParseError):
    """Several people share this name: the department must be written with it."""

    about = "person"

    def __init__(self, name: str, suggestions: list[Suggestion]) -> None:
        options = "、".join(s.text for s in suggestions)
        msg = f"有 {len(suggestions)} 位“{name}”,请写明科室:{options}"
        super().__init__(msg, wrong=name, suggestions=suggestions)
        self.name = name


class UnknownItem(ParseError):
    """No deduction item answers to this word."""

    about = "item"

    def __init__(self, word: str, suggestions: list[Suggestion]) -> None:
        hint = "、".join(s.text for s in suggestions)
        msg = f"没有“{word}”这一扣分项。"
        msg += f"相近的有:{hint}。" if hint else "发送 /help 查看扣分项目。"
        super().__init__(msg, wrong=word, suggestions=suggestions)
        self.word = word


class InputError(KaoheError):
    """Bad input outside the finding parser (files, flags, ids)."""


class NotFound(KaoheError):
    """The thing asked for does not exist."""


class Conflict(KaoheError):
    """The action collides with what is recorded (already revoked, year locked, …)."""


class PermissionDenied(KaoheError):
    """The person may not do this."""
