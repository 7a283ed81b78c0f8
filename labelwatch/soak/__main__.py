"""``make soak`` / ``python -m labelwatch.soak``: run the soak, print its report; exit 1 on a violation."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from labelwatch.soak.run import SoakReport, SoakSettings, run_soak

console = Console()


def print_report(report: SoakReport) -> None:
    s = report.settings
    console.print(
        f"[bold]labelwatch soak[/] — {report.uploads} uploads of {s.size} px; faults (by event count): "
        f"model calls {s.throttle_every}, {2 * s.throttle_every}, … throttled, "
        f"every event delivered {s.deliveries}×, model "
        f"stopped until it refused {s.model_stop_refusals} calls, SNS failing for "
        f"{report.sns_outage_publishes} publishes after the first {s.sns_outage_after_publishes}",
        highlight=False,
    )
    console.print(
        f"time compressed: a record left for a retry is redelivered after {s.retry_visibility_seconds} s "
        f"(the queue's visibility timeout on AWS), the workflow's Retry waits last "
        f"{s.retry_wait_scale:g} × their interval, the model starts in {s.model_start_seconds:g} s",
        highlight=False,
    )
    table = Table(title="outcomes by input kind", title_justify="left")
    table.add_column("kind")
    table.add_column("uploads", justify="right")
    table.add_column("outcomes")
    for kind, counts in sorted(report.by_kind.items()):
        table.add_row(kind, str(sum(counts.values())), ", ".join(f"{n} {o}" for o, n in counts.most_common()))
    console.print(table)
    console.print(
        "outcomes: " + ", ".join(f"{n} {o}" for o, n in report.outcomes.most_common()), highlight=False
    )
    console.print(
        f"alert e-mails: {report.alerts}; held back by flood control: {report.suppressed} records, "
        f"counted by {report.digests} digest e-mails ({report.digests_counted}); "
        f"records the Pipe delivered: {report.deliveries_received}; "
        f"executions: {report.executions}, {report.batches_with_retries} "
        f"with records left for a retry ({report.records_left_for_retry} records); calls the stopped model "
        f"refused: {report.model_refusals}; throttled calls absorbed: {report.throttled_calls}; "
        f"SNS publish failures absorbed: {report.sns_failures}; "
        f"redriven from the DLQs: {report.redriven}",
        highlight=False,
    )
    console.print(
        f"throughput: {report.uploads / report.seconds_total:.1f} uploads/s over "
        f"{report.seconds_total:.0f} s in all (training included), "
        f"{report.seconds_to_settle:.0f} s to settle after the last upload; "
        f"peak memory {report.peak_rss_mb:.0f} MB",
        highlight=False,
    )
    if report.passed:
        console.print(
            "[bold green]invariants hold[/]: one outcome per upload, the expected one for its kind, "
            "no duplicate alert or result, every alert matches a rule and every match was alerted or "
            "held back (one alert per label, folder and window; one digest per window that held any)"
        )
    else:
        console.print(f"[bold red]{len(report.violations)} invariant violation(s)[/]:")
        for violation in report.violations[:50]:
            console.print(f"  - {violation}", highlight=False, markup=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make soak", description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--throttle-every", type=int, default=10, help="throttle every Nth model call")
    parser.add_argument("--deliveries", type=int, default=2)
    args = parser.parse_args(argv)
    settings = SoakSettings(
        images=args.images, seed=args.seed, throttle_every=args.throttle_every, deliveries=args.deliveries
    )
    with console.status("soaking…") as status:
        report = run_soak(
            settings, progress=lambda stage, done, total: status.update(f"{stage}: {done}/{total}")
        )
    print_report(report)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
