"""Writing the ledger out: :mod:`.ledger_xlsx` (the .xlsx in the layout the importer reads)."""
