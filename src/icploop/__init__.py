"""icploop: build the Ideal Customer Profile from who stays, grows and adopts."""

__version__ = "0.1.0"
