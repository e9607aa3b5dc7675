"""SafeGround: information management and decision support for humanitarian mine action."""

__version__ = "0.1.0"
