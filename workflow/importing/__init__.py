"""Importers: files in, a plan's tree out, written through :class:`workflow.planwriter.PlanWriter`."""
