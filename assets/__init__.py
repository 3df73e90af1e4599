import warnings

import dagster as dg

# backfill_policy is marked beta in Dagster 1.13; single-run backfills are what we rely on.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
