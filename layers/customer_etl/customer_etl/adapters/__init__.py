"""Adapters: the ports implemented for the local machine, for AWS, and for the warehouse."""
