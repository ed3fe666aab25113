"""appwarden: mobile-app personal-information protection testing and governance."""

__version__ = "0.2.0"
# The engine version is recorded in every artefact so that a re-test can be compared
# with the first test; bump it when evidence extraction changes what it reports.
ENGINE_VERSION = __version__
