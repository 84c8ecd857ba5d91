"""Declarative state machines: an Enum of states plus one transition table, checked when the module loads.

`Machine.next_state(state, trigger)` is the only place that decides whether a step is legal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Generic, TypeVar

from backend.errors import Conflict

S = TypeVar("S", bound=Enum)


class MachineDefinitionError(RuntimeError):
    """A machine's table is inconsistent (raised at import, so a broken machine never ships)."""


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, machine: str, state: str, trigger: str) -> None:
        super().__init__(f"{machine}: trigger {trigger!r} is not allowed in state {state!r}")
        self.machine, self.state, self.trigger = machine, state, trigger


class Machine(Generic[S]):
    """One lifecycle. `transitions` maps (from state, trigger) -> to state."""

    def __init__(
        self,
        name: str,
        states: type[S],
        initial: S,
        transitions: Mapping[tuple[S, str], S],
        final: Iterable[S] = (),
    ) -> None:
        self.name = name
        self.states = states
        self.initial = initial
        self.final = frozenset(final)
        self.transitions: dict[tuple[S, str], S] = dict(transitions)
        self._validate()

    # -- queries -----------------------------------------------------------------------------------------------
    @property
    def triggers(self) -> list[str]:
        return sorted({trigger for _, trigger in self.transitions})

    def coerce(self, state: S | str) -> S:
        return state if isinstance(state, self.states) else self.states(state)

    def next_state(self, state: S | str, trigger: str) -> S:
        current = self.coerce(state)
        try:
            return self.transitions[(current, trigger)]
        except KeyError:
            raise IllegalTransition(self.name, current.value, trigger) from None

    def allowed(self, state: S | str, trigger: str) -> bool:
        return (self.coerce(state), trigger) in self.transitions

    def triggers_from(self, state: S | str) -> list[str]:
        current = self.coerce(state)
        return sorted(t for (s, t) in self.transitions if s is current)

    def table(self) -> list[tuple[str, str, str]]:
        """(from, trigger, to) rows in declaration order: the docs' table is generated from this."""
        return [(s.value, t, to.value) for (s, t), to in self.transitions.items()]

    def as_markdown(self) -> str:
        rows = ["| from | trigger | to |", "|---|---|---|"]
        rows += [f"| {s} | {t} | {to} |" for s, t, to in self.table()]
        return "\n".join(rows)

    # -- validation --------------------------------------------------------------------------------------------
    def _validate(self) -> None:
        problems: list[str] = []
        members = set(self.states)
        if self.initial not in members:
            problems.append(f"initial state {self.initial!r} is not a {self.states.__name__}")
        if self.initial in self.final:
            problems.append("the initial state cannot be final")
        for (source, trigger), target in self.transitions.items():
            if source not in members or target not in members:
                problems.append(f"({source!r}, {trigger!r}) -> {target!r} uses a state outside {self.states.__name__}")
            if source in self.final:
                problems.append(f"final state {source.value!r} has an exit ({trigger!r})")
            if not trigger or trigger != trigger.strip():
                problems.append(f"empty or padded trigger from {source.value!r}")
        reachable = {self.initial}
        queue = deque([self.initial])
        while queue:
            state = queue.popleft()
            for (source, _), target in self.transitions.items():
                if source is state and target not in reachable:
                    reachable.add(target)
                    queue.append(target)
        unreachable = sorted(s.value for s in members - reachable)
        if unreachable:
            problems.append(f"unreachable state(s): {', '.join(unreachable)}")
        dead_ends = sorted(
            s.value for s in members - self.final if not any(src is s for (src, _) in self.transitions)
        )
        if dead_ends:
            problems.append(f"non-final state(s) without exits: {', '.join(dead_ends)}")
        if problems:
            raise MachineDefinitionError(f"machine {self.name!r}: " + "; ".join(problems))
