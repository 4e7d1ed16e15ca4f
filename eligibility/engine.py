"""The durable-rules adapter: the only module that imports durable-rules.

How it runs durable-rules 2.0.28, and why (the measurements are in the README):

* **No Host.** The engine's Python ``Host`` starts two background threads that dispatch
  actions and timers every 0.2 s; they race the caller for pending actions and walk a stale
  state index. This adapter never creates a Host: it calls the C binding directly, so no
  thread other than the caller ever touches a ruleset.
* **No Python actions.** A rule's action would run inside the engine, which swallows its
  exceptions. Here a rule has no action: the adapter reads the name of each rule that fired
  from the engine's activation messages, and the caller turns names into statuses.
* **Registered once.** Each policy is registered once per process as ``<id>@<version>``; a
  second registration of the same name returns the first handle (and refuses different
  content under the same name, since durable-rules cannot replace a ruleset).
* **One session per ruleset, emptied after every evaluation.** Creating a session allocates
  the ruleset's whole Rete memory (tens of kilobytes per rule), which cost 4-5 times the
  evaluation itself. So each ruleset keeps one session; an evaluation asserts its single
  summary fact under a fresh fact id, fires every activation, and retracts the fact in
  ``finally``. A lock serialises evaluations per ruleset, so only one evaluation's fact is
  ever in the session, there is only ever one live session id (no hash collision between
  sessions, far from the 1,024-session limit). After any fault the session is deleted and
  replaced by a new one, so a failure cannot leak into the next evaluation.
* **Fail closed.** Every engine status other than success raises ``EngineError``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid

import durable_rules_engine as _dre
import orjson

from .errors import EngineError

_MATCHED = 0
_NOT_HANDLED = 1  # no rule matched the fact: the engine did not store it


class Ruleset:
    """One registered ruleset and its reusable session."""

    def __init__(self, name: str, handle: int, definition: str):
        self.name = name
        self._handle = handle
        self._definition = definition
        self._lock = threading.Lock()
        self._sid = uuid.uuid4().hex
        self._seq = 0

    def fire(self, fact: dict) -> list[str]:
        """Assert ``fact``, return the names of the rules it fired (in firing order), retract it.

        ``fact`` must not carry ``sid`` or ``id``: the adapter owns those.
        """
        with self._lock:
            self._seq += 1
            fact_id = f"f{self._seq}"
            asserted = False
            try:
                # orjson is an order of magnitude faster than json here. It would write a NaN as
                # null, but the submission schema lets no non-finite number through.
                payload = orjson.dumps({**fact, "sid": self._sid, "id": fact_id}).decode()
                status, state = _dre.assert_fact(self._handle, payload)
                if status == _NOT_HANDLED:
                    return []
                if status != _MATCHED:
                    raise EngineError(f"{self.name}: the engine refused the fact (status {status})")
                asserted = True
                fired = []
                result = _dre.start_action_for_state(self._handle, state)
                message = result[1] if result else None
                while message:
                    # The message is {"<rule name>": {...matched fact...}}; rule names are checked
                    # at load to hold no quote, so the name ends at the next quote.
                    fired.append(message[2:message.index('"', 2)])
                    message = _dre.complete_and_start_action(self._handle, state)
                return fired
            except Exception as exc:  # the C binding raises its own error type with a bare code
                asserted = False  # the reset below drops the fact with the whole session
                self._reset()
                if isinstance(exc, EngineError):
                    raise
                raise EngineError(f"{self.name}: rules engine failure: {exc}") from exc
            finally:
                if asserted:
                    self._retract(fact_id)

    def _retract(self, fact_id: str) -> None:
        try:  # a fact is found by its id: the rest of its content is not needed to retract it
            _dre.retract_fact(self._handle, f'{{"sid":"{self._sid}","id":"{fact_id}"}}')
        except Exception as exc:
            self._reset()
            raise EngineError(f"{self.name}: could not clear the session: {exc}") from exc

    def _reset(self) -> None:
        """Drop the session (whatever it holds) and start the next evaluation in a new one."""
        with contextlib.suppress(Exception):  # error 309: the session was never created or is already gone
            _dre.delete_state(self._handle, self._sid)
        self._sid = uuid.uuid4().hex

    def facts_in_session(self) -> list:
        """Return the facts the session holds (empty between evaluations); for tests."""
        with self._lock:
            try:
                return json.loads(_dre.get_facts(self._handle, self._sid))
            except Exception:
                return []


_registry: dict[str, Ruleset] = {}
_registry_lock = threading.Lock()


def register(name: str, rules: dict[str, dict]) -> Ruleset:
    """Compile ``rules`` (durable-rules JSON, no actions) as ruleset ``name``, once per process."""
    for rule_name in rules:
        if '"' in rule_name or "\\" in rule_name:
            raise EngineError(f"{name}: rule name {rule_name!r} may not contain quotes or backslashes")
    definition = json.dumps(rules, sort_keys=True, ensure_ascii=False)
    with _registry_lock:
        existing = _registry.get(name)
        if existing is not None:
            if existing._definition != definition:
                raise EngineError(f"ruleset {name} is already registered with different rules; "
                                  "publish a new version instead of editing this one")
            return existing
        try:
            handle = _dre.create_ruleset(name, definition)
        except Exception as exc:
            raise EngineError(f"ruleset {name} was refused by the rules engine: {exc}") from exc
        _registry[name] = ruleset = Ruleset(name, handle, definition)
        return ruleset
