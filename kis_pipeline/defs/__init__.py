"""Dagster definitions, one package per domain. Only this package imports dagster."""
