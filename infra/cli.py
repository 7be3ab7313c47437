"""The `listening-center` command: a thin dispatcher to subcommands that live beside the code they drive.

Each subcommand is a `main(argv: list[str]) -> int` function, imported only when it is used so that
`listening-center score` does not pay for Flask or Kafka imports.
"""

from __future__ import annotations

import importlib
import sys

# name -> (module:function, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("infra.stack:up_main", "provision and start engines and every component in the background"),
    "run": ("infra.stack:run_main", "`up`, then wait; Ctrl-C stops everything that was started"),
    "down": ("infra.stack:down_main", "stop every process `up` or `run` started"),
    "status": ("infra.status:main", "health of every component and consumer lag; non-zero exit when unhealthy"),
    "engines": ("infra.engines:main", "provision/start/stop only the local Kafka and Elasticsearch"),
    "topics": ("infra.topics:main", "create the topics from infra/topics.yaml (idempotent)"),
    "worker": ("stream.worker:main", "run the faust stream worker (validate, score, enrich, spikes)"),
    "indexer": ("stream.indexer:main", "run the Elasticsearch indexer (mentions.scored -> ES)"),
    "listen": ("listeners.runner:main", "run a listener source (demo, replay, webhook, rss, mastodon, ...)"),
    "web": ("web.serve:main", "run the Flask console"),
    "alerter": ("alerting.consumer:main", "run the alerts consumer (alerts.spikes -> channels)"),
    "score": ("stream.score_cli:main", "score JSON lines {id,text} from stdin"),
    "backtest": ("stream.backtest_cli:main", "replay history through the spike detector, print alerts"),
    "rules": ("listeners.rules_cli:main", "test or check keyword rules"),
    "bench": ("infra.bench:main", "measure throughput and latency next to a reference"),
    "user": ("web.users_cli:main", "create console accounts"),
    "members": ("web.members_cli:main", "import the loyalty directory from CSV (all rows or none)"),
    "index": ("stream.index_cli:main", "mentions indices: mapping rollout, retention, example documents"),
    "erase": ("infra.privacy:erase_main", "erase one author's mentions, link and personal data (audited)"),
    "retention": ("infra.privacy:retention_main", "drop old mention indices, anonymise old resolved cases"),
}


def _usage() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = ["usage: listening-center COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"listening-center: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    target, _ = COMMANDS[name]
    module_name, func_name = target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    result: int = func(rest)
    return result


if __name__ == "__main__":
    sys.exit(main())
