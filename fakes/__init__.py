"""Test infrastructure: fakes of the messengers the bot talks to, and the clients that drive them.

The tests, ``make demo`` (``demo/``) and ``make bench`` (``bench/``) use these; product code
(``bot/``, ``handlers/``, ``scoring/``) never imports them. Nothing here is installed with the
package: run it from the repository root.
"""
