"""The kernel every band uses: the canonical record (`schema`), the errors, the run manifest,
the ports, the chunk context, the API figures the ports report, the source mapping, the
classification records and the value formats that quality and privacy both read.

May import: nothing of the package outside `core`.
"""
