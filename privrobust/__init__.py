"""privrobust: private and robust machine learning from one mathematics (public facade)."""
__version__ = "0.1.0"
