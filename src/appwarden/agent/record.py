"""Host side of a recording: spawn the app under Frida, load the agent, save its trace lines, relay key presses.

Needs the ``frida`` Python package (not an appwarden dependency: labs install the
version matching their frida-server). Keys typed while recording, then Enter:
``a`` agree, ``d`` disagree, ``w`` withdraw, ``s`` consent dialog shown, ``q`` stop.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from appwarden.agent import AgentSettings, build_agent
from appwarden.errors import ConfigurationError

#: Keys the tester types to mark the consent moment, and the consent kind each one sends.
CONSENT_KEYS = {"a": "agree", "d": "disagree", "w": "withdraw", "s": "dialog_shown"}


class TraceSink:
    """Appends the agent's trace lines to a local file; other agent messages go to ``log``."""

    def __init__(self, out: IO[str], log: Callable[[str], None]) -> None:
        self.out = out
        self.log = log
        self.lines = 0

    def on_message(self, message: dict[str, Any], _data: Any = None) -> None:
        """Frida's ``script.on('message')`` callback."""
        if message.get("type") == "error":
            self.log(f"agent error: {message.get('description')}")
            return
        payload = message.get("payload")
        if isinstance(payload, dict) and isinstance(payload.get("appwarden_trace_line"), str):
            self.out.write(payload["appwarden_trace_line"] + "\n")
            self.out.flush()
            self.lines += 1
        elif payload is not None:
            self.log(f"agent: {payload}")


def consent_message(key: str) -> dict[str, str] | None:
    """The message posted to the agent for a typed key, or None for other keys."""
    kind = CONSENT_KEYS.get(key.strip().lower())
    return {"type": "consent", "kind": kind} if kind else None


def record(package: str, output: Path, settings: AgentSettings, *, device_id: str | None = None) -> int:
    """Spawn ``package`` on the USB device (or ``device_id``), record until 'q', return the lines written."""
    try:
        import frida
    except ImportError as exc:
        raise ConfigurationError(
            "recording needs the frida Python package", detail="pip install frida matching your frida-server"
        ) from exc
    device = frida.get_device(device_id) if device_id else frida.get_usb_device()
    with output.open("w", encoding="utf-8") as out:
        sink = TraceSink(out, lambda text: print(text, file=sys.stderr))
        pid = device.spawn([package])
        session = device.attach(pid)
        script = session.create_script(build_agent(settings))
        script.on("message", sink.on_message)
        script.load()
        device.resume(pid)
        print("recording: a=agree d=disagree w=withdraw s=dialog shown q=stop (then Enter)", file=sys.stderr)
        for line in sys.stdin:
            if line.strip().lower() == "q":
                break
            message = consent_message(line)
            if message is not None:
                script.post(message)
        session.detach()
    return sink.lines
