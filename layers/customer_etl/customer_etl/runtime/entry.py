"""The `customer-etl` executable: parse the command line before loading the commands.

`runtime.cli` imports what every command needs (pandas, SQLAlchemy, the health checks,
Powertools), about 2.5 seconds of imports. `--help`, `--version` and a usage error need
only the parser, so they are answered from here without those imports; every other command
goes on to `cli.main` with the same arguments.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from customer_etl.runtime.cli_parser import parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser().parse_args(arguments)  # exits here for --help, --version and bad usage
    from customer_etl.runtime import cli  # here, not above: the point of this module

    return cli.main(arguments)


if __name__ == "__main__":
    sys.exit(main())
