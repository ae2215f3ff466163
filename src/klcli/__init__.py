"""klcli: KL and Jensen-Shannon divergences between histograms, distributions and data."""

__version__ = "0.1.0"
