"""The demo scenario: a reproducible Jiangmen built from a seed (`wastetrail demo`)."""
