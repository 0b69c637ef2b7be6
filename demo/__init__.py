"""`make demo` (``python -m demo``): a demo bureau and a scripted day in the chat.

Not part of the product: it runs from the repository root and drives the real bot through
the loopback fake Bot API (``fakes/telegram``).
"""
