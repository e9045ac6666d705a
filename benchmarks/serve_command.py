"""``visionrt bench-serve``'s arguments and handler; the load generator (tritonclient's asyncio clients) is
imported only when the command runs."""

import argparse
import sys
from pathlib import Path

from visionrt.benchmarks.serve_config import LoadConfig

DEFAULTS = LoadConfig(model="")


def add_bench_serve(sub) -> None:
    parser = sub.add_parser("bench-serve", help="load-test `visionrt serve` (closed loop, with and without dynamic "
                                                "batching, HTTP and gRPC) against the runtime in-process",
                            description="A closed-loop load generator over a concurrency sweep: c clients each send "
                                        "their next batch-1 request as soon as the previous answer arrives. Without "
                                        "--url it starts two `visionrt serve` processes (with and without dynamic "
                                        "batching) and measures, at each level in turn, the runtime in-process, HTTP "
                                        "and gRPC with and without batching; every answer is checked against the "
                                        "in-process output. Writes JSON, Markdown and a PNG plot into --out and "
                                        "prints the table.")
    parser.add_argument("model", help="zoo model name (the server is started with --model MODEL)")
    parser.add_argument("--url", help="HTTP host:port of a server already running: measure it as configured and "
                                      "start none (default: start two)")
    parser.add_argument("--grpc-url", help="with --url: that server's gRPC host:port (without it, HTTP only)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(DEFAULTS.concurrency),
                        help=f"concurrent clients per level (default {' '.join(map(str, DEFAULTS.concurrency))})")
    parser.add_argument("--seconds", type=float, default=DEFAULTS.seconds,
                        help=f"timed seconds per level and condition (default {DEFAULTS.seconds:g})")
    parser.add_argument("--warmup", type=float, default=DEFAULTS.warmup_s,
                        help=f"untimed seconds before each window (default {DEFAULTS.warmup_s:g})")
    parser.add_argument("--repeats", type=int, default=DEFAULTS.repeats,
                        help=f"whole sweeps; the report gives the median (default {DEFAULTS.repeats})")
    parser.add_argument("--protocols", nargs="+", choices=("http", "grpc"), default=list(DEFAULTS.protocols),
                        help=f"default: {' '.join(DEFAULTS.protocols)}")
    parser.add_argument("--one-server-at-a-time", action="store_true",
                        help="never hold both servers at once: each repeat measures one server over every level, "
                             "then the other (less interleaved than the default)")
    parser.add_argument("--out", type=Path, help="output folder (default bench-out/serve-MODEL)")
    parser.set_defaults(handler=cmd_bench_serve)


def config_from(args: argparse.Namespace) -> LoadConfig:
    from visionrt.errors import UserInputError

    if any(c < 1 for c in args.concurrency):
        raise UserInputError(f"--concurrency takes counts of at least 1, got {args.concurrency}")
    if args.seconds <= 0 or args.warmup < 0 or args.repeats < 1:
        raise UserInputError(f"--seconds must be positive, --warmup not negative and --repeats at least 1; got "
                             f"{args.seconds}, {args.warmup} and {args.repeats}")
    if args.grpc_url and not args.url:
        raise UserInputError("--grpc-url needs --url (the HTTP address, which the statistics are read from)")
    return LoadConfig(model=args.model, concurrency=tuple(dict.fromkeys(args.concurrency)), seconds=args.seconds,
                      warmup_s=args.warmup, repeats=args.repeats, protocols=tuple(dict.fromkeys(args.protocols)),
                      url=args.url, grpc_url=args.grpc_url, one_server_at_a_time=args.one_server_at_a_time,
                      out=args.out or Path("bench-out") / f"serve-{args.model}")


def cmd_bench_serve(args) -> int:
    """Run the sweep, write the report, print the table; exit 1 if any request failed or answered wrongly or
    a server did not exit cleanly, so a script cannot take a broken run for a result."""
    from visionrt.benchmarks import serve_report, serve_sweep

    config = config_from(args)
    result = serve_sweep.run(config, progress=lambda line: print(line, file=sys.stderr, flush=True))
    paths = serve_report.write_all(result, config.out)
    print(serve_report.markdown(result))
    for kind, path in paths.items():
        print(f"wrote {path} ({kind})")
    unclean = [s for s in result["servers"] if s["exit_code"] != 0 or s["killed_after_sigterm"]]
    return 1 if result["errors"] or unclean else 0
