"""The weekly digest for partner organisations: gathered, rendered, mailed and scheduled."""
