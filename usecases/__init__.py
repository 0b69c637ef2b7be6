"""The use cases: one verb per thing a person does, for every messenger alike.

A verb takes plain inputs (the incoming ``Event``: who, in which messenger, its idempotency
key and ``now``; then what the person gave), opens the one transaction it needs (admitting
the event and recording in it), applies every rule of the plan, and returns a ``Result``:
what to tell whom (a template name and its values) and which actions go with it.

Imports point inward: ``scoring`` ← ``usecases`` ← messenger adapters ← ``bot``. Nothing here
imports ``telegram``, ``dingtalk_stream``, ``jinja2``, ``handlers`` or ``bot``.
"""
