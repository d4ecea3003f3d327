"""``pilotline collect`` and ``pilotline connect …``: live data from brokers, OPC UA servers, PLCs."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from pilotline import clock
from pilotline.connect import (
    ROLES,
    Buffer,
    Collector,
    load_collect_config,
    probe,
)
from pilotline.connect.base import SourceStatus
from pilotline.connect.mqtt.config import MqttSource
from pilotline.connect.samples import now_us

connect_app = typer.Typer(
    help="Live data sources: test a configuration, list the tag roles.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
out = Console(soft_wrap=True)  # notes whole; tables still fit the terminal
err = Console(stderr=True, soft_wrap=True)  # messages whole, never wrapped or cut

ConfigArg = Annotated[Path, typer.Argument(help="The collector configuration (TOML).")]


def _age(since_us: int) -> str:
    s = max(0, (now_us() - since_us) // 1_000_000)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def _status_table(collector: Collector) -> Table:
    table = Table(title=f"Collecting — store: {collector.store_status.state}", title_justify="left")
    for col in (
        "source",
        "endpoint",
        "state",
        "for",
        "received",
        "stored",
        "duplicates",
        "problems",
    ):
        table.add_column(
            col,
            justify="right" if col in ("received", "stored", "duplicates", "problems") else "left",
        )
    for s in collector.statuses:
        table.add_row(
            s.name,
            s.endpoint,
            s.state
            + (
                f" ({s.detail})"
                if s.detail and s.state in ("offline", "buffer full", "failed")
                else ""
            ),
            _age(s.since_us),
            f"{s.received:,}",
            f"{s.stored:,}",
            f"{s.duplicates:,}",
            f"{s.problem_total():,}",
        )
    return table


def _problems(statuses: list[SourceStatus]) -> None:
    rows = [
        (s.name, tag, kind, n) for s in statuses for (tag, kind), n in sorted(s.problems.items())
    ]
    if not rows:
        return
    table = Table(title="Readings not stored, by tag and kind", title_justify="left")
    for col in ("source", "tag or topic", "kind", "count"):
        table.add_column(col, justify="right" if col == "count" else "left")
    for name, tag, kind, n in rows:
        table.add_row(name, tag, kind, f"{n:,}")
    out.print(table)


def collect(
    config: ConfigArg,
    seconds: Annotated[
        float | None,
        typer.Option(
            "--for", help="Stop after this many seconds (default: until Ctrl-C or SIGTERM)."
        ),
    ] = None,
    buffer: Annotated[
        Path | None,
        typer.Option(
            help="The local buffer file (default: from the configuration, else <home>/buffer.sqlite)."
        ),
    ] = None,
) -> None:
    """Collect live readings into the store until stopped; a status line shows each source."""
    from pilotline.cli.app import home

    h = home()
    cfg = load_collect_config(config)
    cfg.check_plant(h.plant(), source=str(config))
    path = buffer or Path(cfg.buffer.path or h.path / "buffer.sqlite")
    collector = Collector(
        cfg,
        h.store,
        path,
        status_path=h.path / "status" / f"collector-{config.stem}.json",
        retention=h.settings.retention(),
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if seconds is not None:
            loop.call_later(seconds, stop.set)
        if sys.stdout.isatty():
            with Live(_status_table(collector), console=out, refresh_per_second=2) as live:
                await collector.run(
                    stop=stop, on_tick=lambda: live.update(_status_table(collector))
                )
        else:
            await collector.run(stop=stop)

    asyncio.run(main())
    out.print(_status_table(collector))
    _problems(collector.statuses)


@connect_app.command("test")
def test(
    config: ConfigArg,
    seconds: Annotated[float, typer.Option("--seconds", help="How long to listen (MQTT).")] = 3.0,
) -> None:
    """Connect to every source in CONFIG and say what is there, or exactly why it failed."""
    from pilotline.cli.app import home

    cfg = load_collect_config(config)
    h = home()
    if h.plant_file.exists():
        cfg.check_plant(h.plant(), source=str(config))
    for source in cfg.sources:
        for caution in source.cautions() if isinstance(source, MqttSource) else []:
            err.print(f"[bold yellow]! {source.name}[/]: {caution}", highlight=False)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Buffer(Path(tmp) / "probe.sqlite", max_bytes=10**8)
        results = asyncio.run(probe(cfg, scratch, seconds=seconds))
        scratch.close()
    failed = 0
    for status, found in results:
        if isinstance(found, str):
            failed += 1
            err.print(f"[bold red]✗ {status.name}[/] ({status.endpoint}): {found}", highlight=False)
            continue
        out.print(
            f"[bold green]✓ {status.name}[/] ({status.endpoint}): {len(found)} found",
            highlight=False,
        )
        table = Table(show_edge=False)
        for col in ("address", "tag", "value"):
            table.add_column(col)
        for f in found:
            table.add_row(f.address, f.tag or "—", f.value)
        if found:
            out.print(table)
    if failed:
        raise typer.Exit(1)


@connect_app.command("roles")
def roles() -> None:
    """List what a tag can mean (its role) and how it is used."""
    table = Table(show_edge=False)
    table.add_column("role")
    table.add_column("meaning")
    for r in ROLES:
        table.add_row(r.key, r.help)
    out.print(table)


sim_app = typer.Typer(
    help="The plant simulator as live machines, for trying connectors without a plant.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@sim_app.command("live")
def sim_live(
    config: Annotated[
        Path, typer.Option("--config", help="Write the collector configuration that reads it here.")
    ] = Path("collect.toml"),
    opcua: Annotated[
        int | None, typer.Option(help="Serve OPC UA on this port (e.g. 4840).")
    ] = None,
    modbus: Annotated[
        int | None, typer.Option(help="Serve Modbus TCP on this port (e.g. 5020).")
    ] = None,
    mqtt: Annotated[
        str | None,
        typer.Option(help="Publish to the MQTT broker at HOST:PORT (e.g. 127.0.0.1:1883)."),
    ] = None,
    seconds: Annotated[
        float | None, typer.Option("--for", help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 1,
) -> None:
    """Run the plant model's machines live over OPC UA, Modbus and/or MQTT, in real time."""

    from pilotline.cli.app import home
    from pilotline.errors import InputError
    from pilotline.sim.live import LiveEndpoints, LivePlant, collect_config, run_live

    plant = home().plant()
    broker = None
    if mqtt:
        host, _, port = mqtt.rpartition(":")
        if not host or not port.isdigit():
            raise InputError(f"--mqtt {mqtt!r}: expected HOST:PORT, e.g. 127.0.0.1:1883")
        broker = (host, int(port))
    if opcua is None and modbus is None and broker is None:
        raise InputError(
            "switch on at least one endpoint: --opcua PORT, --modbus PORT or --mqtt HOST:PORT"
        )
    endpoints = LiveEndpoints(plant, opcua_port=opcua, modbus_port=modbus, mqtt=broker)
    try:
        live = LivePlant(plant, start=clock.now(), seed=seed)
        config.write_text(collect_config(plant, endpoints), encoding="utf-8")
        for machine, protocol in endpoints.speaks.items():
            out.print(f"  {machine:<12} {protocol}")
        if endpoints.opcua:
            out.print(f"OPC UA: {endpoints.opcua.url}")
        if endpoints.modbus:
            out.print(f"Modbus TCP: 127.0.0.1:{endpoints.modbus.port}")
        out.print(f"Collector configuration: {config}")
        out.print(f"Next, in another terminal: pilotline collect {config}")
        with contextlib.suppress(KeyboardInterrupt):
            run_live(endpoints, live, seconds=seconds)
    finally:
        endpoints.close()
