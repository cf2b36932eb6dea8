"""Runtimes: the local runner with its CLI, and the helpers the Lambda handlers use. They
read configuration, build adapters and call stages; nothing else.

May import: every band. Nothing imports it.
"""
