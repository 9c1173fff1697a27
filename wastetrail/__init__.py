"""wastetrail: supervision of construction and demolition waste for a Chinese city."""

__version__ = "0.1.0"
