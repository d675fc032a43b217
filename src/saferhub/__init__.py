"""saferhub: find, act, solve together, prove, tell — preventative neighbourhood policing."""

__version__ = "0.1.0"
