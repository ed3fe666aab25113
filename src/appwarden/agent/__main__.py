"""``python -m appwarden.agent build|hooks|record``: build the Frida bundle, list its hooks, or record a trace."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from appwarden.agent import AgentSettings, build_agent, hook_list, unhookable
from appwarden.errors import AppwardenError


def _settings(args: argparse.Namespace) -> AgentSettings:
    return AgentSettings(
        package=args.package,
        output_path=args.device_output,
        agree_ids=tuple(args.agree_id),
        disagree_ids=tuple(args.disagree_id),
        withdraw_ids=tuple(args.withdraw_id),
        dialog_ids=tuple(args.dialog_id),
        device=args.device_name,
        splash_activities=tuple(args.splash_activity),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m appwarden.agent", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("build", "record"):
        sub = commands.add_parser(name)
        sub.add_argument("--package", required=name == "record", help="package of the app under test")
        sub.add_argument("--device-output", help="trace path on the device (default: the app's files folder)")
        sub.add_argument("--agree-id", action="append", default=[], help="resource-id entry name meaning 'agree'")
        sub.add_argument("--disagree-id", action="append", default=[])
        sub.add_argument("--withdraw-id", action="append", default=[])
        sub.add_argument("--dialog-id", action="append", default=[], help="resource id shown with the consent dialog")
        sub.add_argument("--splash-activity", action="append", default=[])
        sub.add_argument("--device-name", default="unknown", help="written into the trace header")
        sub.add_argument("-o", "--output", type=Path, required=True, help="bundle (build) or trace (record) path")
    record_parser = commands.choices["record"]
    record_parser.add_argument("--device-id", help="Frida device id (default: the USB device)")
    commands.add_parser("hooks", help="print the YAML-derived hook list as JSON")
    args = parser.parse_args(argv)
    try:
        if args.command == "hooks":
            listing = {
                "hooks": [h.as_json() for h in hook_list()],
                "not_hookable": [{"api": a, "reason": r} for a, r in unhookable()],
            }
            print(json.dumps(listing, ensure_ascii=False, indent=1))
        elif args.command == "build":
            args.output.write_text(build_agent(_settings(args)), encoding="utf-8")
        else:
            from appwarden.agent.record import record

            lines = record(args.package, args.output, _settings(args), device_id=args.device_id)
            print(f"{lines} trace lines written to {args.output}", file=sys.stderr)
    except AppwardenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
