"""Mega: the control plane of a MySQL/MariaDB fleet."""

__version__ = "0.1.0"
