"""Exception types the engine raises; each message names the problem and the fix."""


class PerformanceRnnError(Exception):
    """Base class: a problem with user input that deserves a one-line message, not a traceback."""


class ConfigError(PerformanceRnnError, ValueError):
    """Unknown config name, bad hparams string or bad control value."""


class MidiReadError(PerformanceRnnError):
    """A MIDI file that cannot be read or holds nothing usable."""


class BundleError(PerformanceRnnError):
    """A model bundle that is missing, truncated, tampered with or for another config."""
