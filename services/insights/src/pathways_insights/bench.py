"""Simulation speed: a year of a large registry replayed through the current and a proposed rule set.

The history is synthetic and generated in memory (seeded): every establishment is inspected about
three times a year by one of the programs, and most inspections see nothing, some see one or two
indicators of the program. The replay is the service's own ``simulate``: the inspection service's
``screen``/``decide`` and the referral service's ``route``, side by side.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from pathways_contracts.catalog import load_catalog
from pathways_contracts.vocab import InspectionReason, Program
from pathways_inspection.domain.screening import MINOR_CODE, load_rules
from pathways_insights.domain.simulation import RecordedInspection, Side, simulate
from pathways_referral.domain.policy import load_policy

DEPARTMENTS = {Program.MASSAGE: "health", Program.FOOD: "health", Program.LODGING: "health",
               Program.LABOR: "labor-standards", Program.RENTAL_HOUSING: "housing"}
YEAR = (date(2026, 1, 1), date(2026, 12, 31))


def history(establishments: int, per_year: float = 3.0, seed: int = 13) -> list[RecordedInspection]:
    """A year of inspections of ``establishments`` businesses, in the order they happened."""
    rng = random.Random(seed)
    programs = list(Program)
    codes = {p: [i.code for i in load_catalog().for_program(p) if i.code != MINOR_CODE] for p in programs}
    reasons = [InspectionReason.ROUTINE] * 8 + [InspectionReason.COMPLAINT] * 2
    inspections = []
    n = 0
    for e in range(establishments):
        program = rng.choice(programs)
        area = f"Ward {e % 12}"
        for _ in range(int(per_year) + (rng.random() < per_year % 1)):
            seen = rng.choices([0, 1, 2], weights=[85, 12, 3])[0]
            day = YEAR[0] + timedelta(days=rng.randrange(365))
            n += 1
            inspections.append(RecordedInspection(
                f"00000000-0000-0000-0000-{n:012d}", f"B-{e:06d}", "bench", area, DEPARTMENTS[program], program,
                rng.choice(reasons), day, tuple(sorted(rng.sample(codes[program], seen)))))
    inspections.sort(key=lambda i: i.inspected_on)
    return inspections


def run(establishments: int = 100_000, per_year: float = 3.0, red_flag_threshold: float = 5.0) -> dict:
    generated = time.perf_counter()
    inspections = history(establishments, per_year)
    generated = time.perf_counter() - generated
    current_rules = load_rules()
    proposed_rules = current_rules.model_copy(update={
        "version": "bench.proposed",
        "thresholds": current_rules.thresholds.model_copy(update={"red_flag": red_flag_threshold})})
    current = Side("current", lambda _: current_rules, load_policy)
    proposed = Side("proposed", lambda _: proposed_rules, load_policy)
    started, cpu = time.perf_counter(), time.process_time()
    report = simulate(inspections, current, proposed, load_catalog, *YEAR)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "establishments": establishments,
        "inspections": len(inspections),
        "inspections_with_indicators": sum(1 for i in inspections if i.indicator_codes),
        "proposed_change": f"red-flag threshold {current_rules.thresholds.red_flag:g} -> {red_flag_threshold:g}",
        "red_flags_current": report.current.red_flags,
        "red_flags_proposed": report.proposed.red_flags,
        "added": report.changes.added,
        "removed": report.changes.removed,
        "level_changed": report.changes.level_changed,
        "history_generated_seconds": round(generated, 2),
        "simulation_seconds": round(took, 2),
        # CPU time: what the replay costs on its own, whatever else shares the machine (it is single-threaded).
        "simulation_cpu_seconds": round(cpu, 2),
        "inspections_replayed_per_cpu_second": round(2 * len(inspections) / cpu),
    }
