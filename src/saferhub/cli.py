"""The `saferhub` command: a thin Typer shell. Each part of the loop registers its own commands
from its `commands.py`; heavy imports happen inside the commands so `--help` stays instant."""

from __future__ import annotations

import sys

import typer

from saferhub import options
from saferhub.errors import SaferhubError, printable

app = typer.Typer(
    name="saferhub",
    help="Find, act, solve together, prove, tell: data-driven preventative neighbourhood policing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Register each area's commands, in the order of the loop (find -> act -> solve together -> ...).
from saferhub.briefing import commands as _briefing_commands  # noqa: E402
from saferhub.data import commands as _data_commands  # noqa: E402
from saferhub.evaluate import commands as _evaluate_commands  # noqa: E402
from saferhub.forecast import commands as _forecast_commands  # noqa: E402
from saferhub.hotspots import commands as _hotspot_commands  # noqa: E402
from saferhub.hub import commands as _hub_commands  # noqa: E402
from saferhub.national import commands as _national_commands  # noqa: E402
from saferhub.patrol import commands as _patrol_commands  # noqa: E402
from saferhub.places import commands as _places_commands  # noqa: E402

for _area in (_data_commands, _hotspot_commands, _forecast_commands, _patrol_commands, _hub_commands,
              _evaluate_commands, _briefing_commands, _places_commands, _national_commands):
    _area.register(app)

from saferhub.community import commands as _community_commands  # noqa: E402  (tell: publish neighbourhoods, survey)

_community_commands.register(app)


def main() -> None:
    """Entry point: user mistakes become one clear line on stderr and exit code 2."""
    try:
        app()
    except SaferhubError as exc:
        from rich.text import Text

        options.console(stderr=True).print(Text.assemble(("error: ", "bold red"), printable(exc)),
                                           highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        options.console(stderr=True).print("interrupted; the store is unchanged by the unfinished step")
        sys.exit(130)
