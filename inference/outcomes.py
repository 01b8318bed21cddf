"""Words the worker writes into a job's error that the bot acts on (kept free of heavy imports)."""

OUTPUT_FILTERED = "Cancelled by output filters"
