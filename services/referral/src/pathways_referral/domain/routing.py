"""Victim-centred routing: which agencies hear about a case, decided by the policy file, not by code.

``route`` walks the rules in policy order. Each agency kind is referred at most once,
by the first matching rule that names it (rules are listed from highest precedence),
so every target records exactly one rule. Initial targets come first, in rule order
and then in each rule's priority order; fallback targets follow and are only offered
when a hand-over is needed (see ``lifecycle.next_target``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pathways_referral.domain.policy import CaseFacts, PolicyTarget, Rule, RoutingPolicy
from pathways_referral.domain.vocab import AgencyKind

__all__ = ["CaseFacts", "Target", "route"]


@dataclass(frozen=True)
class Target:
    agency_kind: AgencyKind
    rule_id: str
    priority: int  # 1 is offered first
    mandated: bool
    due_hours: int
    reason: str
    fallback: bool = False


def route(facts: CaseFacts, policy: RoutingPolicy) -> list[Target]:
    chosen: dict[AgencyKind, tuple[Rule, PolicyTarget]] = {}
    for rule in policy.rules:
        if rule.when.matches(facts):
            for target in rule.targets:
                chosen.setdefault(target.agency_kind, (rule, target))
    ordered = sorted(chosen.values(), key=lambda pair: pair[1].fallback)  # stable: keeps rule order
    return [_target(rule, target, rank) for rank, (rule, target) in enumerate(ordered, start=1)]


def _target(rule: Rule, target: PolicyTarget, rank: int) -> Target:
    return Target(agency_kind=target.agency_kind, rule_id=rule.id, priority=rank, mandated=target.mandated,
                  due_hours=target.due_hours, reason=target.reason, fallback=target.fallback)
